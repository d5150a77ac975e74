"""The on-storage shuffle: rows move from read tasks to bucket tasks through files, not memory.

Each read task writes one Arrow IPC file holding one record batch per group
(``parts/fNNNNNN.arrow``); the task that builds a group's buckets reads its batch from every
such file (random access: only that batch's bytes are fetched), merges and sorts them. The
long layout, whose rows must first be folded into users, goes through one more step: a task
per group merges its rows into users and writes ``groups/gNNNNN.arrow``. Every task's memory is
bounded by the size of a fragment or a group, never the snapshot, and the cluster holds no data
between stages.

Amounts travel sparse: most users hold a few of the assets, so each row carries a bit mask of
the assets it holds and only those amounts (a list column), not ``16 m`` bytes of mostly zeros.
The files are not compressed: what remains is user keys (random) and non-zero amounts.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..storage import fs as storage
from ..storage import private
from ..storage.bundle import Bundle
from .rows import Part, SparseAmounts


@dataclass
class Prepared:
    """One group's users, ascending by ``uk``, one row per user."""

    uk: np.ndarray  # (n, 32)
    sums: np.ndarray  # (n, m, 2)


def fragment_file(index: int) -> str:
    return f"parts/f{index:06d}.arrow"


def group_file(group: int) -> str:
    return f"groups/g{group:05d}.arrow"


def _fixed(array: np.ndarray, width: int) -> pa.Array:
    raw = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(raw) // width, [None, pa.py_buffer(raw)])


def _unfixed(column: pa.Array, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """The fixed-size binary column as a native array of ``shape`` per row (a copy)."""
    width = column.type.byte_width
    n = len(column)
    buffer = column.buffers()[1]
    if buffer is None or n == 0:
        return np.zeros((n, *shape), dtype=np.dtype(dtype).newbyteorder("="))
    raw = np.frombuffer(buffer, dtype=np.uint8)[column.offset * width : (column.offset + n) * width]
    return raw.view(dtype).reshape((n, *shape)).astype(np.dtype(dtype).newbyteorder("="))


def sparse_columns(amounts: SparseAmounts) -> dict[str, pa.Array]:
    """The held assets of each row as a bit mask, and the list of its non-zero amounts."""
    n, m = amounts.held.shape
    mask = np.packbits(amounts.held, axis=1, bitorder="little")
    flat = amounts.flat.astype("<u8")
    return {
        "held": _fixed(mask, mask.shape[1]) if n else pa.array([], pa.binary((m + 7) // 8)),
        "amounts": pa.ListArray.from_arrays(pa.array(amounts._starts.astype(np.int32), pa.int32()),
                                            _fixed(flat, 16) if len(flat) else pa.array([], pa.binary(16))),
    }


def sparse_amounts(batch: pa.RecordBatch, m: int) -> SparseAmounts:
    """The inverse of ``sparse_columns``."""
    n = batch.num_rows
    if n == 0:
        return SparseAmounts(np.zeros((0, m), bool), np.zeros((0, 2), np.uint64))
    held = np.unpackbits(_unfixed(batch.column("held"), "u1", ((m + 7) // 8,)), axis=1, count=m,
                         bitorder="little").view(bool)
    amounts = batch.column("amounts")
    first, last = amounts.offsets[0].as_py(), amounts.offsets[-1].as_py()
    return SparseAmounts(held, _unfixed(amounts.values.slice(first, last - first), "<u8", (2,)))


def _part_batch(part: Part) -> pa.RecordBatch:
    columns: dict[str, pa.Array] = {
        "uk": _fixed(part.uk, 32),
        "file_index": pa.array(part.file_index, pa.int32()),
        "row": pa.array(part.row, pa.int64()),
    }
    if isinstance(part.values, SparseAmounts):
        columns.update(sparse_columns(part.values))
    else:
        columns["amount"] = _fixed(part.values.astype("<u8"), 16)
        assert part.asset_index is not None
        columns["asset_index"] = pa.array(part.asset_index, pa.int32())
    return pa.RecordBatch.from_pydict(columns)


def _write(scratch: Bundle, name: str, batches: list[pa.RecordBatch]) -> None:
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    scratch.write(name, sink.getvalue())


def write_parts(scratch: Bundle, index: int, parts: list[Part]) -> None:
    """One IPC file, batch ``g`` holding the fragment's rows of group ``g``."""
    _write(scratch, fragment_file(index), [_part_batch(p) for p in parts])


def read_part_batch(scratch: Bundle, index: int, group: int) -> pa.RecordBatch:
    """Group ``group``'s record batch of fragment ``index``'s shuffle file (memory-mapped when local)."""

    def read() -> pa.RecordBatch:
        if storage.is_local(scratch.fs):
            return pa.ipc.open_file(pa.memory_map(scratch.file(fragment_file(index)))).get_batch(group)
        with scratch.fs.open(scratch.file(fragment_file(index)), "rb") as f:
            return pa.ipc.open_file(f).get_batch(group)

    return storage.retrying(read)


def read_part_batches(scratch: Bundle, index: int) -> list[pa.RecordBatch]:
    """Every group's record batch of fragment ``index``'s shuffle file, the file opened once."""

    def read() -> list[pa.RecordBatch]:
        source: Any = (pa.memory_map(scratch.file(fragment_file(index))) if storage.is_local(scratch.fs)
                       else scratch.fs.open(scratch.file(fragment_file(index)), "rb"))
        with source:
            reader = pa.ipc.open_file(source)
            return [reader.get_batch(g) for g in range(reader.num_record_batches)]

    return storage.retrying(read)


def read_part(scratch: Bundle, index: int, group: int, m: int) -> Part:
    """Group ``group``'s rows of fragment ``index``; ``m`` assets (wide) or 0 (long)."""
    batch = read_part_batch(scratch, index, group)
    long = "asset_index" in batch.schema.names
    return Part(
        _unfixed(batch.column("uk"), "u1", (32,)),
        _unfixed(batch.column("amount"), "<u8", (2,)) if long else sparse_amounts(batch, m),
        batch.column("asset_index").to_numpy().astype(np.int32) if long else None,
        batch.column("file_index").to_numpy().astype(np.int32),
        batch.column("row").to_numpy().astype(np.int64),
    )


def write_prepared(scratch: Bundle, group: int, prepared: Prepared) -> None:
    batch = pa.RecordBatch.from_pydict({"uk": _fixed(prepared.uk, 32),
                                        **sparse_columns(SparseAmounts.from_dense(prepared.sums))})
    _write(scratch, group_file(group), [batch])


def read_prepared(scratch: Bundle, group: int, m: int, uk_only: bool = False) -> Prepared:
    def read() -> pa.RecordBatch:
        with scratch.fs.open(scratch.file(group_file(group)), "rb") as f:
            return pa.ipc.open_file(f).get_batch(0)

    batch = storage.retrying(read)
    uk = _unfixed(batch.column("uk"), "u1", (32,))
    return Prepared(uk, np.zeros((0, m, 2), np.uint64) if uk_only else sparse_amounts(batch, m).dense())


# ------------------------------------------------------------------ por-v3: leaves on their way to the trees


@dataclass(frozen=True)
class LeafFile:
    """One task's leaves (fragments or padding leaves) in a scratch IPC file, partitioned by asset and
    by the first bits of the leaf key: asset ``j``'s partition ``p`` (of ``parts[j] = (bits, first)``)
    is record batch ``first + p``; ``parts[j]`` is None for an asset without leaves in this file.
    Each batch holds ``key`` (32 bytes) and ``amounts`` (``u128be(equity) ‖ u128be(debt)``)."""

    name: str
    parts: tuple[tuple[int, int] | None, ...]


def leaf_file(kind: str, index: int) -> str:
    return f"leaves/{kind}{index:06d}.arrow"


def _write_streamed(scratch: Bundle, name: str, batches: list[pa.RecordBatch]) -> None:
    """``_write`` without holding the file in memory first (local scratch: written straight to a fresh
    owner-only name, then renamed into place, as ``storage.private.write_file`` does)."""
    if not storage.is_local(scratch.fs):
        _write(scratch, name, batches)
        return
    target = scratch.file(name)

    def put() -> None:
        private.make_dirs(scratch.fs, target.rsplit("/", 1)[0], True)
        partial = f"{target}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private.PRIVATE_FILE))
        try:
            with pa.OSFile(partial, "w") as sink, pa.ipc.new_file(sink, batches[0].schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise

    storage.retrying(put)


def write_leaves(scratch: Bundle, name: str, keys: np.ndarray, amounts: np.ndarray, bounds: np.ndarray) -> None:
    """Rows ``bounds[b]:bounds[b+1]`` of ``keys`` and ``amounts`` (both (n, 32) uint8) as batch ``b``."""
    batches = []
    for b in range(len(bounds) - 1):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        batches.append(pa.RecordBatch.from_pydict({
            "key": _fixed(keys[lo:hi], 32) if hi > lo else pa.array([], pa.binary(32)),
            "amounts": _fixed(amounts[lo:hi], 32) if hi > lo else pa.array([], pa.binary(32)),
        }))
    if not batches:
        batches = [pa.RecordBatch.from_pydict({"key": pa.array([], pa.binary(32)),
                                               "amounts": pa.array([], pa.binary(32))})]
    _write_streamed(scratch, name, batches)


def fixed_view(column: pa.Array) -> np.ndarray:
    """A fixed-size binary column's rows as an (n, width) uint8 view of its buffer (no copy)."""
    width, n = column.type.byte_width, len(column)
    buffer = column.buffers()[1]
    if buffer is None or n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    return np.frombuffer(buffer, dtype=np.uint8)[column.offset * width:(column.offset + n) * width].reshape(n, width)


def read_leaves(scratch: Bundle, name: str, wanted: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each list of batch numbers in ``wanted``, those batches of leaf file ``name`` concatenated:
    ``(keys, amounts)`` (n, 32) uint8 each. The file is opened once (memory-mapped when local)."""
    if not any(wanted):
        return [(np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8)) for _ in wanted]

    def read() -> list[tuple[np.ndarray, np.ndarray]]:
        if storage.is_local(scratch.fs):
            source: Any = pa.memory_map(scratch.file(name))
        else:
            source = scratch.fs.open(scratch.file(name), "rb")
        with source:
            reader = pa.ipc.open_file(source)
            out = []
            for batches in wanted:
                got = [reader.get_batch(b) for b in batches]
                keys = [fixed_view(b.column(0)) for b in got]
                amounts = [fixed_view(b.column(1)) for b in got]
                out.append((np.concatenate(keys) if keys else np.zeros((0, 32), np.uint8),
                            np.concatenate(amounts) if amounts else np.zeros((0, 32), np.uint8)))
            return out

    return storage.retrying(read)
