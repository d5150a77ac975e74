"""Bucket files: one Parquet file per non-empty bucket (``private/buckets/NNNNNNNN.parquet``).

Columns ``uk`` (32 bytes), ``position`` (uint64), ``balances`` (``u128be`` per asset,
concatenated); the bucket's metadata (shape, root, padding nodes, checkpoint) as JSON under
the schema metadata key ``por``. por-v3's bucket files (``private/trees/AAA/NNNNNNNN.parquet``) are
the same with columns ``key`` (the leaf key), ``position`` and ``amounts`` (``u128be(equity) ‖
u128be(debt)``): ``V3_COLUMNS``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import BundleError

BUCKET_META_KEY = b"por"
COLUMNS = ("uk", "position", "balances")
V3_COLUMNS = ("key", "position", "amounts")


def encode_bucket(uks: np.ndarray, positions: np.ndarray, sums_be: np.ndarray, meta: Mapping[str, Any],
                  columns: tuple[str, str, str] = COLUMNS) -> bytes:
    """A bucket file: Parquet with ``uk`` (32 bytes), ``position`` (uint64) and
    ``balances`` (``u128be`` per asset, concatenated) and the JSON metadata ``por``
    (``columns`` names the three: ``V3_COLUMNS`` for por-v3)."""
    n = uks.shape[0]
    width = sums_be.shape[1]
    key, position, balances = columns
    table = pa.table(
        {
            key: pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(32), n, [None, pa.py_buffer(np.ascontiguousarray(uks))]
            ),
            position: pa.array(positions, type=pa.uint64()),
            balances: pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(sums_be))]
            ),
        }
    ).replace_schema_metadata({BUCKET_META_KEY: json.dumps(meta, sort_keys=True).encode()})
    sink = io.BytesIO()
    # uk is random: compression, dictionaries and statistics cost time and save nothing. Positions
    # count up by one (delta encoding). Balances are mostly zeros: snappy, which writes them about
    # twice as fast as zstd for about 30 % more bytes.
    pq.write_table(table, sink, compression={key: "none", position: "none", balances: "snappy"},
                   column_encoding={key: "PLAIN", position: "DELTA_BINARY_PACKED", balances: "PLAIN"},
                   use_dictionary=False, write_statistics=False, row_group_size=1 << 20)
    return sink.getvalue()


@dataclass
class BucketData:
    uks: np.ndarray  # (n, 32)
    positions: np.ndarray  # (n,) uint64
    sums_be: np.ndarray  # (n, 16 m)
    meta: dict[str, Any]


def decode_bucket(data: bytes, where: str, columns: tuple[str, str, str] = COLUMNS) -> BucketData:
    """The inverse of ``encode_bucket`` (``uks`` and ``sums_be`` hold por-v3's ``key`` and ``amounts``
    with ``V3_COLUMNS``); raises ``BundleError`` naming ``where`` for anything else."""
    try:
        table = pq.ParquetFile(io.BytesIO(data)).read()
        meta = json.loads(table.schema.metadata[BUCKET_META_KEY])
        if tuple(table.column_names) != columns:
            raise ValueError(f"columns are {table.column_names}, expected {list(columns)}")
        n = table.num_rows

        def fixed(name: str) -> np.ndarray:
            col = table.column(name).combine_chunks()
            width = col.type.byte_width
            buf = np.frombuffer(col.buffers()[1], dtype=np.uint8)
            return buf[col.offset * width : (col.offset + n) * width].reshape(n, width)

        key, position, balances = columns
        return BucketData(
            fixed(key),
            table.column(position).to_numpy().astype(np.uint64),
            fixed(balances),
            meta,
        )
    except (pa.ArrowException, KeyError, TypeError, ValueError, OSError) as exc:
        raise BundleError(f"{where}: not a valid bucket file ({exc})") from None
