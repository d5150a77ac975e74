"""Rows in flight between the read and bucket stages: a ``Part`` is some rows of one fragment.

User ids do not travel: a row is named by its file and row number, and the rare error that
quotes an id (a duplicate) reads it back from the snapshot (``read.user_id_at``). Wide rows
carry their amounts sparse (``SparseAmounts``): most users hold a few of the assets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Union

import numpy as np
from numba import njit
from numba.typed import List

from ..tree.shape import first_words, key_words


@dataclass
class SparseAmounts:
    """Amounts of ``n`` rows × ``m`` assets: ``held[i, j]`` when row ``i`` holds a non-zero amount
    of asset ``j``; those amounts, row by row and asset by asset, in ``flat`` (``[hi, lo]``)."""

    held: np.ndarray  # (n, m) bool
    flat: np.ndarray  # (held.sum(), 2) uint64

    @classmethod
    def from_dense(cls, values: np.ndarray) -> "SparseAmounts":
        held = (values[..., 0] | values[..., 1]) != 0
        return cls(held, values[held])

    @classmethod
    def from_columns(cls, columns: list[tuple[np.ndarray, np.ndarray]]) -> "SparseAmounts":
        """From one ``(lo, hi)`` pair of uint64 arrays per asset (``formats.columns.amount_words``),
        in compiled code: no dense ``(n, m)`` copy of the amounts is ever made."""
        n = len(columns[0][0]) if columns else 0
        los, his = List(), List()
        for lo, hi in columns:
            los.append(np.ascontiguousarray(lo, dtype=np.uint64))
            his.append(np.ascontiguousarray(hi, dtype=np.uint64))
        held = np.zeros((n, len(columns)), dtype=np.bool_)
        if n == 0:
            return cls(held, np.zeros((0, 2), dtype=np.uint64))
        flat = np.empty((_mark_held(los, his, held), 2), dtype=np.uint64)
        _gather_held(los, his, held, flat)
        return cls(held, flat)

    def __len__(self) -> int:
        return self.held.shape[0]

    @cached_property
    def _starts(self) -> np.ndarray:
        """Where each row's amounts start in ``flat`` (and, last, ``len(flat)``)."""
        starts = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(self.held.sum(axis=1), out=starts[1:])
        return starts

    def __getitem__(self, rows: slice) -> "SparseAmounts":
        lo, hi, _ = rows.indices(len(self))
        return SparseAmounts(self.held[lo:hi], self.flat[self._starts[lo] : self._starts[hi]])

    def take(self, idx: np.ndarray, axis: int = 0) -> "SparseAmounts":
        """Rows ``idx``, in that order (no dense copy: only the held amounts move)."""
        starts = self._starts
        counts = starts[1:][idx] - starts[:-1][idx]
        new_starts = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_starts[1:])
        gather = np.repeat(starts[:-1][idx] - new_starts[:-1], counts) + np.arange(new_starts[-1])
        return SparseAmounts(self.held[idx], self.flat[gather])

    @classmethod
    def concat(cls, parts: list["SparseAmounts"]) -> "SparseAmounts":
        return cls(np.concatenate([p.held for p in parts]), np.concatenate([p.flat for p in parts]))

    def dense(self, order: np.ndarray | None = None) -> np.ndarray:
        """``(n, m, 2)`` uint64; with ``order``, row ``i`` is row ``order[i]`` (compiled: the sparse
        rows are never reordered first)."""
        if order is None:
            order = np.arange(len(self))
        values = np.zeros((len(order), self.held.shape[1], 2), dtype=np.uint64)
        if len(order):
            _scatter(self.held, self.flat, self._starts, np.ascontiguousarray(order, dtype=np.int64), values)
        return values


@njit(cache=True, nogil=True)
def _mark_held(los, his, held):  # type: ignore[no-untyped-def]
    count = 0
    for j in range(len(los)):  # column by column: each lane's words are read in order
        lo, hi = los[j], his[j]
        for i in range(held.shape[0]):
            if lo[i] | hi[i]:
                held[i, j] = True
                count += 1
    return count


@njit(cache=True, nogil=True)
def _gather_held(los, his, held, flat):  # type: ignore[no-untyped-def]
    """``flat`` row by row, lane by lane, filled lane by lane: each row's next place is kept in ``fill``
    (lanes come in order, so it is the lane's rank among the row's held lanes)."""
    n = held.shape[0]
    fill = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        fill[i] = k
        for j in range(held.shape[1]):
            if held[i, j]:
                k += 1
    for j in range(held.shape[1]):
        lo, hi = los[j], his[j]
        for i in range(n):
            if held[i, j]:
                flat[fill[i], 0] = hi[i]
                flat[fill[i], 1] = lo[i]
                fill[i] += 1


@njit(cache=True, nogil=True)
def _scatter(held, flat, starts, order, out):  # type: ignore[no-untyped-def]
    for i in range(order.shape[0]):
        r = order[i]
        k = starts[r]
        for j in range(held.shape[1]):
            if held[r, j]:
                out[i, j, 0] = flat[k, 0]
                out[i, j, 1] = flat[k, 1]
                k += 1


Values = Union[np.ndarray, SparseAmounts]
"""Wide rows: ``SparseAmounts``; long rows: ``(n, 2)`` uint64, one amount per row."""


@dataclass
class Part:
    """Rows of one fragment that fall into one group, in fragment order."""

    uk: np.ndarray  # (n, 32) uint8
    values: Values
    asset_index: np.ndarray | None  # long: (n,) int32
    file_index: np.ndarray  # (n,) int32
    row: np.ndarray  # (n,) int64

    @classmethod
    def concat(cls, parts: list["Part"]) -> "Part":
        values = [p.values for p in parts]
        sparse = [v for v in values if isinstance(v, SparseAmounts)]
        dense = [v for v in values if not isinstance(v, SparseAmounts)]
        if sparse and dense:
            raise ValueError("parts of one group are all sparse or all dense")
        return cls(
            np.concatenate([p.uk for p in parts]),
            SparseAmounts.concat(sparse) if sparse else np.concatenate(dense),
            None if parts[0].asset_index is None else np.concatenate([p.asset_index for p in parts]),
            np.concatenate([p.file_index for p in parts]),
            np.concatenate([p.row for p in parts]),
        )

    def slice(self, lo: int, hi: int) -> "Part":
        """Rows ``lo:hi``."""
        return Part(
            self.uk[lo:hi],
            self.values[lo:hi],
            None if self.asset_index is None else self.asset_index[lo:hi],
            self.file_index[lo:hi],
            self.row[lo:hi],
        )

    def take(self, idx: np.ndarray) -> "Part":
        return Part(
            np.take(self.uk, idx, axis=0),
            self.values.take(idx, axis=0),
            None if self.asset_index is None else self.asset_index[idx],
            self.file_index[idx],
            self.row[idx],
        )


@njit(cache=True, nogil=True)
def _scatter_partitions(keys, amounts, pid, bounds, out_keys, out_amounts):  # type: ignore[no-untyped-def]
    fill = bounds[:-1].copy()
    for i in range(pid.shape[0]):
        at = fill[pid[i]]
        fill[pid[i]] += 1
        for w in range(4):
            out_keys[at, w] = keys[i, w]
            out_amounts[at, w] = amounts[i, w]


def partition_rows(keys: np.ndarray, amounts: np.ndarray, pid: np.ndarray, count: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 32) ``keys`` and ``amounts`` grouped by ``pid`` (each in ``[0, count)``, order kept within a
    group), and where each group starts (and, last, n): a counting sort whose writes go to ``count``
    sequential streams."""
    pid = np.ascontiguousarray(pid, dtype=np.int64)
    bounds = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(pid, minlength=count), out=bounds[1:])
    out_keys = np.empty((len(pid), 4), dtype=np.uint64)
    out_amounts = np.empty((len(pid), 4), dtype=np.uint64)
    if len(pid):
        _scatter_partitions(np.ascontiguousarray(keys).view(np.uint64), np.ascontiguousarray(amounts).view(np.uint64),
                            pid, bounds, out_keys, out_amounts)
    return out_keys.view(np.uint8), out_amounts.view(np.uint8), bounds


_M8 = np.uint64(0x00FF00FF00FF00FF)
_M16 = np.uint64(0x0000FFFF0000FFFF)


@njit(inline="always")
def _bswap64(x):  # type: ignore[no-untyped-def]
    """A little-endian load of 8 bytes as their big-endian value (LLVM makes this one instruction)."""
    x = ((x & _M8) << np.uint64(8)) | ((x >> np.uint64(8)) & _M8)
    x = ((x & _M16) << np.uint64(16)) | ((x >> np.uint64(16)) & _M16)
    return (x << np.uint64(32)) | (x >> np.uint64(32))


@njit(cache=True, nogil=True)
def _gather_rows(keys, amounts, order, out_keys, out_amounts):  # type: ignore[no-untyped-def]
    for i in range(order.shape[0]):
        r = order[i]
        for w in range(4):
            out_keys[i, w] = keys[r, w]
            out_amounts[i, w] = amounts[r, w]


def sort_rows(key_pieces: list[np.ndarray], amount_pieces: list[np.ndarray],
              out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every row of the pieces (each (n_i, 32) leaf keys and their amounts) sorted by key (then by
    amounts, so that equal keys, which callers refuse, still give one order), in one array.

    The keys' first 64 bits (relative to the smallest, as many bits as fit beside a row number) and
    the row number are packed into one uint64 and sorted by numpy's vectorised sort; rows whose packed
    bits tie (rare: the keys are uniform) are put in order by their whole bytes. ``out``: where to write
    the sorted keys and amounts ((n, 32) uint8 each, contiguous)."""
    keys = np.concatenate(key_pieces) if len(key_pieces) != 1 else np.ascontiguousarray(key_pieces[0])
    amounts = np.concatenate(amount_pieces) if len(amount_pieces) != 1 else np.ascontiguousarray(amount_pieces[0])
    n = keys.shape[0]
    if n < 2:
        if out is not None:
            out[0][:], out[1][:] = keys, amounts
            return out
        return keys, amounts
    top = first_words(keys)
    low = top.min()
    top -= low
    index_bits = (n - 1).bit_length()
    shift = max(0, int(top.max()).bit_length() - (64 - index_bits))
    packed = ((top >> np.uint64(shift)) << np.uint64(index_bits)) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << index_bits) - 1)).astype(np.int64)
    prefix = packed >> np.uint64(index_bits)
    tied = np.flatnonzero(prefix[1:] == prefix[:-1])
    if len(tied):  # runs of equal packed bits: order each by the whole key, then the amounts
        starts = tied[np.r_[True, tied[1:] != tied[:-1] + 1]]
        for a in starts.tolist():
            b = a + 1
            while b < n and prefix[b] == prefix[a]:
                b += 1
            run = order[a:b]
            kw, aw = key_words(keys[run]), key_words(amounts[run])
            order[a:b] = run[np.lexsort((aw[:, 3], aw[:, 2], aw[:, 1], aw[:, 0], kw[:, 3], kw[:, 2], kw[:, 1], kw[:, 0]))]
    out_keys, out_amounts = out if out is not None else (np.empty((n, 32), np.uint8), np.empty((n, 32), np.uint8))
    _gather_rows(keys.view(np.uint64), amounts.view(np.uint64), order, out_keys.view(np.uint64),
                 out_amounts.view(np.uint64))
    return out_keys, out_amounts


@njit(cache=True, nogil=True)
def _bucket_pieces(key_pieces, amount_pieces, bits, lo, hi, bounds, out_keys, out_amounts):  # type: ignore[no-untyped-def]
    """Rows of the pieces whose key's first ``bits`` bits are in ``[lo, hi)``, grouped by those bits."""
    shift = np.uint64(64 - bits) if bits > 0 else np.uint64(0)
    for p in range(len(key_pieces)):
        keys = key_pieces[p]
        for i in range(keys.shape[0]):
            b = np.int64(_bswap64(keys[i, 0]) >> shift) if bits > 0 else 0
            if lo <= b < hi:
                bounds[b - lo + 1] += 1
    for b in range(hi - lo):
        bounds[b + 1] += bounds[b]
    fill = bounds[:-1].copy()
    for p in range(len(key_pieces)):
        keys, amounts = key_pieces[p], amount_pieces[p]
        for i in range(keys.shape[0]):
            b = np.int64(_bswap64(keys[i, 0]) >> shift) if bits > 0 else 0
            if lo <= b < hi:
                at = fill[b - lo]
                fill[b - lo] += 1
                for w in range(4):
                    out_keys[at, w] = keys[i, w]
                    out_amounts[at, w] = amounts[i, w]


def bucket_rows(key_pieces: list[np.ndarray], amount_pieces: list[np.ndarray], bits: int, lo: int, hi: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of the pieces (each (n_i, 32) keys and amounts) whose key's first ``bits`` bits (its
    bucket) are in ``[lo, hi)``, grouped by bucket (in the pieces' order within one), and where bucket
    ``lo + b`` starts (and, last, the end): one compiled pass, the writes in ``hi − lo`` streams."""
    keys, amounts = List(), List()
    total = 0
    for k, a in zip(key_pieces, amount_pieces, strict=True):
        if k.shape[0]:
            keys.append(np.ascontiguousarray(k).view(np.uint64))
            amounts.append(np.ascontiguousarray(a).view(np.uint64))
            total += k.shape[0]
    bounds = np.zeros(hi - lo + 1, dtype=np.int64)
    out_keys = np.empty((total, 4), dtype=np.uint64)
    out_amounts = np.empty((total, 4), dtype=np.uint64)
    if total:
        _bucket_pieces(keys, amounts, bits, lo, hi, bounds, out_keys, out_amounts)
    n = int(bounds[-1])
    return out_keys[:n].view(np.uint8), out_amounts[:n].view(np.uint8), bounds
