"""por-v3's private user files: one Parquet file per non-empty user group (``private/users/gNNNNN.parquet``).

Rows sorted by ``uk``, one per user of the snapshot (those holding nothing too). Columns ``uk`` (32
bytes), ``held`` (a bit mask of the assets held: asset ``j`` is bit ``j % 8`` of byte ``j // 8``) and
``amounts`` (a list of 32-byte ``u128be(equity) ‖ u128be(debt)``, one per held asset in asset
order); the group's metadata (version, period, group, bits, users) as JSON under the schema metadata
key ``por`` (schemas/por-v3.md section 11).
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

META_KEY = b"por"
COLUMNS = ("uk", "held", "amounts")


def held_mask(held: np.ndarray) -> np.ndarray:
    """(n, m) bool as the (n, ceil(m/8)) bit masks of the ``held`` column."""
    return np.packbits(np.asarray(held, dtype=np.bool_), axis=1, bitorder="little")


def held_assets(mask: np.ndarray, m: int) -> np.ndarray:
    """The inverse of ``held_mask``: (n, m) bool (bits beyond ``m`` are ignored here; ``stray_bits`` finds them)."""
    return np.unpackbits(np.asarray(mask, dtype=np.uint8), axis=1, count=m, bitorder="little").astype(np.bool_)


def stray_bits(mask: np.ndarray, m: int) -> np.ndarray:
    """Rows whose mask sets a bit of no asset (at ``m`` or beyond)."""
    full = np.unpackbits(np.asarray(mask, dtype=np.uint8), axis=1, bitorder="little")
    return np.flatnonzero(full[:, m:].any(axis=1)) if full.shape[1] > m else np.zeros(0, np.int64)


def _fixed(raw: np.ndarray, width: int) -> pa.Array:
    flat = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(flat) // width, [None, pa.py_buffer(flat)])


def encode_users(uks: np.ndarray, masks: np.ndarray, starts: np.ndarray, amounts: np.ndarray,
                 meta: Mapping[str, Any]) -> bytes:
    """A user file: ``uks`` (n, 32), ``masks`` (n, ceil(m/8)) uint8, ``starts`` (n + 1,) where each
    user's amounts begin in ``amounts`` (H, 32) uint8."""
    n = uks.shape[0]
    width = masks.shape[1]
    amounts_col = pa.ListArray.from_arrays(pa.array(np.asarray(starts, dtype=np.int32), pa.int32()),
                                           _fixed(amounts, 32) if len(amounts) else pa.array([], pa.binary(32)))
    table = pa.table({
        "uk": _fixed(uks, 32) if n else pa.array([], pa.binary(32)),
        "held": _fixed(masks, width) if n else pa.array([], pa.binary(width)),
        "amounts": amounts_col,
    }).replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression={"uk": "none", "held": "snappy", "amounts": "snappy"},
                   use_dictionary=False, write_statistics=False, row_group_size=1 << 20)
    return sink.getvalue()


@dataclass
class UsersData:
    uks: np.ndarray  # (n, 32) uint8
    masks: np.ndarray  # (n, ceil(m/8)) uint8
    starts: np.ndarray  # (n + 1,) int64
    amounts: np.ndarray  # (H, 32) uint8
    meta: dict[str, Any]


def _fixed_column(column: pa.Array, n: int) -> np.ndarray:
    width = column.type.byte_width
    buffer = column.buffers()[1]
    if buffer is None or n == 0:
        return np.zeros((n, width), dtype=np.uint8)
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return raw[column.offset * width : (column.offset + n) * width].reshape(n, width)


def decode_users(data: bytes, where: str, m: int) -> UsersData:
    """The inverse of ``encode_users``; raises ``BundleError`` naming ``where`` for anything else (other
    columns, a mask of another width, amounts that are not 32 bytes)."""
    try:
        table = pq.ParquetFile(io.BytesIO(data)).read()
        meta = json.loads(table.schema.metadata[META_KEY])
        if tuple(table.column_names) != COLUMNS:
            raise ValueError(f"columns are {table.column_names}, expected {list(COLUMNS)}")
        n = table.num_rows
        uk = table.column("uk").combine_chunks()
        held = table.column("held").combine_chunks()
        lists = table.column("amounts").combine_chunks()
        if uk.type != pa.binary(32) or held.type != pa.binary((m + 7) // 8):
            raise ValueError(f"uk is {uk.type}, held is {held.type}; expected 32 and {(m + 7) // 8} bytes")
        if lists.type != pa.list_(pa.binary(32)) or lists.null_count or uk.null_count or held.null_count:
            raise ValueError(f"amounts is {lists.type} (nulls: {lists.null_count}); expected lists of 32 bytes")
        offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
        values = lists.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])) if n else lists.values.slice(0, 0)
        return UsersData(_fixed_column(uk, n), _fixed_column(held, n), offsets - offsets[0],
                         _fixed_column(values, len(values)), meta)
    except (pa.ArrowException, KeyError, TypeError, ValueError, OSError) as exc:
        raise BundleError(f"{where}: not a valid user file ({exc})") from None
