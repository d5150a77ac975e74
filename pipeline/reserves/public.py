"""The reserves a month publishes: every address with its balance and its ownership status, as
``public/reserves.parquet`` and in the CSV layout existing tools read (``public/reserves.csv``),
and the per-asset sums by status that the report's two ratios come from."""

from __future__ import annotations

import io
from decimal import Context, Decimal
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..ownership.check import BOUND, STATUSES
from ..protocol.amounts import to_units
from .input import Reserves
from .okx_csv import OkxOutRow, write_okx_csv
from .ownership import Ownership

CSV_NAME = "reserves.csv"
PARQUET_NAME = "reserves.parquet"
_EXACT = Context(prec=100)


def status_totals(reserves: Reserves, ownership: Ownership) -> dict[str, dict[str, int]]:
    """asset -> status -> smallest units (every status present, zeros included)."""
    if len(reserves.amounts) != len(ownership.records):
        raise InputError(f"the reserves hold {len(reserves.amounts)} rows but {len(ownership.records)} were verified")
    out: dict[str, dict[str, int]] = {}
    for (symbol, amount), record in zip(reserves.amounts, ownership.records, strict=True):
        if record["asset"] != symbol:
            raise InputError(f"reserve row {record['row']}: verified as {record['asset']}, read as {symbol}")
        out.setdefault(symbol, dict.fromkeys(STATUSES, 0))[record["status"]] += amount
    return out


def bound_ratio(liabilities: int, by_status: Mapping[str, int] | None) -> str | None:
    """Bound reserves over liabilities, percent with two decimals rounded down (None without liabilities)."""
    if liabilities == 0:
        return None
    bp = (by_status or {}).get(BOUND, 0) * 10_000 // liabilities
    return f"{bp // 100}.{bp % 100:02d}"


def public_files(reserves: Reserves, ownership: Ownership, rows: Sequence[Mapping[str, Any]],
                 decimals: Mapping[str, int]) -> dict[str, bytes]:
    """The two public files (balances in whole units, exact). ``rows`` are the input rows (chain, address, asset, height, signatures,
    message, script, owners) in input order."""
    records = ownership.records
    table = pa.table({
        "row": pa.array([r["row"] for r in records], pa.int64()),
        "chain": pa.array([r["chain"] for r in rows], pa.string()),
        "address": pa.array([r["address"] for r in rows], pa.string()),
        "asset": pa.array([s for s, _ in reserves.amounts], pa.string()),
        "balance": pa.array([Decimal(v).scaleb(-decimals[s], _EXACT) for s, v in reserves.amounts], pa.decimal256(76, 38)),
        "height": pa.array([rec["height"] for _, rec in zip(rows, records, strict=True)], pa.int64()),
        "signatures": pa.array([list(r.get("signatures") or []) for r in rows], pa.list_(pa.string())),
        "message": pa.array([r.get("message") for r in rows], pa.string()),
        "script": pa.array([r.get("script") for r in rows], pa.string()),
        "owners": pa.array([list(r.get("owners") or []) for r in rows], pa.list_(pa.string())),
        "status": pa.array([r["status"] for r in records], pa.string()),
        "reason": pa.array([r["reason"] for r in records], pa.string()),
        "note": pa.array([r["note"] for r in records], pa.string()),
    })
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=False)
    totals: dict[str, int] = {}
    csv_rows: list[OkxOutRow] = []
    for r, (symbol, amount) in zip(rows, reserves.amounts, strict=True):
        totals[symbol] = totals.get(symbol, 0) + amount
        csv_rows.append({"row": len(csv_rows), "coin": symbol, "chain": r["chain"], "address": r["address"],
                         "balance": to_units(amount, decimals[symbol]),
                         "height": records[len(csv_rows)]["height"],
                         "message": r.get("message"), "signatures": list(r.get("signatures") or []),
                         "script": r.get("script"), "owners": list(r.get("owners") or [])})
    coin_heights: dict[str, set[int | None]] = {}
    for r in csv_rows:
        coin_heights.setdefault(r["coin"], set()).add(r["height"])
    heights = {c: str(next(iter(h))) for c, h in coin_heights.items() if len(h) == 1 and None not in h}
    csv = write_okx_csv(csv_rows, {s: to_units(v, decimals[s]) for s, v in totals.items()}, heights)
    return {CSV_NAME: csv, PARQUET_NAME: sink.getvalue()}


def read_rows(url: str, storage_options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The input rows (proof columns only) in input order, for the public files."""
    from ..storage import fs as storage
    from .input import check_reserves, parquet_files

    fs, _ = storage.open_fs(url, storage_options)
    out: list[dict[str, Any]] = []
    for path in parquet_files(check_reserves(url, storage_options)):
        with fs.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            names = [c for c in ("chain", "address", "height", "signatures", "message", "script", "owners")
                     if c in pf.schema_arrow.names]
            out += pf.read(columns=names).to_pylist()
    return out
