"""Snapshot planning (client side) and reading one fragment (worker side).

A snapshot is a Parquet dataset in the *wide* layout (``user_id`` plus one
column per asset) or the *long* layout (exactly ``user_id``, ``asset``,
``amount``). Planning reads only footers; reading converts amounts exactly to
smallest units as two ``uint64`` lanes, computes every user's key ``uk`` and
splits the rows by the first ``group_bits`` bits of ``uk``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from blake3 import blake3
from fsspec.spec import AbstractFileSystem

from . import config, protocol, storage
from .assets import Asset, parse_assets
from .errors import InputError

WIDE = "wide"
LONG = "long"
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


def _describe(path: str, root: str, shown_root: str) -> str:
    if path == root:
        return shown_root
    return storage.join(shown_root, path[len(root) :].lstrip("/"))


def _check_amount_type(t: pa.DataType, column: str, where: str) -> None:
    if pa.types.is_floating(t):
        raise InputError(
            f"{where}: column {column!r} has floating-point type {t}; amounts must be integers "
            "(smallest units) or decimals (whole units), never floats"
        )
    if not (pa.types.is_integer(t) or pa.types.is_decimal(t)):
        raise InputError(f"{where}: column {column!r} has type {t}; amounts must be integer or decimal")


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
        raise InputError(f"asset file {assets_shown}: not found (give --assets FILE)")
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
    files = storage.list_parquet(fs, root, url)
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
        _check_amount_type(first_types["amount"], "amount", first_where)
        at = first_types["asset"]
        if not (pa.types.is_string(at) or pa.types.is_large_string(at) or pa.types.is_dictionary(at)):
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
            _check_amount_type(first_types[symbol], symbol, first_where)
    if total == 0:
        raise InputError(f"snapshot {url}: no rows (empty snapshot)")
    return SnapshotPlan(fs, tuple(files), tuple(shown), layout, tuple(assets), tuple(fragments), total)


# ---------------------------------------------------------------- worker side


@dataclass(frozen=True)
class ReadSpec:
    """Everything a read task needs. Holds the per-period nonce key, never the master secret."""

    plan: SnapshotPlan
    period: str
    k_nonce: protocol.SecretKey
    group_bits: int
    scratch: Any  # bundle.Bundle: where the shuffle files go


@dataclass
class Part:
    """Rows of one fragment that fall into one group, in fragment order."""

    uk: np.ndarray  # (n, 32) uint8
    values: np.ndarray  # wide: (n, m, 2); long: (n, 2) uint64
    asset_index: np.ndarray | None  # long: (n,) int32
    user_ids: pa.Array  # for error reports only
    file_index: np.ndarray  # (n,) int32
    row: np.ndarray  # (n,) int64

    @classmethod
    def concat(cls, parts: list["Part"]) -> "Part":
        return cls(
            np.concatenate([p.uk for p in parts]),
            np.concatenate([p.values for p in parts]),
            None if parts[0].asset_index is None else np.concatenate([p.asset_index for p in parts]),
            pa.concat_arrays([p.user_ids for p in parts]),
            np.concatenate([p.file_index for p in parts]),
            np.concatenate([p.row for p in parts]),
        )

    def slice(self, lo: int, hi: int) -> "Part":
        """Rows ``lo:hi`` without copying."""
        return Part(
            self.uk[lo:hi],
            self.values[lo:hi],
            None if self.asset_index is None else self.asset_index[lo:hi],
            self.user_ids.slice(lo, hi - lo),
            self.file_index[lo:hi],
            self.row[lo:hi],
        )

    def take(self, idx: np.ndarray) -> "Part":
        return Part(
            self.uk[idx],
            self.values[idx],
            None if self.asset_index is None else self.asset_index[idx],
            self.user_ids.take(pa.array(idx, type=pa.int64())),
            self.file_index[idx],
            self.row[idx],
        )


@dataclass
class FragmentResult:
    error: str | None = None
    assets_seen: frozenset[str] = frozenset()
    digest: str = ""
    """blake3 of the fragment's converted content (user keys, amounts, assets): keys resumable runs."""


class RowError(Exception):
    def __init__(self, index: int, message: str) -> None:
        self.index = index
        self.message = message


def _first(mask: pa.Array | np.ndarray) -> int:
    arr = mask.to_numpy(zero_copy_only=False) if isinstance(mask, (pa.Array, pa.ChunkedArray)) else mask
    return int(np.flatnonzero(arr)[0])


def amounts_to_u128(arr: pa.Array, decimals: int) -> np.ndarray:
    """Exact conversion of an integer (smallest units) or decimal (whole units) array.

    Returns ``(n, 2)`` uint64 ``[hi, lo]``. Raises ``RowError`` at the first
    null, negative, over-precise or ``>= 2**128`` value.
    """
    n = len(arr)
    out = np.zeros((n, 2), dtype=np.uint64)
    if arr.null_count:
        raise RowError(_first(arr.is_null()), "null amount")
    t = arr.type
    if pa.types.is_integer(t):
        values = arr.to_numpy(zero_copy_only=False)
        if pa.types.is_signed_integer(t):
            negative = values < 0
            if negative.any():
                i = int(np.flatnonzero(negative)[0])
                raise RowError(i, f"negative amount {values[i]}")
        out[:, 1] = values.astype(np.uint64)
        return out
    # decimal: whole units -> smallest units, exactly. Unscaled values are
    # little-endian two's complement words (2 for decimal128, 4 for decimal256).
    width = t.byte_width // 8
    words = np.frombuffer(arr.buffers()[1], dtype="<u8")[arr.offset * width : (arr.offset + n) * width]
    words = words.reshape(n, width)
    negative = (words[:, -1] >> np.uint64(63)) == 1
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise RowError(i, f"negative amount {arr[i].as_py()}")
    if t.scale == decimals:
        too_big = words[:, 2:].any(axis=1) if width > 2 else np.zeros(n, dtype=bool)
        if too_big.any():
            i = int(np.flatnonzero(too_big)[0])
            raise RowError(i, f"amount {arr[i].as_py()} is not below 2^128 smallest units")
        out[:, 0] = words[:, 1]
        out[:, 1] = words[:, 0]
        return out
    # a scale other than the asset's decimals: exact integer rescaling per value
    raw = words.tobytes()
    step = 8 * width
    for i in range(n):
        value = int.from_bytes(raw[i * step : (i + 1) * step], "little")
        if decimals > t.scale:
            value *= 10 ** (decimals - t.scale)
        else:
            value, rest = divmod(value, 10 ** (t.scale - decimals))
            if rest:
                raise RowError(
                    i, f"amount {arr[i].as_py()} has more fractional digits than the asset's {decimals}"
                )
        if value >= protocol.U128_LIMIT:
            raise RowError(i, f"amount {arr[i].as_py()} is not below 2^128 smallest units")
        out[i, 0] = value >> 64
        out[i, 1] = value & 0xFFFF_FFFF_FFFF_FFFF
    return out


def _user_ids(column: pa.Array) -> pa.Array:
    if pa.types.is_integer(column.type):
        if column.null_count:
            raise RowError(_first(column.is_null()), "null user_id")
        return pc.cast(column, pa.string())
    column = column.cast(pa.string())
    column.validate(full=True)
    if column.null_count:
        raise RowError(_first(column.is_null()), "null user_id")
    empty = pc.equal(pc.binary_length(column), 0)
    if pc.any(empty).as_py():
        raise RowError(_first(empty), "empty user_id")
    nul = pc.match_substring(column, "\x00")
    if pc.any(nul).as_py():
        raise RowError(_first(nul), "user_id contains a NUL character")
    return column


def user_keys(user_ids: pa.Array, period: str, k_nonce: protocol.SecretKey) -> np.ndarray:
    """``uk`` for every id of a UTF-8 string array, as ``(n, 32)`` uint8 (the bytes of
    ``protocol.user_key``); the ids are sliced straight from the Arrow buffers."""
    ids = user_ids.cast(pa.large_string()) if user_ids.type != pa.large_string() else user_ids
    n = len(ids)
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[ids.offset : ids.offset + n + 1].tolist()
    data = ids.buffers()[2].to_pybytes() if n else b""
    key = k_nonce.reveal()
    prefix = protocol.period_prefix(period)
    h = blake3
    digests = b"".join([
        h(prefix + u, key=h(u, key=key).digest()).digest()
        for u in [data[offsets[i] : offsets[i + 1]] for i in range(n)]
    ])
    return np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)


def group_of(uk: np.ndarray, group_bits: int) -> np.ndarray:
    """The first ``group_bits`` bits of each ``uk`` (0 when ``group_bits`` is 0)."""
    top = np.ascontiguousarray(uk[:, :8]).view(">u8").reshape(-1).astype(np.uint64)
    if group_bits == 0:
        return np.zeros(len(top), dtype=np.int64)
    return (top >> np.uint64(64 - group_bits)).astype(np.int64)


def read_fragment(fragment: Fragment, index: int, spec: ReadSpec) -> FragmentResult:
    """Read, validate and convert fragment number ``index``; split its rows by group of
    ``uk`` into the shuffle file of the fragment (``shuffle.write_parts``).

    Invalid data is returned as ``FragmentResult.error`` (naming file, column,
    row and value), not raised, so that workers do not log user data.
    """
    from .shuffle import write_parts

    plan = spec.plan
    where = plan.shown_files[fragment.file_index]
    try:
        def read() -> pa.Table:
            with plan.fs.open(plan.files[fragment.file_index], "rb") as f:
                return pq.ParquetFile(f).read_row_groups(list(fragment.row_groups))

        table = storage.retrying(read)
    except (pa.ArrowException, OSError) as exc:
        return FragmentResult(error=f"{where}: cannot read row groups {list(fragment.row_groups)} ({exc})")
    table = table.combine_chunks()
    n = table.num_rows
    column = "user_id"
    try:
        ids = _user_ids(table.column("user_id").chunk(0) if n else pa.array([], pa.string()))
        symbols = [a.symbol for a in plan.assets]
        m = len(symbols)
        assets_seen: frozenset[str] = frozenset(symbols)
        asset_index = None
        if plan.layout == WIDE:
            values = np.zeros((n, m, 2), dtype=np.uint64)
            for j, asset in enumerate(plan.assets):
                column = asset.symbol
                values[:, j, :] = amounts_to_u128(table.column(asset.symbol).chunk(0), asset.decimals)
        else:
            column = "asset"
            asset_col = table.column("asset").chunk(0).cast(pa.string())
            if asset_col.null_count:
                raise RowError(_first(asset_col.is_null()), "null asset")
            found = pc.index_in(asset_col, value_set=pa.array(symbols, pa.string()))
            if found.null_count:
                i = _first(found.is_null())
                raise RowError(i, f"asset {asset_col[i].as_py()!r} is not declared in the asset file")
            asset_index = found.to_numpy(zero_copy_only=False).astype(np.int32)
            assets_seen = frozenset(symbols[j] for j in np.unique(asset_index).tolist())
            column = "amount"
            amounts = table.column("amount").chunk(0)
            values = np.zeros((n, 2), dtype=np.uint64)
            for j, asset in enumerate(plan.assets):
                idx = np.flatnonzero(asset_index == j)
                if len(idx):
                    try:
                        values[idx] = amounts_to_u128(amounts.take(pa.array(idx)), asset.decimals)
                    except RowError as exc:
                        raise RowError(int(idx[exc.index]), exc.message) from None
    except RowError as exc:
        row = fragment.first_row + exc.index
        return FragmentResult(error=f"{where}: column {column!r}, row {row}: {exc.message}")

    if plan.layout == LONG:
        encoded = ids.dictionary_encode()
        uniq = user_keys(encoded.dictionary, spec.period, spec.k_nonce)
        uk = uniq[encoded.indices.to_numpy(zero_copy_only=False)]
    else:
        uk = user_keys(ids, spec.period, spec.k_nonce)
    content = blake3(np.ascontiguousarray(uk).data.cast("B"))
    content.update(np.ascontiguousarray(values).data.cast("B"))
    if asset_index is not None:
        content.update(np.ascontiguousarray(asset_index).data.cast("B"))
    groups = group_of(uk, spec.group_bits)
    order = np.argsort(groups, kind="stable")
    whole = Part(
        uk,
        values,
        asset_index,
        ids,
        np.full(n, fragment.file_index, dtype=np.int32),
        np.arange(fragment.first_row, fragment.first_row + n, dtype=np.int64),
    ).take(order)
    bounds = np.searchsorted(groups[order], np.arange((1 << spec.group_bits) + 1))
    parts = [whole.slice(int(bounds[g]), int(bounds[g + 1])) for g in range(1 << spec.group_bits)]
    write_parts(spec.scratch, index, parts)
    return FragmentResult(assets_seen=assets_seen, digest=content.hexdigest())
