"""The tree's leaf and node messages assembled in compiled code (numba), many per call. Pure: no I/O.

The byte layout is por-v1's (``pipeline.protocol.v1``): a leaf is ``tag ‖ uk ‖ u128be(b_1..m)``, a
node ``tag ‖ h_L ‖ u128be(s_L) ‖ h_R ‖ u128be(s_R)``; tags and sizes come from ``v1``. por-v3's node
(``pipeline.protocol.v3``) is the same without the tag, over two sums (equity, debt). Sums are the
``(n, m, 2)`` uint64 ``[hi, lo]`` arrays of ``pipeline.tree.sums``; a parent's sums are added here,
with the same overflow rule as ``sums.add_sums`` (a total must stay below 2^128). The golden
vectors and the reference-builder property tests check these bytes against the protocol's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..protocol import v1

_D = v1.DIGEST_SIZE
_S = v1.SUM_SIZE


@njit(inline="always")
def _put_u64be(out, row, at, value):  # type: ignore[no-untyped-def]
    for t in range(8):
        out[row, at + t] = np.uint8((value >> np.uint64(56 - 8 * t)) & np.uint64(0xFF))


@njit(cache=True, nogil=True)
def _leaves(uks, sums, tag, out):  # type: ignore[no-untyped-def]
    n, m = sums.shape[0], sums.shape[1]
    for i in range(n):
        out[i, 0] = tag
        for t in range(32):
            out[i, 1 + t] = uks[i, t]
        for j in range(m):
            _put_u64be(out, i, 33 + 16 * j, sums[i, j, 0])
            _put_u64be(out, i, 41 + 16 * j, sums[i, j, 1])


@njit(cache=True, nogil=True)
def _nodes(hashes, sums, tag, base, out, parent):  # type: ignore[no-untyped-def]
    """Messages of the parents of pairs ``(2i, 2i+1)`` into ``out`` and their sums into ``parent``;
    ``base`` is 1 with a tag byte first (por-v1/v2), 0 without (por-v3). Returns the first asset
    whose total reaches 2^128, or -1."""
    pairs, m = parent.shape[0], sums.shape[1]
    record = 32 + 16 * m
    overflow = -1
    for i in range(pairs):
        if base:
            out[i, 0] = tag
        for side in range(2):
            child = 2 * i + side
            at = base + side * record
            for t in range(32):
                out[i, at + t] = hashes[child, t]
            for j in range(m):
                _put_u64be(out, i, at + 32 + 16 * j, sums[child, j, 0])
                _put_u64be(out, i, at + 40 + 16 * j, sums[child, j, 1])
        for j in range(m):
            lo = sums[2 * i, j, 1] + sums[2 * i + 1, j, 1]
            carry = np.uint64(1) if lo < sums[2 * i, j, 1] else np.uint64(0)
            hi = sums[2 * i, j, 0] + sums[2 * i + 1, j, 0]
            wrapped = hi < sums[2 * i, j, 0]
            hi += carry
            if wrapped or (carry == 1 and hi == 0):
                if overflow < 0:
                    overflow = j
            parent[i, j, 0] = hi
            parent[i, j, 1] = lo
    return overflow


def leaf_messages(uks: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """``(n, leaf_size(m))`` leaf messages for ``(n, 32)`` user keys and ``(n, m, 2)`` sums."""
    n, m = sums.shape[0], sums.shape[1]
    out = np.empty((n, v1.leaf_size(m)), dtype=np.uint8)
    if n:
        _leaves(np.ascontiguousarray(uks, dtype=np.uint8), np.ascontiguousarray(sums, dtype=np.uint64),
                v1.LEAF_TAG[0], out)
    return out


def node_messages(hashes: np.ndarray, sums: np.ndarray, tag: bytes = v1.NODE_TAG
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Messages and sums of the parents of consecutive pairs of an even number of nodes, and the
    first asset (por-v3: 0 equity, 1 debt) whose parent total reaches 2^128 (-1 when none does).

    ``tag``: the byte before the children (por-v1/v2's ``0x01``), or ``b""`` for none (por-v3, whose
    node message is ``h_L ‖ u128be(e_L) ‖ u128be(d_L) ‖ h_R ‖ …``: sums of two "assets", equity and debt)."""
    if len(tag) > 1:
        raise ValueError("a node tag is one byte or none")
    n, m = sums.shape[0], sums.shape[1]
    out = np.empty((n // 2, len(tag) + 2 * (_D + _S * m)), dtype=np.uint8)
    parent = np.empty((n // 2, m, 2), dtype=np.uint64)
    if n == 0:
        return out, parent, -1
    overflow = _nodes(np.ascontiguousarray(hashes, dtype=np.uint8), np.ascontiguousarray(sums, dtype=np.uint64),
                      tag[0] if tag else 0, len(tag), out, parent)
    return out, parent, int(overflow)
