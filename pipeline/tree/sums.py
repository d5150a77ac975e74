"""Exact 128-bit amounts as numpy arrays. Pure: no I/O.

``sums`` arrays are ``uint64`` of shape ``(n, m, 2)``: ``[..., 0]`` is the high and ``[..., 1]``
the low 64 bits of an exact amount in ``[0, 2^128)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..protocol.amounts import U128_LIMIT

_MASK64 = (1 << 64) - 1


def sums_from_ints(rows: Sequence[Sequence[int]], m: int) -> np.ndarray:
    """Exact conversion of Python ints (each in ``[0, 2**128)``) to the ``(n, m, 2)`` layout."""
    out = np.zeros((len(rows), m, 2), dtype=np.uint64)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if not 0 <= v < U128_LIMIT:
                raise OverflowError(f"amount {v} is outside [0, 2^128)")
            out[i, j, 0] = v >> 64
            out[i, j, 1] = v & _MASK64
    return out


def ints_from_sums(sums: np.ndarray) -> list[list[int]]:
    """The inverse of ``sums_from_ints``."""
    hi = sums[..., 0].tolist()
    lo = sums[..., 1].tolist()
    return [[(h << 64) | low for h, low in zip(hr, lr, strict=True)] for hr, lr in zip(hi, lo, strict=True)]


def sums_to_be_bytes(sums: np.ndarray) -> np.ndarray:
    """``(n, m, 2)`` sums as ``(n, 16 m)`` bytes: ``u128be`` per asset, asset order."""
    n = sums.shape[0]
    return np.ascontiguousarray(sums.astype(">u8")).view(np.uint8).reshape(n, -1)


def sums_from_be_bytes(raw: np.ndarray, m: int) -> np.ndarray:
    """The inverse of ``sums_to_be_bytes`` for a ``(n, 16 m)`` uint8 array."""
    n = raw.shape[0]
    return np.ascontiguousarray(raw).view(">u8").reshape(n, m, 2).astype(np.uint64)


def add_sums(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise 128-bit addition with carry. Returns ``(sum, overflow)``.

    ``overflow`` is a boolean array of shape ``(n, m)``, true where the exact
    sum is ``>= 2**128`` (the returned value is then meaningless).
    """
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=np.uint64)
    lo = np.add(a[..., 1], b[..., 1], out=out[..., 1])
    carry = lo < a[..., 1]
    hi = np.add(a[..., 0], b[..., 0], out=out[..., 0])
    overflow = hi < a[..., 0]
    hi += carry
    overflow |= carry & (hi == 0)
    return out, overflow


def amounts_to_sums(amounts_be: np.ndarray) -> np.ndarray:
    """(n, 32) ``u128be(e) ‖ u128be(d)`` as (n, 2, 2) uint64 sums ``[equity/debt][hi, lo]``."""
    return np.ascontiguousarray(amounts_be, dtype=np.uint8).view(">u8").reshape(-1, 2, 2).astype(np.uint64)


def sums_to_amounts(sums: np.ndarray) -> np.ndarray:
    """The inverse of ``amounts_to_sums``."""
    return np.ascontiguousarray(np.asarray(sums, dtype=np.uint64).astype(">u8")).view(np.uint8).reshape(-1, 32)
