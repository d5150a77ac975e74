"""Pure tests, no Dask: por-v3's per-call path (pipeline/tree/per_call.py, one blake3 call per leaf or pair,
for `por prove`'s few nodes) gives the compiled kernels' bytes and sums, and names the same overflow."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import SumOverflow
from pipeline.protocol import v3
from pipeline.tree import fragments, per_call
from pipeline.tree.fold import V3_NODES, hash_pairs
from pipeline.tree.sums import amounts_to_sums, sums_to_amounts

LIMIT = 1 << 128
EDGES = [0, 1, (1 << 64) - 1, 1 << 64, LIMIT - 2, LIMIT - 1]
amount = st.one_of(st.sampled_from(EDGES), st.integers(0, LIMIT - 1), st.integers(0, 1 << 70))


def _sums(values: list[int]) -> np.ndarray:
    return np.array([[v >> 64, v & ((1 << 64) - 1)] for v in values], np.uint64).reshape(-1, 2, 2)


@settings(max_examples=80, deadline=None)
@given(pairs=st.integers(1, 40), data=st.data())
def test_per_call_leaves_and_parents_are_the_kernels(pairs, data):
    n = 2 * pairs
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    keys = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    sums = _sums(data.draw(st.lists(amount, min_size=2 * n, max_size=2 * n)))
    raw = sums_to_amounts(sums)
    leaves = per_call.leaf_hashes(keys, raw)
    assert (leaves == fragments.leaf_hashes(keys, raw)).all()
    assert leaves[0].tobytes() == v3.leaf_hash(keys[0].tobytes(), *[(int(w[0]) << 64) | int(w[1]) for w in sums[0]])
    got = per_call.parent_nodes(leaves, sums)
    want = fragments.parent_nodes(leaves, sums)
    assert (got[0] == want[0]).all()
    assert got[2] == want[2]  # the first kind that overflows (equity 0, debt 1), or -1
    if want[2] < 0:
        assert (got[1] == want[1]).all()


def test_an_overflow_is_refused_on_the_per_call_path_as_on_the_kernels():
    leaves = np.zeros((2, 32), np.uint8)
    for kind in (0, 1):
        values = [0, 0, 0, 0]
        values[kind] = values[2 + kind] = 1 << 127
        sums = _sums(values)
        assert per_call.parent_nodes(leaves, sums)[2] == kind == fragments.parent_nodes(leaves, sums)[2]
        try:
            hash_pairs(leaves, sums, 5, V3_NODES)
        except SumOverflow as exc:
            assert exc.asset_index == kind and exc.level == 6
        else:
            raise AssertionError("no overflow")


def test_the_fold_takes_the_per_call_path_only_for_few_pairs(monkeypatch):
    """hash_pairs goes through per_call up to PER_CALL_MAX pairs and through the kernels above; both give
    the same level."""
    rng = np.random.default_rng(3)
    n = 2 * (per_call.PER_CALL_MAX + 1)
    hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    sums = rng.integers(0, 1 << 60, size=(n, 2, 2), dtype=np.uint64)
    calls = []
    real = per_call.parent_nodes
    monkeypatch.setattr(per_call, "parent_nodes", lambda h, s: calls.append(len(h)) or real(h, s))
    big = hash_pairs(hashes, sums, 0, V3_NODES)
    assert calls == []
    small = hash_pairs(hashes[:2 * per_call.PER_CALL_MAX], sums[:2 * per_call.PER_CALL_MAX], 0, V3_NODES)
    assert calls == [2 * per_call.PER_CALL_MAX]
    assert (small[0] == big[0][:per_call.PER_CALL_MAX]).all() and (small[1] == big[1][:per_call.PER_CALL_MAX]).all()
    assert (amounts_to_sums(sums_to_amounts(sums)) == sums).all()
