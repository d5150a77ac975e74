"""Rows in flight between the read and shuffle stages: a ``Part`` is some rows of one fragment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass
class Part:
    """Rows of one fragment that fall into one group, in fragment order."""

    uk: np.ndarray  # (n, 32) uint8
    values: np.ndarray  # wide: (n, m, 2); long: (n, 2) uint64
    asset_index: np.ndarray | None  # long: (n,) int32
    user_ids: pa.Array  # for error reports only
    file_index: np.ndarray  # (n,) int32
    row: np.ndarray  # (n,) int64

    @classmethod
    def concat(cls, parts: list["Part"]) -> "Part":
        return cls(
            np.concatenate([p.uk for p in parts]),
            np.concatenate([p.values for p in parts]),
            None if parts[0].asset_index is None else np.concatenate([p.asset_index for p in parts]),
            pa.concat_arrays([p.user_ids for p in parts]),
            np.concatenate([p.file_index for p in parts]),
            np.concatenate([p.row for p in parts]),
        )

    def slice(self, lo: int, hi: int) -> "Part":
        """Rows ``lo:hi`` without copying."""
        return Part(
            self.uk[lo:hi],
            self.values[lo:hi],
            None if self.asset_index is None else self.asset_index[lo:hi],
            self.user_ids.slice(lo, hi - lo),
            self.file_index[lo:hi],
            self.row[lo:hi],
        )

    def take(self, idx: np.ndarray) -> "Part":
        return Part(
            self.uk[idx],
            self.values[idx],
            None if self.asset_index is None else self.asset_index[idx],
            self.user_ids.take(pa.array(idx, type=pa.int64())),
            self.file_index[idx],
            self.row[idx],
        )
