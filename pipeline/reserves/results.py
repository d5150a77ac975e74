"""Per-row results written for an auditor: Parquet (``.parquet``) or JSON lines (``.jsonl``) by the
file's extension, written under a temporary name and moved into place, never over an existing file.

``write_rows`` writes records (dicts); ``write_table`` the same files from columns (the Parquet
file from the table itself, the JSON lines as ``json.dumps(row, ensure_ascii=False,
sort_keys=True)`` writes each row: assembled column by column, a row with a character JSON escapes
dumped as a dict)."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError
from ..storage import fs as storage


NAMED_ROWS = 5
"""How many failing rows a message names (the per-row results file holds them all)."""


def named_rows(rows: Sequence[Mapping[str, object]], *, file: bool = False, height: bool = False,
               status: bool = False) -> list[str]:
    """The first ``NAMED_ROWS`` rows as messages name them: ``row N [(file)] chain 'address' asset
    [at height H]: [status: ]reason``."""
    return [f"row {r['row']}" + (f" ({r['file']})" if file else "") + f" {r['chain']} {r['address']!r} {r['asset']}"
            + (f" at height {r['height']}" if height else "") + ": " + (f"{r['status']}: " if status else "")
            + str(r["reason"]) for r in rows[:NAMED_ROWS]]


def status_counts(records: Sequence[Mapping[str, Any]], statuses: Sequence[str]) -> dict[str, int]:
    """How many records have each status (every status present, zeros included)."""
    out = dict.fromkeys(statuses, 0)
    for r in records:
        out[r["status"]] += 1
    return out


def write_rows(out: str, rows: Sequence[Mapping[str, object]], schema: pa.Schema,
               storage_options: Mapping[str, Any] | None = None) -> None:
    def chunks() -> list[bytes]:
        picked = [{k: r[k] for k in schema.names} for r in rows]
        if out.endswith(".parquet"):
            return [_parquet(pa.Table.from_pylist(picked, schema=schema))]
        if out.endswith(".jsonl"):
            return ["".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in picked).encode("utf-8")]
        raise InputError("must end with .parquet or .jsonl", parameter="out", value=repr(out))

    _write(out, chunks, storage_options)


def write_table(out: str, table: pa.Table, storage_options: Mapping[str, Any] | None = None) -> None:
    """``write_rows`` of the rows of ``table`` (its schema), from the columns: the same bytes."""
    def chunks() -> Iterable[bytes]:
        if out.endswith(".parquet"):
            return [_parquet(table)]
        if out.endswith(".jsonl"):
            return jsonl_chunks(table)
        raise InputError("must end with .parquet or .jsonl", parameter="out", value=repr(out))

    _write(out, chunks, storage_options)


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _write(out: str, data: Callable[[], Iterable[bytes]], storage_options: Mapping[str, Any] | None) -> None:
    """The chunks ``data()`` gives, to ``out`` under a temporary name, then moved into place."""
    fs, path = storage.open_fs(out, storage_options)
    if fs.exists(path):
        raise InputError(f"{out}: already exists; refusing to overwrite", parameter="out")
    chunks = iter(data())
    partial = path + ".partial"
    with fs.open(partial, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    fs.mv(partial, path)


_ESCAPED = r'[\x00-\x1f"\\]'
"""What ``json.dumps`` writes as an escape in a string (control characters, the quote, the backslash)."""


def jsonl_chunks(table: pa.Table, step: int = 65_536) -> Iterator[bytes]:
    """The JSON lines of ``table``'s rows (``json.dumps(row, ensure_ascii=False, sort_keys=True)``
    and a new line each), ``step`` rows at a time. Strings and integers are written from the
    columns; a row holding a string JSON escapes, and a table of other types, row by row."""
    names = sorted(table.column_names)
    plain = all(pa.types.is_string(table.schema.field(k).type) or pa.types.is_large_string(table.schema.field(k).type)
                or pa.types.is_integer(table.schema.field(k).type) for k in names)
    for a in range(0, table.num_rows, step):
        part = table.slice(a, step)
        if not plain:
            yield "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in part.to_pylist()).encode("utf-8")
            continue
        pieces: list[Any] = []
        special = np.zeros(part.num_rows, bool)
        for k, name in enumerate(names):
            column = part.column(name).combine_chunks()
            pieces.append(("{" if k == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": ")
            if pa.types.is_integer(column.type):
                text = column.cast(pa.string())
            else:
                column = column.cast(pa.string())
                special |= pc.fill_null(pc.match_substring_regex(column, _ESCAPED), False).to_numpy(zero_copy_only=False)
                text = pc.binary_join_element_wise('"', column, '"', "")
            pieces.append(pc.fill_null(text, "null"))
        lines = pc.binary_join_element_wise(*pieces, "}\n", "")
        odd = np.flatnonzero(special)
        if len(odd):
            dumped = [json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in part.take(pa.array(odd)).to_pylist()]
            index = np.arange(part.num_rows)
            index[odd] = part.num_rows + np.arange(len(odd))
            lines = pa.concat_arrays([lines, pa.array(dumped, pa.string())]).take(pa.array(index))
        yield string_bytes(lines)


def string_bytes(lines: pa.Array) -> bytes:
    """The values of a string array, end to end."""
    return string_buffer(lines).to_pybytes()


def string_buffer(lines: pa.Array) -> pa.Buffer:
    """The values of a string array, end to end, without a copy (the array's own data buffer)."""
    data = lines.buffers()[2]
    if not len(lines) or data is None:
        return pa.py_buffer(b"")
    offsets = np.frombuffer(lines.buffers()[1], np.int64 if pa.types.is_large_string(lines.type) else np.int32)
    start, stop = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return data.slice(start, stop - start)
