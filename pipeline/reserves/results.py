"""Per-row results written for an auditor: Parquet (``.parquet``) or JSON lines (``.jsonl``) by the
file's extension, written under a temporary name and moved into place, never over an existing file."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pyarrow as pa
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
    fs, path = storage.open_fs(out, storage_options)
    if fs.exists(path):
        raise InputError(f"{out}: already exists; refusing to overwrite", parameter="out")
    picked = [{k: r[k] for k in schema.names} for r in rows]
    if out.endswith(".parquet"):
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(picked, schema=schema), sink)
        data = sink.getvalue().to_pybytes()
    elif out.endswith(".jsonl"):
        data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in picked).encode("utf-8")
    else:
        raise InputError("must end with .parquet or .jsonl", parameter="out", value=repr(out))
    partial = path + ".partial"
    with fs.open(partial, "wb") as f:
        f.write(data)
    fs.mv(partial, path)
