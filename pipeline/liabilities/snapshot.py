"""Snapshot planning (client side): every check that file footers allow, and the fragments.

A snapshot is a Parquet dataset in the *wide* layout (``user_id`` plus one
column per asset) or the *long* layout (exactly ``user_id``, ``asset``,
``amount``). Planning reads only footers; ``pipeline.liabilities.read`` reads the rows.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.spec import AbstractFileSystem

from .. import config
from ..errors import InputError, Remedy
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


@dataclass(frozen=True)
class Fragment:
    """A unit of reading: some row groups of one file."""

    file_index: int
    row_groups: tuple[int, ...]
    first_row: int
    rows: int


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
    """Validate everything that can be validated from file footers, and cut fragments.

    Checks: files exist and are Parquet; schemas agree across files; the
    layout; column types (no floats); ``user_id`` type; asset columns equal
    the declared assets (wide). Raises ``InputError`` naming file and column.
    """
    if fragment_rows is None:
        fragment_rows = int(config.get("fragment-rows"))
    fs, root = storage.open_fs(url, storage_options)
    listing = storage.list_inputs(fs, root, url, companions=("assets.json",) if assets_url is None else ())
    files = listing.files
    shown = [_describe(p, root, url) for p in files]
    assets_fs, assets_path, assets_shown = assets_location(url, assets_url, storage_options)
    assets = parse_assets(storage.read_bytes(assets_fs, assets_path, assets_shown), assets_shown)

    first_schema: pa.Schema | None = None
    fragments: list[Fragment] = []
    total = 0
    for index, (path, where) in enumerate(zip(files, shown, strict=True)):
        try:
            with fs.open(path, "rb") as f:
                meta = pq.ParquetFile(f).metadata
                schema = meta.schema.to_arrow_schema()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"{where}: not a readable Parquet file ({exc})") from None
        types = {name: schema.field(name).type for name in schema.names}
        if len(types) != len(schema.names):
            raise InputError(f"{where}: duplicate column names {schema.names}")
        if first_schema is None:
            first_schema = schema
            first_types, first_where = types, where
        elif types != first_types:
            diff = sorted(set(types.items()) ^ set(first_types.items()), key=str)
            detail = ", ".join(f"{n}: {t}" for n, t in diff[:4])
            raise InputError(f"schemas disagree: {where} and {first_where} differ in columns ({detail})")
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
        total += meta.num_rows

    assert first_schema is not None
    names = set(first_types)
    if "user_id" not in names:
        raise InputError(f"{first_where}: no 'user_id' column (columns: {sorted(names)})")
    uid_type = first_types["user_id"]
    if not (pa.types.is_string(uid_type) or pa.types.is_large_string(uid_type) or pa.types.is_integer(uid_type)):
        raise InputError(f"{first_where}: column 'user_id' has type {uid_type}; expected string or integer")
    declared = {a.symbol for a in assets}
    if names == set(LONG_COLUMNS):
        layout = LONG
        check_amount_type(first_types["amount"], "amount", first_where)
        at = first_types["asset"]
        if not is_text(at):
            raise InputError(f"{first_where}: column 'asset' has type {at}; expected string")
    else:
        layout = WIDE
        columns = names - {"user_id"}
        undeclared = sorted(columns - declared)
        if undeclared:
            raise InputError(f"{first_where}: column(s) {undeclared} are not declared in {assets_shown}")
        missing = sorted(declared - columns)
        if missing:
            raise InputError(f"{first_where}: declared asset(s) {missing} have no column in the snapshot")
        for symbol in sorted(columns):
            check_amount_type(first_types[symbol], symbol, first_where)
    if total == 0:
        raise InputError(f"snapshot {url}: no rows (empty snapshot)")
    return SnapshotPlan(fs, tuple(files), tuple(shown), layout, tuple(assets), tuple(fragments), total,
                        tuple(listing.ignored))
