"""The protocol's shape rules (``pipeline.protocol.shape``) over whole arrays of user keys."""

from __future__ import annotations

import numpy as np


def first_words(uks: np.ndarray) -> np.ndarray:
    """The first 64 bits of every ``(n, 32)`` user key as uint64: sorting them sorts the keys,
    unless two keys share them."""
    return np.ascontiguousarray(uks[:, :8]).view(">u8").reshape(-1).astype(np.uint64)


def top_bits(uks: np.ndarray, bits: int) -> np.ndarray:
    """The first ``bits`` bits of every ``(n, 32)`` user key as int64: the bucket of each key when
    ``bits`` is ``k`` (``protocol.shape.bucket_of``), its shuffle group when ``bits`` is ``g``."""
    top = first_words(uks)
    if bits == 0:
        return np.zeros(len(top), dtype=np.int64)
    return (top >> np.uint64(64 - bits)).astype(np.int64)


def positions(bucket: int, bucket_height: int, count: int) -> np.ndarray:
    """``protocol.shape.position(bucket, h, rank)`` for ranks ``0 … count-1``, as uint64."""
    return (np.uint64(bucket) << np.uint64(bucket_height)) + np.arange(count, dtype=np.uint64)


def key_words(uks: np.ndarray) -> np.ndarray:
    """``(n, 4)`` uint64 big-endian words of each key: comparing them compares the keys."""
    return np.ascontiguousarray(uks).view(">u8").reshape(-1, 4).astype(np.uint64)


def first_disorder(uks: np.ndarray) -> tuple[int, bool, int] | None:
    """Where ``(n, 32)`` keys stop being strictly ascending: ``(rank, repeated, count)`` of the first
    pair out of order (``rank`` is the second key's, ``repeated`` when the two are equal, ``count``
    the number of such pairs), or None when every key is below the next."""
    words = key_words(uks)
    n = words.shape[0]
    ascending = np.zeros(max(n - 1, 0), dtype=bool)
    undecided = np.ones(max(n - 1, 0), dtype=bool)
    for w in range(4):
        a, c = words[:-1, w], words[1:, w]
        ascending |= undecided & (a < c)
        undecided &= a == c
    bad = np.flatnonzero(~ascending)
    if not len(bad):
        return None
    return int(bad[0]) + 1, bool(undecided[bad[0]]), len(bad)
