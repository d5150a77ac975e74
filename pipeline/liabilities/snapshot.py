"""Snapshot planning (client side): every check that file footers and headers allow, and the fragments.

A snapshot is a Parquet or a CSV dataset (``schemas/snapshot.md``) in the *wide* layout (``user_id``
plus one column per asset, and optionally ``<SYMBOL>:debt`` columns) or the *long* layout (exactly
``user_id``, ``asset``, ``amount``; or ``user_id``, ``asset``, ``equity``, ``debt``). Planning reads
only Parquet footers; a CSV file is read once, to count its lines and cut it at line ends
(``formats.csv_snapshot``). ``pipeline.liabilities.read`` reads the rows.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from dataclasses import dataclass
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.spec import AbstractFileSystem

from .. import config
from ..errors import InputError, Remedy
from ..formats import csv_snapshot
from ..formats.assets import Asset, parse_assets
from ..formats.columns import check_amount_type, is_text
from ..storage import fs as storage

WIDE = "wide"
LONG = "long"
LAYOUTS = (WIDE, LONG)


def layout_problem(layout: str) -> str | None:
    """Why ``layout`` is not a snapshot layout (None when it is)."""
    return None if layout in LAYOUTS else f"must be {' or '.join(repr(x) for x in LAYOUTS)}"


LONG_COLUMNS = ("user_id", "asset", "amount")
LONG_DEBT_COLUMNS = ("user_id", "asset", "equity", "debt")
"""The long layout with explicit equity and debt (both non-negative)."""
DEBT_SUFFIX = ":debt"
"""Wide layout: ``<SYMBOL>:debt`` holds the debt in ``<SYMBOL>`` (non-negative)."""

PARQUET = "parquet"
CSV = "csv"
FILE_FORMATS = {".parquet": PARQUET, csv_snapshot.SUFFIX: CSV}
"""The data files a snapshot may hold, by the exact end of their names (one format per snapshot)."""
CSV_CHUNK = 8 << 20
"""Bytes read at a time when planning scans a CSV file."""


@dataclass(frozen=True)
class Fragment:
    """A unit of reading: some row groups of one Parquet file, or bytes ``[start, end)`` (whole
    lines) of one CSV file."""

    file_index: int
    row_groups: tuple[int, ...]
    first_row: int
    rows: int
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class SnapshotPlan:
    fs: AbstractFileSystem
    files: tuple[str, ...]
    shown_files: tuple[str, ...]
    layout: str
    assets: tuple[Asset, ...]
    fragments: tuple[Fragment, ...]
    total_rows: int
    ignored: tuple[str, ...] = ()
    """Hidden names below the snapshot directory that were passed over (relative paths)."""
    file_format: str = PARQUET
    """``PARQUET`` or ``CSV``: every file of a snapshot has the same format."""
    columns: tuple[str, ...] = ()
    """The snapshot's column names, in the first file's order."""
    debt_columns: tuple[str, ...] = ()
    """The columns that hold debt explicitly: ``<SYMBOL>:debt`` (wide, in protocol order) or ``debt``
    (long). Empty when debt can only appear as negative amounts. A build of a protocol without debt
    (por-v1, por-v2) can refuse a snapshot that has any."""
    csv_headers: tuple[csv_snapshot.Header, ...] = ()
    """CSV: each file's header (its column order, where its rows begin), so that readers never read it again."""

    @property
    def long_amounts(self) -> bool:
        """Long layout with one signed ``amount`` per row (otherwise ``equity`` and ``debt``)."""
        return self.layout == LONG and "amount" in self.columns


def _describe(path: str, root: str, shown_root: str) -> str:
    if path == root:
        return shown_root
    return storage.join(shown_root, path[len(root) :].lstrip("/"))


def assets_location(url: str, assets_url: str | None = None, storage_options: Mapping[str, Any] | None = None
                    ) -> tuple[AbstractFileSystem, str, str]:
    """Where the asset file of snapshot ``url`` is: ``assets_url``, or ``assets.json`` in the
    snapshot's directory (beside it, for a single file). Raises ``InputError`` if absent."""
    if assets_url is None:
        fs, root = storage.open_fs(url, storage_options)
        is_dir = fs.isdir(root)
        base = root if is_dir else posixpath.dirname(root)
        assets_fs, assets_path = fs, storage.join(base, "assets.json")
        assets_shown = _describe(assets_path, root, url) if is_dir else assets_path
    else:
        assets_fs, assets_path = storage.open_fs(assets_url, storage_options)
        assets_shown = assets_url
    if not assets_fs.exists(assets_path):
        raise InputError(f"asset file {assets_shown}: not found", remedy=Remedy("assets", "FILE", "give"))
    return assets_fs, assets_path, assets_shown


def plan_snapshot(
    url: str,
    assets_url: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    fragment_rows: int | None = None,
) -> SnapshotPlan:
    """Validate everything that can be validated from file footers (Parquet) or headers (CSV), and
    cut fragments (CSV: at line ends, counted here; the lines are checked where they are read).

    Checks: files exist and are Parquet, or all are CSV; schemas (headers) agree across files; the
    layout; column types (no floats); ``user_id`` type; asset columns equal the declared assets
    (wide) and debt columns name declared assets. Raises ``InputError`` naming file and column
    (and line, for CSV).
    """
    if fragment_rows is None:
        fragment_rows = int(config.get("fragment-rows"))
    fs, root = storage.open_fs(url, storage_options)
    listing, file_format = list_snapshot(fs, root, url, companions=("assets.json",) if assets_url is None else ())
    files = listing.files
    shown = [_describe(p, root, url) for p in files]
    assets_fs, assets_path, assets_shown = assets_location(url, assets_url, storage_options)
    assets = parse_assets(storage.read_bytes(assets_fs, assets_path, assets_shown), assets_shown)

    scan = _scan_csv if file_format == CSV else _scan_parquet
    first: _FileSchema | None = None
    fragments: list[Fragment] = []
    headers = []
    total = 0
    for index, (path, where) in enumerate(zip(files, shown, strict=True)):
        schema, rows, cut = scan(fs, path, where, index, fragment_rows)
        if schema.header is not None:
            headers.append(schema.header)
        if first is None:
            first = schema
        elif schema.types != first.types:
            diff = sorted(set(schema.types.items()) ^ set(first.types.items()), key=str)
            detail = ", ".join(f"{n}: {t}" if t is not None else n for n, t in diff[:4])
            what = "headers" if file_format == CSV else "schemas"
            raise InputError(f"{what} disagree: {where} and {first.where} differ in columns ({detail})")
        fragments.extend(cut)
        total += rows

    assert first is not None
    layout, debt_columns = _check_columns(first, assets, assets_shown)
    if total == 0:
        raise InputError(f"snapshot {url}: no rows (empty snapshot)")
    return SnapshotPlan(fs, tuple(files), tuple(shown), layout, tuple(assets), tuple(fragments), total,
                        tuple(listing.ignored), file_format, first.names, debt_columns, tuple(headers))


@dataclass(frozen=True)
class _FileSchema:
    where: str
    names: tuple[str, ...]
    types: dict[str, pa.DataType | None]
    """Parquet: the Arrow type of each column; CSV: None (every cell is text)."""
    header: csv_snapshot.Header | None = None


def _scan_parquet(fs: AbstractFileSystem, path: str, where: str, index: int, fragment_rows: int
                  ) -> tuple[_FileSchema, int, list[Fragment]]:
    """A Parquet file's schema, rows and fragments (whole row groups), from its footer."""
    try:
        with fs.open(path, "rb") as f:
            meta = pq.ParquetFile(f).metadata
            schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"{where}: not a readable Parquet file ({exc})") from None
    types: dict[str, pa.DataType | None] = {name: schema.field(name).type for name in schema.names}
    if len(types) != len(schema.names):
        raise InputError(f"{where}: duplicate column names {schema.names}")
    fragments = []
    rows_before = 0
    current: list[int] = []
    current_rows, current_first = 0, 0
    for rg in range(meta.num_row_groups):
        n = meta.row_group(rg).num_rows
        if current and current_rows + n > fragment_rows:
            fragments.append(Fragment(index, tuple(current), current_first, current_rows))
            current, current_rows, current_first = [], 0, rows_before
        current.append(rg)
        current_rows += n
        rows_before += n
    if current_rows:
        fragments.append(Fragment(index, tuple(current), current_first, current_rows))
    return _FileSchema(where, tuple(schema.names), types), meta.num_rows, fragments


def _csv_header(fs: AbstractFileSystem, path: str, where: str) -> csv_snapshot.Header:
    """The header of a CSV file of the snapshot (``formats.csv_snapshot.parse_header``)."""
    def read() -> bytes:
        with fs.open(path, "rb") as f:
            return bytes(f.read(csv_snapshot.MAX_HEADER_BYTES + len(csv_snapshot.BOM) + 1))

    head = storage.retrying(read)
    limit = csv_snapshot.MAX_HEADER_BYTES + len(csv_snapshot.BOM)
    return csv_snapshot.parse_header(head[:limit], where, complete=len(head) <= limit)


def _scan_csv(fs: AbstractFileSystem, path: str, where: str, index: int, fragment_rows: int
              ) -> tuple[_FileSchema, int, list[Fragment]]:
    """A CSV file's header, rows and fragments: one pass that counts line ends (``RowCounter``).
    The lines themselves are checked where they are read (``formats.csv_snapshot.check_lines``)."""
    try:
        header = _csv_header(fs, path, where)

        def count() -> csv_snapshot.RowCounter:
            counter = csv_snapshot.RowCounter(fragment_rows, header.body_start)
            with fs.open(path, "rb") as f:
                f.seek(header.body_start)
                while chunk := f.read(CSV_CHUNK):
                    counter.feed(bytes(chunk))
            counter.finish()
            return counter

        counter = storage.retrying(count)
    except OSError as exc:
        raise InputError(f"{where}: not a readable file ({exc})") from None
    starts = [header.body_start, *counter.cuts]
    ends = [*counter.cuts, counter.end]
    fragments = [Fragment(index, (), k * fragment_rows, min(fragment_rows, counter.rows - k * fragment_rows), a, b)
                 for k, (a, b) in enumerate(zip(starts, ends, strict=True)) if counter.rows > k * fragment_rows]
    types: dict[str, pa.DataType | None] = {name: None for name in header.names}
    header = dataclasses.replace(header, size=counter.end)
    return _FileSchema(where, header.names, types, header), counter.rows, fragments


def _check_columns(first: _FileSchema, assets: list[Asset], assets_shown: str) -> tuple[str, tuple[str, ...]]:
    """The layout and the explicit debt columns of a snapshot whose files all have ``first``'s
    columns. Raises ``InputError`` naming the first file and the column."""
    where, types = first.where, first.types
    names = set(types)
    if "user_id" not in names:
        raise InputError(f"{where}: no 'user_id' column (columns: {sorted(names)})")
    uid_type = types["user_id"]
    if uid_type is not None and not (pa.types.is_string(uid_type) or pa.types.is_large_string(uid_type)
                                     or pa.types.is_integer(uid_type)):
        raise InputError(f"{where}: column 'user_id' has type {uid_type}; expected string or integer")
    declared = {a.symbol for a in assets}

    def amount_type(column: str) -> None:
        t = types[column]
        if t is not None:
            check_amount_type(t, column, where)

    if names in (set(LONG_COLUMNS), set(LONG_DEBT_COLUMNS)):
        at = types["asset"]
        if at is not None and not is_text(at):
            raise InputError(f"{where}: column 'asset' has type {at}; expected string")
        explicit = names == set(LONG_DEBT_COLUMNS)
        for column in ("equity", "debt") if explicit else ("amount",):
            amount_type(column)
        return LONG, ("debt",) if explicit else ()
    columns = names - {"user_id"}
    debts = {c for c in columns if c.endswith(DEBT_SUFFIX)}
    orphans = sorted(c for c in debts if c[: -len(DEBT_SUFFIX)] not in declared)
    if orphans:
        raise InputError(f"{where}: debt column(s) {orphans} name no asset declared in {assets_shown}")
    undeclared = sorted(columns - debts - declared)
    if undeclared:
        raise InputError(f"{where}: column(s) {undeclared} are not declared in {assets_shown}")
    missing = sorted(declared - columns)
    if missing:
        raise InputError(f"{where}: declared asset(s) {missing} have no column in the snapshot")
    for column in sorted(columns):
        amount_type(column)
    return WIDE, tuple(a.symbol + DEBT_SUFFIX for a in assets if a.symbol + DEBT_SUFFIX in debts)


def _format_of(path: str) -> str | None:
    for suffix, name in FILE_FORMATS.items():
        if path.endswith(suffix):
            return name
    return None


def list_snapshot(fs: AbstractFileSystem, root: str, shown: str, companions: tuple[str, ...] = ()
                  ) -> tuple[storage.InputFiles, str]:
    """Every data file of a snapshot and their format: ``root`` itself (``*.parquet`` or ``*.csv``),
    or every file below it, which must all be ``*.parquet`` or all ``*.csv``.

    The rule of ``storage.fs.list_inputs`` with two suffixes: below a directory each file is read,
    is one of the ``companions`` at the top, is hidden (passed over and listed), or is refused by
    name; a mix of Parquet and CSV files is refused; a symbolic link that leads outside ``root`` is
    refused. No file is ever silently skipped.
    """
    names = " or ".join(f"*{suffix}" for suffix in FILE_FORMATS)
    if not fs.exists(root):
        raise InputError(f"snapshot {shown}: no such file or directory")
    if fs.isfile(root):
        file_format = _format_of(root)
        if file_format is None:
            raise InputError(f"snapshot {shown}: not a {names} file (the name must end in "
                             f"{' or '.join(FILE_FORMATS)})")
        return storage.InputFiles([root], []), file_format
    files: dict[str, list[str]] = {name: [] for name in FILE_FORMATS.values()}
    ignored, refused = [], []
    real_root = os.path.realpath(root) if storage.is_local(fs) else None
    for path in fs.find(root):
        relative = posixpath.relpath(path, root)
        if real_root is not None:
            real = os.path.realpath(path)
            if real != real_root and not real.startswith(real_root + os.sep):
                raise InputError(f"snapshot {shown}: {relative} is a link to {real}, outside the snapshot; "
                                 "copy the file in instead")
        file_format = _format_of(path)
        if storage.is_hidden(relative):
            ignored.append(relative)
        elif file_format is not None:
            files[file_format].append(path)
        elif relative not in companions:
            refused.append(relative)
    if refused:
        raise InputError(f"snapshot {shown}: file(s) that are neither {names} data nor hidden: "
                         f"{sorted(refused)[:10]}{' …' if len(refused) > 10 else ''}; rename or remove them "
                         "(names starting with . or _ are passed over)")
    present = [name for name, paths in files.items() if paths]
    if len(present) > 1:
        examples = ", ".join(posixpath.relpath(sorted(files[name])[0], root) for name in present)
        raise InputError(f"snapshot {shown}: mixes Parquet and CSV files (e.g. {examples}); a snapshot is all "
                         "*.parquet or all *.csv")
    if not present:
        raise InputError(f"snapshot {shown}: no {names} files in the directory (empty snapshot)")
    return storage.InputFiles(sorted(files[present[0]]), sorted(ignored)), present[0]
