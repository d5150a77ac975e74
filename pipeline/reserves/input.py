"""The reserves input: Parquet rows ``chain, address, asset, balance`` and the ownership proof
columns ``height, signatures, message, script, owners`` (``schemas/reserves.md``).

``balance`` is an integer in the asset's smallest units or a decimal in whole
units (converted exactly with the asset's decimals from the asset file; floats
are refused). ``signatures`` is a list of strings (one per signing key), ``owners`` a list of
contract-wallet owner addresses, ``script`` the redeem/witness script or public key (hex),
``message`` the signed text (null: this period's challenge), ``height`` the snapshot block height.
``pipeline.reserves.ownership`` verifies the proofs, and finds one wallet listed twice however
it is spelled; here every exact (chain, address, asset) appears once. A reserves directory declares
one snapshot height per chain in ``heights.json`` at its top (``pipeline.reserves.heights``): every
row is held to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, TypedDict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import BadValue, InputError
from ..formats.assets import Asset
from ..formats.columns import amounts_to_u128, check_amount_type, is_text
from ..protocol.amounts import U128_LIMIT
from ..storage import fs as storage
from .heights import HEIGHTS_FILE, hold_rows, parse_heights

REQUIRED = ("chain", "address", "asset", "balance")
OPTIONAL = ("height", "signatures", "message", "script", "owners")
FORMATS = ("parquet", "okx-csv")
"""The reserves' layouts: our Parquet, or the CSV layout a major exchange publishes."""
PUBLISHED = ("row", "status", "reason", "note")
"""Columns of a published ``reserves.parquet`` (the statuses it was published with): read past on
input, so that anyone can re-verify the published file; the statuses are always recomputed."""
_TEXT = ("message", "script")
_LISTS = ("signatures", "owners")


class ReserveRow(TypedDict):
    """One reserve row as its ownership proof is checked (a Parquet row, or ``okx_csv.OkxRow``, which
    holds these fields and more); an absent optional column reads as None or an empty list."""

    chain: str
    """As written (``chains.find_chain`` decides whether it is on the list)."""
    address: str
    """As written."""
    asset: str
    balance: str
    """As text: an integer of smallest units, or a decimal of whole units, as written."""
    height: int | None
    """The snapshot block height, or None."""
    signatures: list[str]
    """One per signing key."""
    message: str | None
    """The signed text (None: this period's challenge)."""
    script: str | None
    """The redeem/witness script or public key (hex), or None."""
    owners: list[str]
    """A contract wallet's owner addresses (one signature each, in order)."""


class _HeldRow(TypedDict):
    """A row as ``heights.hold_rows`` holds it to its chain's height, and where it is."""

    chain: str
    height: int | None
    where: str


@dataclass
class Reserves:
    """Reserve totals per asset symbol (smallest units), and what they were drawn from."""

    totals: dict[str, int]
    addresses: int
    per_asset_addresses: dict[str, int] = field(default_factory=dict)
    amounts: list[tuple[str, int]] = field(default_factory=list)
    """(asset, smallest units) of every row, in input order (files sorted, rows in file order)."""


def check_format(fmt: str) -> None:
    """``fmt`` is one of ``FORMATS``."""
    if fmt not in FORMATS:
        raise InputError(f"is not one of {', '.join(FORMATS)}", parameter="format", value=repr(fmt))


def _check_schema(schema: pa.Schema, where: str) -> None:
    names = list(schema.names)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(f"{where}: reserves need column(s) {missing} (columns: {names})")
    unknown = sorted(set(names) - set(REQUIRED) - set(OPTIONAL) - set(PUBLISHED))
    if unknown:
        raise InputError(f"{where}: unknown reserves column(s) {unknown}; expected {list(REQUIRED + OPTIONAL)}")
    for c in ("chain", "address", "asset"):
        if not is_text(schema.field(c).type):
            raise InputError(f"{where}: column {c!r} has type {schema.field(c).type}; expected string")
    check_amount_type(schema.field("balance").type, "balance", where)
    for c in _TEXT:
        if c in names and not is_text(schema.field(c).type):
            raise InputError(f"{where}: column {c!r} has type {schema.field(c).type}; expected string")
    for c in _LISTS:
        if c in names:
            t = schema.field(c).type
            if not ((pa.types.is_list(t) or pa.types.is_large_list(t)) and is_text(t.value_type)):
                raise InputError(f"{where}: column {c!r} has type {t}; expected a list of strings")
    if "height" in names and not pa.types.is_integer(schema.field("height").type):
        raise InputError(f"{where}: column 'height' has type {schema.field('height').type}; expected an integer")


def parquet_files(listing: storage.InputFiles) -> list[str]:
    """The data files of a reserves listing (its ``files`` also hold ``heights.json``, to be archived)."""
    return [p for p in listing.files if p.endswith(".parquet")]


def declared_heights(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[dict[str, int] | None, str]:
    """The reserves' declaration (chain -> height) and where it is; None for a single file or a
    directory without ``heights.json`` (then the rows' heights must agree per chain)."""
    fs, root = storage.open_fs(url, storage_options)
    path = storage.join(root, HEIGHTS_FILE)
    if fs.isdir(root) and fs.exists(path):
        shown = f"{url.rstrip('/')}/{HEIGHTS_FILE}"
        return parse_heights(storage.read_bytes(fs, path, shown), shown), shown
    return None, "the rows"


def check_reserves(url: str, storage_options: Mapping[str, Any] | None = None) -> storage.InputFiles:
    """Cheap checks from file footers (files exist, are Parquet, have the right columns and
    types) and of ``heights.json``; returns the files (``heights.json`` last, when there is one).
    Run before a long build so a typo fails in seconds."""
    fs, root = storage.open_fs(url, storage_options)
    listing = storage.list_inputs(fs, root, url, "reserves", companions=(HEIGHTS_FILE,))
    declared, _ = declared_heights(url, storage_options)
    if declared is not None:
        listing = storage.InputFiles([*listing.files, storage.join(root, HEIGHTS_FILE)], listing.ignored)
    for path in parquet_files(listing):
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
    amounts: list[tuple[str, int]] = []
    rows = 0
    held: list[_HeldRow] = []
    for path in parquet_files(check_reserves(url, storage_options)):
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
        row_amounts: dict[int, int] = {}
        heights = table.column("height").to_pylist() if "height" in table.column_names else [None] * table.num_rows
        held += [{"chain": c, "height": h, "where": f"{where}, row {i}"}
                 for i, (c, h) in enumerate(zip(chains, heights, strict=True))]
        for symbol in sorted(set(symbols)):
            idx = pc.indices_nonzero(pc.equal(asset_column, symbol))
            try:
                words = amounts_to_u128(balance.take(idx), decimals[symbol])
            except BadValue as exc:
                raise InputError(f"{where}, row {idx[exc.index].as_py()}: balance of {symbol}: {exc.reason}") from None
            values = [(int(hi) << 64) | int(lo) for hi, lo in words.tolist()]
            row_amounts.update(zip(idx.to_pylist(), values, strict=True))
            total = totals.get(symbol, 0) + sum(values)
            if total >= U128_LIMIT:
                raise InputError(f"reserves: the total of {symbol} overflows 2^128")
            totals[symbol] = total
            per_asset[symbol] = per_asset.get(symbol, 0) + len(idx)
        amounts.extend((symbols[i], row_amounts[i]) for i in range(table.num_rows))
        rows += table.num_rows
    declared, source = declared_heights(url, storage_options)
    hold_rows(held, declared, source, lambda i, r: r["where"])
    return Reserves(totals, rows, per_asset, amounts)
