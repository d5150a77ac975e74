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
from typing import Any, Iterator, Mapping, Sequence, TypedDict, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import BadValue, InputError
from ..formats.assets import Asset
from ..formats.columns import amounts_to_u128, check_amount_type, first_index, is_text
from ..protocol.amounts import U128_LIMIT
from ..storage import fs as storage
from .heights import HEIGHTS_FILE, hold_heights, parse_heights

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


class Amounts(Sequence[tuple[str, int]]):
    """Every row's ``(asset, smallest units)`` in input order, held as columns: the asset symbols and
    the two 64-bit words of each amount. Reads as a sequence of pairs."""

    def __init__(self, assets: pa.Array, hi: np.ndarray, lo: np.ndarray) -> None:
        self.assets = assets
        self.hi = hi
        self.lo = lo

    def __len__(self) -> int:
        return len(self.lo)

    @overload
    def __getitem__(self, i: int) -> tuple[str, int]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, int]]: ...

    def __getitem__(self, i: int | slice) -> tuple[str, int] | list[tuple[str, int]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.assets[i].as_py(), (int(self.hi[i]) << 64) | int(self.lo[i])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        step = 65_536
        for a in range(0, len(self), step):
            symbols = self.assets.slice(a, step).to_pylist()
            values = units(self.hi[a:a + step], self.lo[a:a + step])
            yield from zip(symbols, values, strict=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Amounts({len(self)} rows)"


def units(hi: np.ndarray, lo: np.ndarray) -> list[int]:
    """The amounts whose two 64-bit words are ``hi`` and ``lo``, as integers."""
    return [(h << 64) | v for h, v in zip(hi.tolist(), lo.tolist(), strict=True)]


def word_sum(hi: np.ndarray, lo: np.ndarray) -> int:
    """The exact sum of the amounts of words ``hi``, ``lo`` (32-bit halves summed apart: no overflow
    below 2^32 rows)."""
    half = np.uint64(32)
    low = np.uint64(0xFFFFFFFF)
    parts = [int((w & low).sum()) + (int((w >> half).sum()) << 32) for w in (lo, hi)]
    return parts[0] + (parts[1] << 64)


@dataclass
class Reserves:
    """Reserve totals per asset symbol (smallest units), and what they were drawn from."""

    totals: dict[str, int]
    addresses: int
    per_asset_addresses: dict[str, int] = field(default_factory=dict)
    amounts: Sequence[tuple[str, int]] = field(default_factory=list)
    """(asset, smallest units) of every row, in input order (files sorted, rows in file order): an
    ``Amounts`` from ``load_reserves``."""


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


KEY_COLUMNS = ("chain", "address", "asset")
TOTAL_COLUMNS = (*KEY_COLUMNS, "balance", "height")
"""What the reserves' totals are read from (``load_reserves`` reads no other column)."""


def load_reserves(url: str, assets: Sequence[Asset], storage_options: Mapping[str, Any] | None = None) -> Reserves:
    """Read, validate and total the reserves at ``url`` (a file or a directory of ``*.parquet``).

    Errors name the file, the row (0-based, within the file) and the value: nulls or
    empty strings, an asset not in the asset file, a negative, over-precise or
    ``>= 2^128`` balance, a duplicate (chain, address, asset), a total ``>= 2^128``.
    """
    fs, _ = storage.open_fs(url, storage_options)
    files = []
    for path in parquet_files(check_reserves(url, storage_options)):
        with fs.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            files.append((path, pf.read(columns=[c for c in TOTAL_COLUMNS if c in pf.schema_arrow.names])))
    declared, source = declared_heights(url, storage_options)
    return total_reserves(files, assets, declared, source)


def _blank(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Where ``str.strip()`` leaves nothing of the value (only strings without a printable ASCII
    character are looked at one by one)."""
    out = np.zeros(len(column), bool)
    maybe = np.flatnonzero(~pc.match_substring_regex(column, "[!-~]").to_numpy(zero_copy_only=False))
    if len(maybe):
        values = column.take(pa.array(maybe)).to_pylist()
        out[maybe] = [not v.strip() for v in values]
    return out


def _first_rows(tables: Sequence[pa.Table], candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Over the files' rows in order: the first row with the same (chain, address, asset) as each
    row, and each row's own position (a group-by over the three columns' dictionary codes).
    ``candidates``: the rows that may repeat another's key (a superset of the repeated rows, all of
    them); the others are their own first row, unlooked at."""
    n = sum(t.num_rows for t in tables)
    starts = np.cumsum([0] + [t.num_rows for t in tables])
    picked = None if candidates is None else np.flatnonzero(candidates)
    mine = [None if picked is None else
            pa.array(picked[(picked >= starts[k]) & (picked < starts[k + 1])] - starts[k]) for k in range(len(tables))]
    keys = []
    for c in KEY_COLUMNS:  # the candidates' values alone, taken before any copy
        parts = [(t.column(c) if rows is None else t.column(c).take(rows)).combine_chunks()
                 for t, rows in zip(tables, mine, strict=True)]
        joined = pa.concat_arrays([p.cast(pa.large_string()) for p in parts]) if parts else pa.array([], pa.large_string())
        encoded = pc.dictionary_encode(joined)
        keys.append((encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64) + 1,
                     len(encoded.dictionary) + 1))
    (chain, n_chain), (address, n_address), (asset, n_asset) = keys
    _, pair = np.unique(chain * n_asset + asset, return_inverse=True)
    _, first, inverse = np.unique(pair.astype(np.int64) * n_address + address, return_index=True, return_inverse=True)
    if picked is None:
        return first[inverse.reshape(-1)], np.arange(n)
    out = np.arange(n)
    out[picked] = picked[first[inverse.reshape(-1)]]
    return out, np.arange(n)


def _plain_text(table: pa.Table) -> pa.Table:
    """``table`` with its chain, address and asset as plain strings (as they are when they are: no copy)."""
    for c in KEY_COLUMNS:
        column = table.column(c)
        if column.type != pa.string():
            table = table.set_column(table.column_names.index(c), c, column.cast(pa.string()))
    return table


def _held_heights(files: Sequence[tuple[str, pa.Table]]) -> pa.ChunkedArray | list[int | None]:
    """Every row's height (null where the file has no column), as int64, or as integers when one
    does not fit."""
    try:  # the chunks themselves (a list of chunked arrays would be converted value by value)
        return pa.chunked_array([chunk for _, t in files
                                 for chunk in (t.column("height").cast(pa.int64()).chunks if "height" in t.column_names
                                               else [pa.nulls(t.num_rows, pa.int64())])], pa.int64())
    except pa.ArrowInvalid:
        return [h for _, t in files for h in (t.column("height").to_pylist() if "height" in t.column_names
                                               else [None] * t.num_rows)]


def total_reserves(files: Sequence[tuple[str, pa.Table]], assets: Sequence[Asset], declared: Mapping[str, int] | None,
                   source: str, candidates: np.ndarray | None = None) -> Reserves:
    """``load_reserves`` once the files are read: ``files`` are each file's path and its columns
    (``TOTAL_COLUMNS``; ``height`` optional), in order; ``declared`` and ``source`` the reserves'
    heights (``declared_heights``). The checks run file by file, each file's rows in order, and the
    first row that fails one is named, as a row-by-row reading would name it. ``candidates``: the
    rows (over all files) among which the same (chain, address, asset) may be written twice, every
    such row among them (``ownership.Ownership.repeats``); None: every row."""
    decimals = {a.symbol: a.decimals for a in assets}
    files = [(path, _plain_text(table)) for path, table in files]
    totals: dict[str, int] = {}
    per_asset: dict[str, int] = {}
    his: list[np.ndarray] = []
    los: list[np.ndarray] = []
    first, at = _first_rows([t for _, t in files], candidates)
    starts = np.cumsum([0] + [t.num_rows for _, t in files])
    for n, (path, table) in enumerate(files):
        where = f"reserves {path}"
        for c in KEY_COLUMNS:
            col = table.column(c)
            if col.null_count:
                raise InputError(f"{where}, row {first_index(col.is_null())}: null {c}")
        asset_column = table.column("asset").combine_chunks()
        blank = _blank(table.column("chain")) | _blank(table.column("address"))
        unknown = ~pc.is_in(asset_column, value_set=pa.array(sorted(decimals), pa.string())).to_numpy(zero_copy_only=False)
        lo_row, hi_row = int(starts[n]), int(starts[n + 1])
        again = first[lo_row:hi_row] < at[lo_row:hi_row]
        refused = np.flatnonzero(blank | unknown | again)
        if len(refused):
            i = int(refused[0])
            if blank[i]:
                raise InputError(f"{where}, row {i}: empty chain or address")
            symbol = asset_column[i].as_py()
            if unknown[i]:
                raise InputError(f"{where}, row {i}: asset {symbol!r} is not in the asset file "
                                 f"(declared: {sorted(decimals)})")
            j = int(first[lo_row + i])
            k = int(np.searchsorted(starts, j, side="right")) - 1
            key = (table.column("chain")[i].as_py(), table.column("address")[i].as_py(), symbol)
            raise InputError(f"{where}, row {i}: duplicate (chain, address, asset) = {key!r}; "
                             f"first seen at {files[k][0]} row {j - int(starts[k])}")
        balance = table.column("balance").combine_chunks()
        hi = np.zeros(table.num_rows, np.uint64)
        lo = np.zeros(table.num_rows, np.uint64)
        symbols = pc.unique(asset_column).to_pylist()
        for symbol in sorted(symbols):
            idx = pc.indices_nonzero(pc.equal(asset_column, symbol))
            try:
                words = amounts_to_u128(balance.take(idx), decimals[symbol])
            except BadValue as exc:
                raise InputError(f"{where}, row {idx[exc.index].as_py()}: balance of {symbol}: {exc.reason}") from None
            rows = idx.to_numpy()
            hi[rows], lo[rows] = words[:, 0], words[:, 1]
            total = totals.get(symbol, 0) + word_sum(words[:, 0], words[:, 1])
            if total >= U128_LIMIT:
                raise InputError(f"reserves: the total of {symbol} overflows 2^128")
            totals[symbol] = total
            per_asset[symbol] = per_asset.get(symbol, 0) + len(idx)
        his.append(hi)
        los.append(lo)
    chains = pa.chunked_array([chunk for _, t in files for chunk in t.column("chain").chunks], pa.string())
    heights = _held_heights(files)
    names = [f"reserves {path}" for path, _ in files]

    def row_name(i: int) -> str:
        k = int(np.searchsorted(starts, i, side="right")) - 1
        return f"{names[k]}, row {i - int(starts[k])}"

    hold_heights(chains, heights, declared, source, row_name)
    symbols_column = pa.concat_arrays([t.column("asset").combine_chunks() for _, t in files]) if files \
        else pa.array([], pa.string())
    return Reserves(totals, int(starts[-1]), per_asset,
                    Amounts(symbols_column, np.concatenate(his) if his else np.zeros(0, np.uint64),
                            np.concatenate(los) if los else np.zeros(0, np.uint64)))
