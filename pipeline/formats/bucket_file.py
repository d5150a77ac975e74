"""Bucket files: one Parquet file per non-empty bucket (``private/buckets/NNNNNNNN.parquet``).

Columns ``uk`` (32 bytes), ``position`` (uint64), ``balances`` (``u128be`` per asset,
concatenated); the bucket's metadata (shape, root, padding nodes, checkpoint) as JSON under
the schema metadata key ``por``.
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


def encode_bucket(uks: np.ndarray, positions: np.ndarray, sums_be: np.ndarray, meta: Mapping[str, Any]) -> bytes:
    """A bucket file: Parquet with ``uk`` (32 bytes), ``position`` (uint64) and
    ``balances`` (``u128be`` per asset, concatenated) and the JSON metadata ``por``."""
    n = uks.shape[0]
    width = sums_be.shape[1]
    table = pa.table(
        {
            "uk": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(32), n, [None, pa.py_buffer(np.ascontiguousarray(uks).tobytes())]
            ),
            "position": pa.array(positions, type=pa.uint64()),
            "balances": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(sums_be).tobytes())]
            ),
        }
    ).replace_schema_metadata({BUCKET_META_KEY: json.dumps(meta, sort_keys=True).encode()})
    sink = io.BytesIO()
    # uk is random: compression, dictionaries and statistics cost time and save nothing. Positions
    # count up by one (delta encoding). Balances are mostly zeros: snappy, which writes them about
    # twice as fast as zstd for about 30 % more bytes.
    pq.write_table(table, sink, compression={"uk": "none", "position": "none", "balances": "snappy"},
                   column_encoding={"uk": "PLAIN", "position": "DELTA_BINARY_PACKED", "balances": "PLAIN"},
                   use_dictionary=False, write_statistics=False, row_group_size=1 << 20)
    return sink.getvalue()


@dataclass
class BucketData:
    uks: np.ndarray  # (n, 32)
    positions: np.ndarray  # (n,) uint64
    sums_be: np.ndarray  # (n, 16 m)
    meta: dict[str, Any]


def decode_bucket(data: bytes, where: str) -> BucketData:
    try:
        table = pq.ParquetFile(io.BytesIO(data)).read()
        meta = json.loads(table.schema.metadata[BUCKET_META_KEY])
        if tuple(table.column_names) != COLUMNS:
            raise ValueError(f"columns are {table.column_names}, expected {list(COLUMNS)}")
        n = table.num_rows

        def fixed(name: str) -> np.ndarray:
            col = table.column(name).combine_chunks()
            width = col.type.byte_width
            buf = np.frombuffer(col.buffers()[1], dtype=np.uint8)
            return buf[col.offset * width : (col.offset + n) * width].reshape(n, width)

        return BucketData(
            fixed("uk"),
            table.column("position").to_numpy().astype(np.uint64),
            fixed("balances"),
            meta,
        )
    except (pa.ArrowException, KeyError, TypeError, ValueError, OSError) as exc:
        raise BundleError(f"{where}: not a valid bucket file ({exc})") from None
