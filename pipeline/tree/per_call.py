"""por-v3's leaves and parents of a few nodes, one ``blake3`` package call each. Pure: no I/O.

For the commands that fold a handful of nodes (``por prove`` folds one checkpoint chunk of a bucket
and the checkpoint nodes above it): below ``PER_CALL_MAX`` rows the compiled batch kernels
(``blake3_batch``, ``fragments``) are not worth loading, which costs a fresh process about 0.4 s
(numba's import and the cached machine code). Every byte hashed is ``pipeline.protocol.v3``'s
(``leaf_hash``, ``node_hash``, ``add_pair``); ``tests/test_per_call.py`` holds the two paths together.
"""

from __future__ import annotations

import numpy as np

from ..protocol import v3
from ..protocol.amounts import U128_LIMIT
from .sums import amounts_to_sums

PER_CALL_MAX = 2048
"""Rows (leaves, or pairs of nodes) up to which the per-call path is taken."""

_U64 = (1 << 64) - 1


def _ints(sums: np.ndarray) -> list[tuple[int, int]]:
    """(n, 2, 2) uint64 ``[equity/debt][hi, lo]`` as ``(equity, debt)`` Python ints."""
    words = sums.reshape(-1, 4).tolist()
    return [((a << 64) | b, (c << 64) | d) for a, b, c, d in words]


def leaf_hashes(keys: np.ndarray, amounts_be: np.ndarray) -> np.ndarray:
    """``v3.leaf_hash`` of every row: ``keys`` (n, 32), ``amounts_be`` (n, 32) ``u128be(e) ‖ u128be(d)``."""
    n = keys.shape[0]
    amounts = _ints(amounts_to_sums(amounts_be))
    raw = keys.tobytes()
    out = b"".join(v3.leaf_hash(raw[32 * i:32 * i + 32], e, d) for i, (e, d) in enumerate(amounts))
    return np.frombuffer(out, dtype=np.uint8).reshape(n, 32).copy()


def parent_nodes(hashes: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``fragments.parent_nodes`` one call per pair: the parents of consecutive pairs of an even number
    of nodes, ``(hashes (n/2, 32), sums (n/2, 2, 2), first kind that overflows or -1)``."""
    n = hashes.shape[0]
    amounts = _ints(np.ascontiguousarray(sums, dtype=np.uint64))
    raw = hashes.tobytes()
    out, parents, overflow = [], [], -1
    for i in range(0, n, 2):
        left, right = amounts[i], amounts[i + 1]
        out.append(v3.node_hash(raw[32 * i:32 * i + 32], left, raw[32 * i + 32:32 * i + 64], right))
        total = []
        for kind in (v3.EQUITY, v3.DEBT):
            value = left[kind] + right[kind]
            if value >= U128_LIMIT and overflow < 0:
                overflow = kind
            value &= U128_LIMIT - 1
            total += [value >> 64, value & _U64]
        parents.append(total)
    parent = np.array(parents, dtype=np.uint64).reshape(-1, 2, 2)
    return np.frombuffer(b"".join(out), dtype=np.uint8).reshape(-1, 32).copy(), parent, overflow
