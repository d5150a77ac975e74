"""Writing test snapshots as real Parquet files."""

from __future__ import annotations

import json
import os
from decimal import Context, Decimal
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

EXACT = Context(prec=200)  # exact whole-unit decimals (the default context rounds at 28 digits)
SECRET_HEX = "5e" * 32  # a test-only secret; never a production value


def write_secret(directory: str, value: str = SECRET_HEX) -> str:
    path = os.path.join(directory, "secret.hex")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def write_assets(directory: str, assets: dict[str, int]) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "assets.json")
    with open(path, "w") as f:
        json.dump(assets, f)
    return path


def amount_array(values: Sequence[int], decimals: int, kind: str) -> pa.Array:
    """``values`` in smallest units as a column of ``kind``: int64, uint64, dec128 or dec256 (whole units)."""
    if kind == "int64":
        return pa.array(values, pa.int64())
    if kind == "uint64":
        return pa.array(values, pa.uint64())
    scaled = [Decimal(v).scaleb(-decimals, EXACT) for v in values]
    if kind == "dec128":
        return pa.array(scaled, pa.decimal128(38, decimals))
    return pa.array(scaled, pa.decimal256(76, decimals))


def write_wide(path: str, ids: Sequence[object], columns: dict[str, pa.Array]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    id_arr = pa.array(ids, pa.int64() if ids and isinstance(ids[0], int) else pa.string())
    pq.write_table(pa.table({"user_id": id_arr, **columns}), path)


def write_table(path: str, table: pa.Table) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path)
