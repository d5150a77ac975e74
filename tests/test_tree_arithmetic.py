"""The vectorised 128-bit arithmetic and encodings agree with Python integers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import protocol
from pipeline.tree import (
    add_sums,
    hash_pairs,
    ints_from_sums,
    leaf_hashes,
    sums_from_ints,
)

U128 = st.one_of(st.integers(0, (1 << 128) - 1), st.sampled_from([0, 1, (1 << 64) - 1, 1 << 64, (1 << 128) - 1]))


@given(st.lists(st.tuples(U128, U128), min_size=1, max_size=20))
def test_add_sums_matches_integers(pairs):
    a = sums_from_ints([[x] for x, _ in pairs], 1)
    b = sums_from_ints([[y] for _, y in pairs], 1)
    out, overflow = add_sums(a, b)
    for i, (x, y) in enumerate(pairs):
        assert bool(overflow[i, 0]) == (x + y >= 1 << 128)
        if x + y < 1 << 128:
            assert ints_from_sums(out[i : i + 1])[0][0] == x + y


@given(st.lists(st.lists(U128, min_size=3, max_size=3), min_size=1, max_size=6))
@settings(deadline=None)  # the first call loads (or, on a cold cache, compiles) the kernels
def test_leaf_and_node_messages_match_the_protocol(rows):
    m = 3
    sums = sums_from_ints(rows, m)
    uks = np.frombuffer(bytes(range(32)) * len(rows), dtype=np.uint8).reshape(len(rows), 32)
    leaves = leaf_hashes(uks, sums)
    for i, row in enumerate(rows):
        assert leaves[i].tobytes() == protocol.leaf_hash(bytes(range(32)), row)
    if len(rows) % 2 == 0:
        safe = [[v >> 2 for v in row] for row in rows]  # no overflow
        s = sums_from_ints(safe, m)
        parents, parent_sums = hash_pairs(leaves, s, 0)
        for i in range(len(rows) // 2):
            left, right = safe[2 * i], safe[2 * i + 1]
            want = protocol.node_hash(leaves[2 * i].tobytes(), left, leaves[2 * i + 1].tobytes(), right)
            assert parents[i].tobytes() == want
            assert ints_from_sums(parent_sums[i : i + 1])[0] == [x + y for x, y in zip(left, right, strict=True)]


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=30), st.integers(0, 24),
       st.integers(0, 40))
def test_vectorised_shape_rules_are_the_protocols(keys, bits, height):
    """``tree.shape`` applies ``protocol.shape``'s rules to arrays: same bucket, same positions."""
    from pipeline.protocol import shape
    from pipeline.tree.shape import positions, top_bits

    uks = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, 32)
    assert top_bits(uks, bits).tolist() == [shape.bucket_of(k, bits) for k in keys]
    bucket = shape.bucket_of(keys[0], min(bits, 64 - height))
    assert positions(bucket, height, len(keys)).tolist() == [shape.position(bucket, height, r) for r in range(len(keys))]


@given(st.lists(st.tuples(st.binary(min_size=32, max_size=32), st.lists(U128, min_size=2, max_size=2)),
                min_size=2, max_size=10).filter(lambda nodes: len(nodes) % 2 == 0))
@settings(deadline=None)  # the first call loads (or compiles) the kernels
def test_compiled_messages_are_the_protocols_bytes(nodes):
    """``tree.messages`` (compiled) builds leaf and node messages byte for byte as ``protocol.v1`` does,
    adds the parent sums exactly, and names the first (pair, asset) whose total reaches 2^128."""
    from pipeline.protocol import v1
    from pipeline.tree.messages import leaf_messages, node_messages

    hashes = np.frombuffer(b"".join(h for h, _ in nodes), np.uint8).reshape(-1, 32)
    rows = [s for _, s in nodes]
    sums = sums_from_ints(rows, 2)
    leaves = leaf_messages(hashes, sums)
    for i, (h, s) in enumerate(nodes):
        assert leaves[i].tobytes() == v1.LEAF_TAG + h + v1.encode_sums(s)
    messages, parent_sums, overflow = node_messages(hashes, sums)
    totals = [[a + b for a, b in zip(rows[2 * i], rows[2 * i + 1], strict=True)] for i in range(len(rows) // 2)]
    first = next((j for row in totals for j, t in enumerate(row) if t >= 1 << 128), -1)
    assert overflow == first
    for i in range(len(rows) // 2):
        (hl, sl), (hr, sr) = nodes[2 * i], nodes[2 * i + 1]
        assert messages[i].tobytes() == v1.NODE_TAG + hl + v1.encode_sums(sl) + hr + v1.encode_sums(sr)
        if all(t < 1 << 128 for t in totals[i]):
            assert ints_from_sums(parent_sums[i : i + 1])[0] == totals[i]
