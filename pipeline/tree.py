"""Vectorised por-v1 tree arithmetic over numpy arrays. Pure: no I/O.

Representations used throughout the pipeline:

* ``hashes``: ``uint8`` array of shape ``(n, 32)``.
* ``sums``: ``uint64`` array of shape ``(n, m, 2)``; ``[..., 0]`` is the high
  and ``[..., 1]`` the low 64 bits of an exact 128-bit amount.

The byte strings hashed here are exactly those of ``pipeline.protocol``; the
golden vectors and the reference-builder property tests hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from blake3 import blake3

from . import protocol

PaddingFn = Callable[[int, int], bytes]
"""``(level, index) -> hash`` of the padding node at that place."""

_MASK64 = (1 << 64) - 1


def sums_from_ints(rows: Sequence[Sequence[int]], m: int) -> np.ndarray:
    """Exact conversion of Python ints (each in ``[0, 2**128)``) to the ``(n, m, 2)`` layout."""
    out = np.zeros((len(rows), m, 2), dtype=np.uint64)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if not 0 <= v < protocol.U128_LIMIT:
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


def hash_rows(messages: np.ndarray) -> np.ndarray:
    """BLAKE3-256 of every row of a C-contiguous 2-d ``uint8`` array, as ``(n, 32)``."""
    n, width = messages.shape
    if n == 0:
        return np.zeros((0, 32), dtype=np.uint8)
    data = np.ascontiguousarray(messages).data.cast("B")
    h = blake3
    digests = b"".join([h(data[i : i + width]).digest() for i in range(0, n * width, width)])
    return np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)


def leaf_hashes(uks: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Leaf hashes ``H(0x00 ‖ uk ‖ u128be(b_1..m))`` for ``(n, 32)`` user keys."""
    n, m = sums.shape[0], sums.shape[1]
    messages = np.empty((n, 33 + 16 * m), dtype=np.uint8)
    messages[:, 0] = 0
    messages[:, 1:33] = uks
    messages[:, 33:].view(">u8").reshape(n, m, 2)[...] = sums
    return hash_rows(messages)


class SumOverflow(OverflowError):
    """A parent's sum reached 2**128 for some asset."""

    def __init__(self, asset_index: int, level: int) -> None:
        self.asset_index = asset_index
        self.level = level
        super().__init__(f"sum of asset #{asset_index} reaches 2^128 at level {level}")


def hash_pairs(hashes: np.ndarray, sums: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Parents of consecutive pairs ``(2i, 2i+1)`` of nodes at ``level``.

    Precondition: an even number of nodes. Raises ``SumOverflow``. Each message
    ``0x01 ‖ h_L ‖ u128be(s_L) ‖ h_R ‖ u128be(s_R)`` is assembled in one buffer;
    the big-endian conversion happens while copying the sums in.
    """
    n = hashes.shape[0]
    if n == 0:
        return hashes[:0], sums[:0]
    m = sums.shape[1]
    parent_sums, overflow = add_sums(sums[0::2], sums[1::2])
    if overflow.any():
        raise SumOverflow(int(np.argwhere(overflow)[0][1]), level + 1)
    record = 32 + 16 * m
    messages = np.empty((n // 2, 1 + 2 * record), dtype=np.uint8)
    messages[:, 0] = 1
    children = messages[:, 1:].reshape(n // 2, 2, record)
    children[:, :, :32] = hashes.reshape(n // 2, 2, 32)
    children[:, :, 32:].view(">u8").reshape(n // 2, 2, m, 2)[...] = sums.reshape(n // 2, 2, m, 2)
    return hash_rows(messages), parent_sums


@dataclass
class Subtree:
    """A subtree: its root, the padding nodes it used, optionally its levels."""

    root_hash: bytes
    root_sums: np.ndarray  # (m, 2)
    padding: list[tuple[int, int, bytes]] = field(default_factory=list)
    levels: list[tuple[np.ndarray, np.ndarray]] | None = None
    """With ``keep_levels``: every level from ``base_level`` to the root, padding node included."""
    recorded: tuple[np.ndarray, np.ndarray] | None = None
    """With ``record_level``: the real nodes of that level (no padding)."""


def build_bucket(
    nodes: np.ndarray,
    sums: np.ndarray,
    bucket: int,
    height: int,
    padding: PaddingFn,
    keep_levels: bool = False,
    base_level: int = 0,
    record_level: int | None = None,
) -> Subtree:
    """Fold left-packed nodes at ``base_level`` into the subtree root at level ``height``.

    ``bucket`` is the index of that root within level ``height``; a node ``j``
    of level ``L`` below it has the global index ``(bucket << (height - L)) + j``.
    Preconditions: ``nodes`` (n, 32) are in ascending ``uk`` order (leaf hashes
    when ``base_level`` is 0), ``n <= 2**(height - base_level)``. Padding
    siblings are taken from ``padding``; an empty subtree's root is the padding
    node ``(height, bucket)``.
    """
    n, m = sums.shape[0], sums.shape[1]
    if n > (1 << (height - base_level)):
        raise ValueError(f"bucket {bucket} holds {n} nodes at level {base_level}, more than fit below level {height}")
    if n == 0:
        return Subtree(padding(height, bucket), np.zeros((m, 2), dtype=np.uint64))
    used: list[tuple[int, int, bytes]] = []
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    recorded = None
    hashes, level_sums = nodes, sums
    for level in range(base_level, height):
        if level == record_level:
            recorded = (hashes, level_sums)
        count = hashes.shape[0]
        if count % 2 == 1:
            index = (bucket << (height - level)) + count
            pad = padding(level, index)
            used.append((level, index, pad))
            hashes = np.vstack([hashes, np.frombuffer(pad, dtype=np.uint8)[None, :]])
            level_sums = np.concatenate([level_sums, np.zeros((1, m, 2), dtype=np.uint64)])
        if keep_levels:
            levels.append((hashes, level_sums))
        hashes, level_sums = hash_pairs(hashes, level_sums, level)
    if keep_levels:
        levels.append((hashes, level_sums))
    if record_level == height:
        recorded = (hashes, level_sums)
    return Subtree(hashes[0].tobytes(), level_sums[0], used, levels if keep_levels else None, recorded)


def build_top(
    bucket_hashes: np.ndarray,
    bucket_sums: np.ndarray,
    empty: np.ndarray,
    bucket_height: int,
    padding: PaddingFn,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fold the ``2**k`` bucket roots into the root; returns every level, bucket level first.

    ``empty[b]`` is true for buckets without users; their given hash must be
    the padding node ``(bucket_height, b)``. A parent both of whose children
    are empty is itself a padding node, taken from ``padding``.
    """
    levels = [(bucket_hashes, bucket_sums)]
    hashes, sums, is_empty = bucket_hashes, bucket_sums, empty
    level = bucket_height
    while hashes.shape[0] > 1:
        hashes, sums = hash_pairs(hashes, sums, level)
        level += 1
        is_empty = is_empty[0::2] & is_empty[1::2]
        if is_empty.any():
            hashes = hashes.copy()
            for index in np.flatnonzero(is_empty).tolist():
                hashes[index] = np.frombuffer(padding(level, index), dtype=np.uint8)
        levels.append((hashes, sums))
    return levels


def sibling_path(levels: Sequence[tuple[np.ndarray, np.ndarray]], index: int) -> list[tuple[bytes, np.ndarray]]:
    """Siblings of node ``index`` (at the first level given) on the way up, lowest first."""
    path = []
    for hashes, sums in levels[:-1]:
        sib = index ^ 1
        path.append((hashes[sib].tobytes(), sums[sib]))
        index >>= 1
    return path
