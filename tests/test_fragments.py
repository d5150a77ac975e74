"""Pure tests, no Dask: por-v3's bulk kernels (pipeline/tree/fragments.py, the tree layer's v3 fold and the
liabilities layer's row kernels) give exactly the bytes of pipeline/protocol/v3.py, on random inputs with
amounts 0, 1 and next to 2^128."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.protocol import v3
from pipeline.protocol.keys import SecretKey
from pipeline.liabilities.rows import SparseAmounts, bucket_rows, partition_rows, sort_rows
from pipeline.tree import blake3_batch, fragments as frag, messages
from pipeline.tree.fold import V3_NODES, NodeRule, build_bucket, build_buckets, hash_pairs
from pipeline.tree.shape import key_words, top_bits
from pipeline.tree.sums import amounts_to_sums, sums_to_amounts

LIMIT = 1 << 128
EDGES = [0, 1, 2, 3, (1 << 64) - 1, 1 << 64, (1 << 64) + 1, LIMIT - 2, LIMIT - 1]
amounts = st.one_of(st.sampled_from(EDGES), st.integers(0, LIMIT - 1), st.integers(0, 1 << 70))
SYMBOLS = ["BTC", "ETH", "USDT", "X" * 32, "a.b-c_9"]


def _u128(raw: np.ndarray) -> int:
    return int.from_bytes(raw.tobytes(), "big")


@settings(max_examples=60, deadline=None)
@given(data=st.data(), fragments=st.integers(v3.MIN_FRAGMENTS, v3.MAX_FRAGMENTS),
       m=st.integers(1, len(SYMBOLS)), users=st.integers(0, 9))
def test_fragment_keys_and_splits_are_v3s(data, fragments, m, users):
    symbols = SYMBOLS[:m]
    uks = np.frombuffer(os.urandom(32 * users), np.uint8).reshape(users, 32)
    held = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=2 * m, max_size=2 * m),
                                       min_size=users, max_size=users)), dtype=bool).reshape(users, 2 * m)
    values = [data.draw(amounts.filter(lambda a: a > 0)) for _ in range(int(held.sum()))]
    flat = np.array([[v >> 64, v & ((1 << 64) - 1)] for v in values], dtype=np.uint64).reshape(-1, 2)
    holdings = frag.holdings_from_lanes(held, flat)
    sparse = SparseAmounts(held, flat).dense()
    out = frag.make_fragments(uks, holdings, symbols, fragments)
    assert len(out) == len(holdings) * fragments
    for h in range(len(holdings)):
        u, j = int(holdings.user[h]), int(holdings.asset[h])
        e = (int(sparse[u, 2 * j, 0]) << 64) | int(sparse[u, 2 * j, 1])
        d = (int(sparse[u, 2 * j + 1, 0]) << 64) | int(sparse[u, 2 * j + 1, 1])
        assert (e, d) != (0, 0)
        uk = uks[u].tobytes()
        e_parts, d_parts = v3.split(e, uk, symbols[j], v3.EQUITY, fragments), v3.split(d, uk, symbols[j], v3.DEBT, fragments)
        for i in range(fragments):
            row = h * fragments + i
            assert out.asset[row] == j
            assert out.keys[row].tobytes() == v3.fragment_key(uk, symbols[j], i)
            assert out.amounts[row].tobytes() == v3.leaf_message(e_parts[i], d_parts[i])
    # every holding of every user, in order, and nothing else
    assert sorted(zip(holdings.user.tolist(), holdings.asset.tolist(), strict=True)) == [
        (u, j) for u in range(users) for j in range(m) if held[u, 2 * j] or held[u, 2 * j + 1]]


@given(a=amounts, randomness=st.binary(min_size=32, max_size=32), fragments=st.integers(2, 8))
@settings(max_examples=200, deadline=None)
def test_the_cut_is_the_exact_multiply_high(a, randomness, fragments):
    """The 128 × 128 → 256-bit product in 32-bit limbs, through the split of one holding (equity a, debt
    a): the parts are v3.split's."""
    uk = randomness
    holdings = frag.Holdings(np.zeros(1, np.int64), np.zeros(1, np.int64),
                             np.array([[[a >> 64, a & ((1 << 64) - 1)]] * 2], dtype=np.uint64))
    if a == 0:
        return  # not a holding
    out = frag.make_fragments(np.frombuffer(uk, np.uint8).reshape(1, 32), holdings, ["BTC"], fragments)
    want = v3.split(a, uk, "BTC", v3.EQUITY, fragments)
    assert [_u128(out.amounts[i, :16]) for i in range(fragments)] == want
    assert [_u128(out.amounts[i, 16:]) for i in range(fragments)] == v3.split(a, uk, "BTC", v3.DEBT, fragments)


def test_leaves_nodes_and_padding_leaves_are_v3s():
    rng = np.random.default_rng(1)
    n = 70  # lanes partly filled
    keys = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    values = [EDGES[i % len(EDGES)] for i in range(2 * n)]
    sums = np.array([[[v >> 64, v & ((1 << 64) - 1)] for v in values[2 * i:2 * i + 2]] for i in range(n)], np.uint64)
    raw = sums_to_amounts(sums)
    assert (amounts_to_sums(raw) == sums).all()
    leaves = frag.leaf_hashes(keys, raw)
    for i in range(n):
        assert leaves[i].tobytes() == v3.leaf_hash(keys[i].tobytes(), values[2 * i], values[2 * i + 1])
    small = sums.copy()
    small[:, :, 0] >>= np.uint64(2)  # no overflow
    parents, parent_sums, overflow = frag.parent_nodes(leaves, small)
    assert overflow == -1
    for i in range(n // 2):
        left = [(int(small[2 * i, t, 0]) << 64) | int(small[2 * i, t, 1]) for t in (0, 1)]
        right = [(int(small[2 * i + 1, t, 0]) << 64) | int(small[2 * i + 1, t, 1]) for t in (0, 1)]
        assert parents[i].tobytes() == v3.node_hash(leaves[2 * i].tobytes(), left, leaves[2 * i + 1].tobytes(), right)
        assert [(int(parent_sums[i, t, 0]) << 64) | int(parent_sums[i, t, 1]) for t in (0, 1)] == list(
            v3.add_pair(left, right))
    # the fused kernel and the assembled messages agree; an overflow names equity (0) or debt (1)
    assembled, _, _ = messages.node_messages(leaves, small, b"")
    assert (blake3_batch.hash_rows(assembled, key=v3.NODE_KEY) == parents).all()
    unfused = NodeRule(b"", v3.NODE_KEY)
    assert (hash_pairs(leaves, small, 0, unfused)[0] == hash_pairs(leaves, small, 0, V3_NODES)[0]).all()
    for kind in (0, 1):
        big = np.zeros((2, 2, 2), np.uint64)
        big[:, kind, 0] = np.uint64(1 << 63)
        assert frag.parent_nodes(leaves[:2], big)[2] == kind
    k_pad = SecretKey(os.urandom(32))
    for symbol in ("BTC", "X" * 32):
        pads = frag.padding_leaf_keys(k_pad, symbol, (1 << 40) - 3, 40)
        assert [p.tobytes() for p in pads] == [v3.padding_leaf_key(k_pad, symbol, (1 << 40) - 3 + d) for d in range(40)]


@pytest.mark.parametrize("height", [0, 1, 3, 6, 9])
def test_many_buckets_fold_as_each_alone(height):
    rng = np.random.default_rng(height)
    counts = rng.integers(1, (1 << height) + 1, size=7)
    n = int(counts.sum())
    nodes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    sums = rng.integers(0, 1 << 60, size=(n, 2, 2), dtype=np.uint64)
    sums[:, :, 0] >>= np.uint64(40)  # the high words stay far from 2^64: no total reaches 2^128
    starts = np.r_[0, np.cumsum(counts)]
    segments = [(5 * i + 2, int(starts[i]), int(starts[i + 1])) for i in range(len(counts))][::-1]

    def padding(level, index):
        return v3.padding_hash(SecretKey(bytes(32)), "BTC", level, index)

    record = min(height, 2)
    for got, (b, lo, hi) in zip(build_buckets(nodes, sums, segments, height, padding, record, V3_NODES), segments,
                                strict=True):
        want = build_bucket(nodes[lo:hi], sums[lo:hi], b, height, padding, record_level=record, rule=V3_NODES)
        assert (got.root_hash, got.padding) == (want.root_hash, want.padding)
        assert (got.root_sums == want.root_sums).all()
        assert all((x == y).all() for x, y in zip(got.recorded, want.recorded, strict=True))


def _lexsorted(keys, amounts):
    kw, aw = key_words(keys), key_words(amounts)
    return np.lexsort((aw[:, 3], aw[:, 2], aw[:, 1], aw[:, 0], kw[:, 3], kw[:, 2], kw[:, 1], kw[:, 0]))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 300, 20000])
def test_leaf_rows_sort_and_bucket_as_numpy_would(n):
    rng = np.random.default_rng(n)
    keys = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    amounts = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    if n > 30:  # equal keys (ordered by amounts), keys sharing 64 bits, extremes
        keys[3], keys[9, :8], keys[20:25, :3], keys[26:29] = keys[7], keys[11, :8], 0, 255
    cut = [0, n // 3, n // 3, n]
    spans = list(zip(cut, cut[1:], strict=False))
    pieces = ([keys[a:b] for a, b in spans], [amounts[a:b] for a, b in spans])
    order = _lexsorted(keys, amounts)
    got_keys, got_amounts = sort_rows(*pieces)
    assert (got_keys == keys[order]).all() and (got_amounts == amounts[order]).all()
    bits, lo, hi = 3, 2, 7
    b_keys, b_amounts, bounds = bucket_rows(*pieces, bits, lo, hi)
    buckets = top_bits(keys, bits)
    for b in range(lo, hi):
        mine = np.flatnonzero(buckets == b)
        assert (b_keys[bounds[b - lo]:bounds[b - lo + 1]] == keys[mine]).all()
        assert (b_amounts[bounds[b - lo]:bounds[b - lo + 1]] == amounts[mine]).all()
    pid = rng.integers(0, 9, size=n)
    p_keys, p_amounts, p_bounds = partition_rows(keys, amounts, pid, 9)
    stable = np.argsort(pid, kind="stable")
    assert (p_keys == keys[stable]).all() and (p_amounts == amounts[stable]).all()
    assert p_bounds.tolist() == [0, *np.cumsum(np.bincount(pid, minlength=9)).tolist()]
