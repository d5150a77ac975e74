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
    for j in range(len(los)):
        lo, hi = los[j], his[j]
        for i in range(held.shape[0]):
            if lo[i] | hi[i]:
                held[i, j] = True
                count += 1
    return count


@njit(cache=True, nogil=True)
def _gather_held(los, his, held, flat):  # type: ignore[no-untyped-def]
    k = 0
    for i in range(held.shape[0]):
        for j in range(held.shape[1]):
            if held[i, j]:
                flat[k, 0] = his[j][i]
                flat[k, 1] = los[j][i]
                k += 1


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
def _counting_order(ids, count, order, bounds):  # type: ignore[no-untyped-def]
    for i in range(ids.shape[0]):
        bounds[ids[i] + 1] += 1
    for b in range(count):
        bounds[b + 1] += bounds[b]
    fill = bounds[:-1].copy()
    for i in range(ids.shape[0]):
        order[fill[ids[i]]] = i
        fill[ids[i]] += 1


def counting_order(ids: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable order of rows by ``ids`` (each in ``[0, count)``) and where each id's rows start (and,
    last, ``len(ids)``): a counting sort, linear in rows plus ids."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    order = np.empty(ids.shape[0], dtype=np.int64)
    bounds = np.zeros(count + 1, dtype=np.int64)
    _counting_order(ids, count, order, bounds)
    return order, bounds
