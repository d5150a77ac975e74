"""The reserves input: Parquet rows ``chain, address, asset, balance[, signature, message]``.

``balance`` is an integer in the asset's smallest units or a decimal in whole
units (converted exactly with the asset's decimals from the asset file; floats
are refused). ``signature`` and ``message`` (an ownership proof for the address)
are optional, carried through and counted; nothing verifies them yet (the report says so).
Every (chain, address, asset) appears once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import BadValue, InputError
from ..formats.assets import Asset
from ..formats.columns import amounts_to_u128, check_amount_type, is_text
from ..protocol.amounts import U128_LIMIT
from ..storage import fs as storage

REQUIRED = ("chain", "address", "asset", "balance")
OPTIONAL = ("signature", "message")


@dataclass
class Reserves:
    """Reserve totals per asset symbol (smallest units), and what they were drawn from."""

    totals: dict[str, int]
    addresses: int
    with_ownership_proof: int
    per_asset_addresses: dict[str, int] = field(default_factory=dict)


def _check_schema(schema: pa.Schema, where: str) -> None:
    names = list(schema.names)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(f"{where}: reserves need column(s) {missing} (columns: {names})")
    unknown = sorted(set(names) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InputError(f"{where}: unknown reserves column(s) {unknown}; expected {list(REQUIRED + OPTIONAL)}")
    for c in ("chain", "address", "asset"):
        if not is_text(schema.field(c).type):
            raise InputError(f"{where}: column {c!r} has type {schema.field(c).type}; expected string")
    check_amount_type(schema.field("balance").type, "balance", where)
    for c in OPTIONAL:
        if c in names and not (is_text(schema.field(c).type) or pa.types.is_binary(schema.field(c).type)):
            raise InputError(f"{where}: column {c!r} has type {schema.field(c).type}; expected string or binary")


def check_reserves(url: str, storage_options: Mapping[str, Any] | None = None) -> storage.InputFiles:
    """Cheap checks from file footers (files exist, are Parquet, have the right columns and
    types); returns the files. Run before a long build so a typo fails in seconds."""
    fs, root = storage.open_fs(url, storage_options)
    listing = storage.list_inputs(fs, root, url, "reserves")
    for path in listing.files:
        try:
            with fs.open(path, "rb") as f:
                schema = pq.ParquetFile(f).schema_arrow
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"reserves {path}: not a readable Parquet file ({exc})") from None
        _check_schema(schema, f"reserves {path}")
    return listing


def load_reserves(url: str, assets: Sequence[Asset], storage_options: Mapping[str, Any] | None = None) -> Reserves:
    """Read, validate and total the reserves at ``url`` (a file or a directory of ``*.parquet``).

    Errors name the file, the row (0-based, within the file) and the value: nulls or
    empty strings, an asset not in the asset file, a negative, over-precise or
    ``>= 2^128`` balance, a duplicate (chain, address, asset), a total ``>= 2^128``.
    """
    fs, root = storage.open_fs(url, storage_options)
    decimals = {a.symbol: a.decimals for a in assets}
    seen: dict[tuple[str, str, str], str] = {}
    totals: dict[str, int] = {}
    per_asset: dict[str, int] = {}
    signed = 0
    rows = 0
    for path in check_reserves(url, storage_options).files:
        where = f"reserves {path}"
        with fs.open(path, "rb") as f:
            table = pq.read_table(f)
        for c in ("chain", "address", "asset"):
            col = table.column(c).combine_chunks()
            if col.null_count:
                i = col.is_null().to_pylist().index(True)
                raise InputError(f"{where}, row {i}: null {c}")
        chains = table.column("chain").to_pylist()
        addresses = table.column("address").to_pylist()
        symbols = table.column("asset").to_pylist()
        balance = table.column("balance").combine_chunks()
        for i, (chain, address, symbol) in enumerate(zip(chains, addresses, symbols, strict=True)):
            if not chain.strip() or not address.strip():
                raise InputError(f"{where}, row {i}: empty chain or address")
            if symbol not in decimals:
                raise InputError(f"{where}, row {i}: asset {symbol!r} is not in the asset file "
                                 f"(declared: {sorted(decimals)})")
            key = (chain, address, symbol)
            if key in seen:
                raise InputError(f"{where}, row {i}: duplicate (chain, address, asset) = {key!r}; "
                                 f"first seen at {seen[key]}")
            seen[key] = f"{path} row {i}"
        asset_column = table.column("asset")
        for symbol in sorted(set(symbols)):
            idx = pc.indices_nonzero(pc.equal(asset_column, symbol))
            try:
                words = amounts_to_u128(balance.take(idx), decimals[symbol])
            except BadValue as exc:
                raise InputError(f"{where}, row {idx[exc.index].as_py()}: balance of {symbol}: {exc.reason}") from None
            total = totals.get(symbol, 0) + sum((int(hi) << 64) | int(lo) for hi, lo in words.tolist())
            if total >= U128_LIMIT:
                raise InputError(f"reserves: the total of {symbol} overflows 2^128")
            totals[symbol] = total
            per_asset[symbol] = per_asset.get(symbol, 0) + len(idx)
        if "signature" in table.column_names and "message" in table.column_names:
            both = pc.and_(table.column("signature").is_valid(), table.column("message").is_valid())
            signed += pc.sum(both.cast(pa.int64())).as_py() or 0
        rows += table.num_rows
    return Reserves(totals, rows, signed, per_asset)
