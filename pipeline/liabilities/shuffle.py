"""The on-storage shuffle: rows move from read tasks to group tasks through files, not memory.

Each read task writes one Arrow IPC file holding one record batch per group
(``parts/fNNNNNN.arrow``); each group task reads its batch from every such file
(random access: only that batch's bytes are fetched), merges and sorts them,
and writes ``groups/gNNNNN.arrow``; the bucket tasks read those. Every task's
memory is bounded by the size of a fragment or a group, never the snapshot,
and the cluster holds no data between stages.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..storage import fs as storage
from ..storage.bundle import Bundle
from .rows import Part


@dataclass
class Prepared:
    """One group's users, ascending by ``uk``, one row per user."""

    uk: np.ndarray  # (n, 32)
    sums: np.ndarray  # (n, m, 2)


IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")
"""Shuffle files are compressed: most users hold a few of the assets, so the dense amount columns
are mostly zeros (about 8x fewer bytes written and read)."""


def fragment_file(index: int) -> str:
    return f"parts/f{index:06d}.arrow"


def group_file(group: int) -> str:
    return f"groups/g{group:05d}.arrow"


def _fixed(array: np.ndarray, width: int) -> pa.Array:
    raw = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(raw) // width, [None, pa.py_buffer(raw)])


def _unfixed(column: pa.Array, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    width = column.type.byte_width
    n = len(column)
    raw = np.frombuffer(column.buffers()[1], dtype=np.uint8)[column.offset * width : (column.offset + n) * width]
    return raw.view(dtype).reshape((n, *shape)).copy()


def _part_batch(part: Part) -> pa.RecordBatch:
    values = part.values.astype("<u8", copy=False)
    columns = {
        "uk": _fixed(part.uk, 32),
        "values": _fixed(values, 8 * int(np.prod(values.shape[1:]))),
        "user_id": part.user_ids,
        "file_index": pa.array(part.file_index, pa.int32()),
        "row": pa.array(part.row, pa.int64()),
    }
    if part.asset_index is not None:
        columns["asset_index"] = pa.array(part.asset_index, pa.int32())
    return pa.RecordBatch.from_pydict(columns)


def write_parts(scratch: Bundle, index: int, parts: list[Part]) -> None:
    """One IPC file, batch ``g`` holding the fragment's rows of group ``g``."""
    batches = [_part_batch(p) for p in parts]
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, batches[0].schema, options=IPC_OPTIONS) as writer:
        for batch in batches:
            writer.write_batch(batch)
    scratch.write(fragment_file(index), sink.getvalue())


def read_part(scratch: Bundle, index: int, group: int, values_shape: tuple[int, ...]) -> Part:
    """Group ``group``'s rows of fragment ``index``."""

    def read() -> pa.RecordBatch:
        with scratch.fs.open(scratch.file(fragment_file(index)), "rb") as f:
            return pa.ipc.open_file(f).get_batch(group)

    batch = storage.retrying(read)
    names = batch.schema.names
    return Part(
        _unfixed(batch.column("uk"), "u1", (32,)),
        _unfixed(batch.column("values"), "<u8", values_shape).astype(np.uint64),
        batch.column("asset_index").to_numpy().astype(np.int32) if "asset_index" in names else None,
        batch.column("user_id"),
        batch.column("file_index").to_numpy().astype(np.int32),
        batch.column("row").to_numpy().astype(np.int64),
    )


def write_prepared(scratch: Bundle, group: int, prepared: Prepared) -> None:
    m = prepared.sums.shape[1]
    table = pa.table({"uk": _fixed(prepared.uk, 32), "sums": _fixed(prepared.sums.astype("<u8"), 16 * m)})
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema, options=IPC_OPTIONS) as writer:
        writer.write_table(table)
    scratch.write(group_file(group), sink.getvalue())


def read_prepared(scratch: Bundle, group: int, m: int, uk_only: bool = False) -> Prepared:
    def read() -> pa.Table:
        with scratch.fs.open(scratch.file(group_file(group)), "rb") as f:
            return pa.ipc.open_file(f).read_all()

    table = storage.retrying(read).combine_chunks()
    uk = _unfixed(table.column("uk").chunk(0), "u1", (32,)) if table.num_rows else np.zeros((0, 32), np.uint8)
    if uk_only:
        return Prepared(uk, np.zeros((0, m, 2), np.uint64))
    sums = (_unfixed(table.column("sums").chunk(0), "<u8", (m, 2)).astype(np.uint64)
            if table.num_rows else np.zeros((0, m, 2), np.uint64))
    return Prepared(uk, sums)
