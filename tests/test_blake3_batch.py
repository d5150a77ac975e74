"""The batch hasher against the ``blake3`` package (the official implementation's binding): every
length from 0 to 1 024 bytes in plain, keyed and derive-key modes with random keys, equal-length rows
and ragged messages, one key for all or one key per message; longer messages fall back."""

from __future__ import annotations

import os

import numpy as np
import pytest
from blake3 import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.tree import blake3_batch as bb

CONTEXT = "por test 2026-11-22 batch hasher"


def reference(message: bytes, mode: str, key: bytes) -> bytes:
    if mode == "plain":
        return blake3(message).digest()
    if mode == "keyed":
        return blake3(message, key=key).digest()
    return blake3(message, derive_key_context=CONTEXT).digest()


def options(mode: str, key: bytes) -> dict:
    return {"plain": {}, "keyed": {"key": key}, "derive": {"derive_key_context": CONTEXT}}[mode]


@pytest.mark.parametrize("mode", ["plain", "keyed", "derive"])
def test_every_length_up_to_one_chunk_as_rows_and_as_ragged(mode):
    rng = np.random.default_rng(7)
    for length in range(0, 1025):
        key = os.urandom(32)
        rows = rng.integers(0, 256, size=(3, length), dtype=np.uint8)  # 3 rows: lanes partly filled
        want = [reference(r.tobytes(), mode, key) for r in rows]
        assert [d.tobytes() for d in bb.hash_rows(rows, **options(mode, key))] == want, (mode, length)
        got = bb.hash_ragged(rows.reshape(-1), np.arange(4) * length, **options(mode, key))
        assert [d.tobytes() for d in got] == want, (mode, length, "ragged")


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(0, 1100), min_size=0, max_size=40), seed=st.integers(0, 2**32 - 1),
       per_message_keys=st.booleans())
def test_ragged_messages_with_one_key_each(lengths, seed, per_message_keys):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=sum(lengths), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    keys = rng.integers(0, 256, size=(max(len(lengths), 1) if per_message_keys else 1, 32), dtype=np.uint8)
    got = bb.hash_ragged(data, offsets, key=keys if per_message_keys else keys[0].tobytes())
    for i, n in enumerate(lengths):
        k = keys[i if per_message_keys else 0].tobytes()
        assert got[i].tobytes() == blake3(data[offsets[i]:offsets[i] + n].tobytes(), key=k).digest(), (i, n)
    assert got.shape == (len(lengths), 32)


def test_rows_longer_than_a_chunk_and_bad_keys():
    rows = np.frombuffer(os.urandom(5 * 2000), np.uint8).reshape(5, 2000)
    assert [d.tobytes() for d in bb.hash_rows(rows)] == [blake3(r.tobytes()).digest() for r in rows]
    with pytest.raises(ValueError, match="32 bytes"):
        bb.hash_rows(rows[:, :10], key=b"short")
    with pytest.raises(ValueError, match="2 keys for 5 messages"):
        bb.hash_rows(rows[:, :10], key=np.zeros((2, 32), np.uint8))
    assert bb.hash_rows(np.zeros((0, 10), np.uint8)).shape == (0, 32)


def test_the_tree_and_the_user_keys_use_it_and_agree_with_the_protocol():
    """The fold's hasher and the read stage's user keys are the batch hasher's, and give the
    protocol module's bytes (one ``blake3`` call per message)."""
    import pyarrow as pa

    from pipeline.liabilities.read import user_keys
    from pipeline.protocol import v1
    from pipeline.protocol.keys import SecretKey
    from pipeline.tree import fold

    messages = np.frombuffer(os.urandom(37 * 705), np.uint8).reshape(37, 705)
    assert (fold.hash_rows(messages) == fold.hash_rows_per_call(messages)).all()
    ids = ["U0000000001", "é-user", "x" * 120, "a", "U" + "9" * 40]
    k_nonce = SecretKey(os.urandom(32))
    got = user_keys(pa.array(ids).slice(0), "2026-11", k_nonce)
    want = [v1.user_key(v1.user_nonce(k_nonce, u), "2026-11", u) for u in ids]
    assert [g.tobytes() for g in got] == want
    sliced = user_keys(pa.array(["zz", *ids]).slice(1), "2026-11", k_nonce)
    assert [g.tobytes() for g in sliced] == want
