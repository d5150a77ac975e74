"""Reading one fragment of the snapshot (worker side): validate, convert, key, split by group.

Amounts are converted exactly to smallest units as two ``uint64`` lanes, every user's key
``uk`` is computed, and the rows are split by the first ``group_bits`` bits of ``uk`` into
the fragment's shuffle file. A Parquet fragment is some row groups; a CSV fragment is some
whole lines whose cells are text (``formats.csv_snapshot``), converted to the very columns a
Parquet file of the same content holds, so both give the same rows.

Debt (protocol por-v3, ``schemas/snapshot.md``): with ``ReadSpec.equity_debt`` every asset ``j``
has two lanes, ``2j`` its equity and ``2j + 1`` its debt, both non-negative magnitudes (wide rows:
``SparseAmounts`` over ``2m`` lanes; long rows: every input row gives an equity row and a debt row,
``asset_index`` the lane, so that ``buckets.merge_part(..., m=2*m)`` folds them and a repeated
(user, asset) is still a duplicate). Without it, any debt is refused where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from blake3 import blake3

from ..errors import BadValue, Problem
from ..formats import csv_snapshot
from ..formats.columns import first_index, signed_amount_words
from ..protocol import v1
from ..protocol.keys import SecretKey
from ..protocol.userid import MAX_USER_ID_BYTES, user_id_problem
from ..storage import fs as storage
from ..storage.bundle import Bundle
from ..tree import blake3_batch
from ..tree.shape import top_bits
from .rows import Part, SparseAmounts
from .shuffle import write_parts
from .snapshot import CSV, CSV_CHUNK, DEBT_SUFFIX, LONG, WIDE, Fragment, SnapshotPlan

NEEDS_V3 = "debt needs protocol por-v3"


@dataclass(frozen=True)
class ReadSpec:
    """Everything a read task needs. Holds the per-period nonce key, never the master secret."""

    plan: SnapshotPlan
    period: str
    k_nonce: SecretKey
    group_bits: int
    scratch: Bundle
    """Where the shuffle files go."""
    count_bits: int | None = None
    """Wide layout: count users per bucket of these ``k`` bits (``FragmentResult.buckets``)."""
    equity_debt: bool = False
    """Protocol por-v3: two lanes per asset, equity (``2j``) and debt (``2j + 1``). Otherwise
    (por-v1, por-v2) one lane per asset and any debt is refused."""


@dataclass
class FragmentResult:
    problem: Problem | None = None
    """Bad input found in the fragment (file, column, row): returned, not raised, so that
    workers never log user data."""
    assets_seen: frozenset[str] = frozenset()
    digest: str = ""
    """blake3 of the fragment's converted content (user keys, amounts, assets): keys resumable runs."""
    buckets: tuple[np.ndarray, np.ndarray] | None = None
    """With ``ReadSpec.count_bits``: ``(buckets, rows)`` for the fragment's non-empty buckets."""


def _user_ids(column: pa.Array) -> pa.Array:
    if pa.types.is_integer(column.type):
        if column.null_count:
            raise BadValue(first_index(column.is_null()), "null user_id")
        return pc.cast(column, pa.string())
    column = column.cast(pa.string())
    try:
        column.validate(full=True)
    except pa.ArrowInvalid:
        raw = column.cast(pa.binary()).to_pylist()
        bad = next(i for i, b in enumerate(raw) if b is not None and not _is_utf8(b))
        raise BadValue(bad, "user_id is not valid UTF-8") from None
    if column.null_count:
        raise BadValue(first_index(column.is_null()), "null user_id")
    # the rule of pipeline.protocol.userid, on the whole column; the first offender is named by it
    bad = pc.or_(pc.or_(pc.equal(pc.binary_length(column), 0),
                        pc.greater(pc.binary_length(column), MAX_USER_ID_BYTES)),
                 pc.or_(pc.match_substring_regex(column, r"[\p{Cc}\p{Cf}]"),
                        pc.not_equal(pc.utf8_normalize(column, form="NFC"), column)))
    if pc.any(bad).as_py():
        i = first_index(bad)
        raise BadValue(i, user_id_problem(column[i].as_py()) or "invalid user_id")
    return column


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ragged(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes and offsets (from 0) of a ``large_binary`` array, straight from its Arrow buffers."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    buffer = array.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    return data[offsets[0]:offsets[-1]], offsets - offsets[0]


def user_keys(user_ids: pa.Array, period: str, k_nonce: SecretKey) -> np.ndarray:
    """``uk`` for every id of a UTF-8 string array, as ``(n, 32)`` uint8 (the bytes of
    ``protocol.user_key``), hashed in bulk from the Arrow buffers: ``nonce = Hk(K_nonce, U)``,
    then ``uk = Hk(nonce, u8(len P) ‖ P ‖ U)``."""
    ids = user_ids.cast(pa.large_binary())
    if len(ids) == 0:
        return np.zeros((0, 32), dtype=np.uint8)
    nonces = blake3_batch.hash_ragged(*_ragged(ids), key=k_nonce.reveal())
    prefix = pa.scalar(v1.period_prefix(period), pa.large_binary())
    messages = pc.binary_join_element_wise(prefix, ids, pa.scalar(b"", pa.large_binary()))
    return blake3_batch.hash_ragged(*_ragged(messages), key=nonces)


def read_table(plan: SnapshotPlan, fragment: Fragment) -> pa.Table:
    """The rows of ``fragment``: a Parquet file's columns as they are stored, or a CSV file's cells as
    ``binary`` columns. Raises ``csv_snapshot.BadLine`` for a malformed CSV line."""
    path = plan.files[fragment.file_index]
    if plan.file_format == CSV:
        header = plan.csv_headers[fragment.file_index]

        def read_bytes() -> bytes:
            with plan.fs.open(path, "rb") as f:
                if f.size != header.size:
                    raise csv_snapshot.BadLine(fragment.first_row + 2, f"the file changed since planning: {f.size} "
                                               f"bytes, planned {header.size}")
                f.seek(fragment.start)
                return bytes(f.read(fragment.end - fragment.start))

        data = storage.retrying(read_bytes)
        return csv_snapshot.parse_rows(data, header.names, fragment.first_row + 2)

    def read() -> pa.Table:
        with plan.fs.open(path, "rb") as f:
            return pq.ParquetFile(f).read_row_groups(list(fragment.row_groups))

    return storage.retrying(read).combine_chunks()


def whole_file(plan: SnapshotPlan, file_index: int) -> pa.Table:
    """Every row of snapshot file ``file_index`` (as ``read_table`` gives them)."""
    path = plan.files[file_index]
    if plan.file_format == CSV:
        header = plan.csv_headers[file_index]
        rows = sum(f.rows for f in plan.fragments if f.file_index == file_index)
        return read_table(plan, Fragment(file_index, (), 0, rows, header.body_start, header.size))

    def read() -> pa.Table:
        with plan.fs.open(path, "rb") as f:
            return pq.read_table(f)

    return storage.retrying(read).combine_chunks()


def amount_array(plan: SnapshotPlan, column: pa.Array, decimals: int) -> pa.Array:
    """An amount column as ``formats.columns`` converts it: as stored (Parquet), or the cells' text as
    an exact decimal column (CSV; ``BadValue`` at a malformed cell)."""
    if plan.file_format == CSV:
        return csv_snapshot.decimal_from_text(column, decimals)
    return column


@dataclass(frozen=True)
class _Signed:
    """One amount column converted: its cells (for messages), magnitudes and signs."""

    cells: pa.Array
    lo: np.ndarray
    hi: np.ndarray
    negative: np.ndarray

    def shown(self, i: int) -> str:
        """Cell ``i`` as written: a CSV cell's text, a Parquet value in plain notation."""
        value = self.cells[i].as_py()
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return format(value, "f") if isinstance(value, Decimal) else str(value)

    def first_negative(self) -> BadValue | None:
        if not self.negative.any():
            return None
        i = int(np.flatnonzero(self.negative)[0])
        return BadValue(i, f"negative amount {self.shown(i)}")

    def first_non_zero(self) -> int | None:
        nz = (self.lo | self.hi) != 0
        return int(np.flatnonzero(nz)[0]) if nz.any() else None

    def split(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``((lo, hi) of the equity, (lo, hi) of the debt)``: a negative value is debt of its size."""
        if not self.negative.any():
            zero = np.zeros(len(self.lo), dtype=np.uint64)
            return (self.lo, self.hi), (zero, zero)
        zero64 = np.uint64(0)
        neg = self.negative
        return ((np.where(neg, zero64, self.lo), np.where(neg, zero64, self.hi)),
                (np.where(neg, self.lo, zero64), np.where(neg, self.hi, zero64)))


def _signed(plan: SnapshotPlan, column: pa.Array, decimals: int) -> _Signed:
    lo, hi, negative = signed_amount_words(amount_array(plan, column, decimals), decimals)
    return _Signed(column, lo, hi, negative)


def _refuse_debt(signed: _Signed, explicit: bool) -> None:
    """Without por-v3: the first debt in ``signed`` (a negative amount, or a non-zero value of an
    explicit debt column) as ``BadValue``."""
    if explicit:
        i = signed.first_non_zero()
        if i is not None:
            raise BadValue(i, f"debt {signed.shown(i)}: {NEEDS_V3}")
        return
    bad = signed.first_negative()
    if bad is not None:
        raise BadValue(bad.index, f"{bad.reason}: {NEEDS_V3}")


def _wide_values(plan: SnapshotPlan, table: pa.Table, equity_debt: bool, at: list[str]) -> SparseAmounts:
    """Wide rows as ``SparseAmounts`` (``m`` lanes, or ``2m`` with ``equity_debt``). ``at[0]`` names
    the column being read (for the caller's error message)."""
    words: list[tuple[np.ndarray, np.ndarray]] = []
    for asset in plan.assets:
        at[0] = asset.symbol
        amounts = _signed(plan, table.column(asset.symbol).combine_chunks(), asset.decimals)
        debt_column = asset.symbol + DEBT_SUFFIX
        if debt_column in plan.debt_columns:
            bad = amounts.first_negative()
            if bad is not None:
                raise BadValue(bad.index, f"{bad.reason}, but {debt_column!r} holds this asset's debt: equity is "
                                          "never negative (one representation of debt per asset)")
            at[0] = debt_column
            debt = _signed(plan, table.column(debt_column).combine_chunks(), asset.decimals)
            bad = debt.first_negative()
            if bad is not None:
                raise BadValue(bad.index, f"{bad.reason} in a debt column: debt is written as a non-negative amount")
            if not equity_debt:
                _refuse_debt(debt, explicit=True)
            pair = ((amounts.lo, amounts.hi), (debt.lo, debt.hi))
        else:
            if not equity_debt:
                _refuse_debt(amounts, explicit=False)
            pair = amounts.split()
        words.extend(pair if equity_debt else pair[:1])
    return SparseAmounts.from_columns(words)


def _long_values(plan: SnapshotPlan, table: pa.Table, asset_index: np.ndarray, equity_debt: bool,
                 at: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Long rows' ``(equity, debt)`` as ``(n, 2)`` uint64 ``[hi, lo]`` each, converted with each
    row's asset's decimals."""
    n = len(asset_index)
    equity = np.zeros((n, 2), dtype=np.uint64)
    debt = np.zeros((n, 2), dtype=np.uint64)
    columns = ("amount",) if plan.long_amounts else ("equity", "debt")
    cells = {name: table.column(name).combine_chunks() for name in columns}
    for j, asset in enumerate(plan.assets):
        idx = np.flatnonzero(asset_index == j)
        if not len(idx):
            continue
        take = pa.array(idx)
        try:
            for name in columns:
                at[0] = name
                amounts = _signed(plan, cells[name].take(take), asset.decimals)
                if name == "amount":
                    if not equity_debt:
                        _refuse_debt(amounts, explicit=False)
                    (elo, ehi), (dlo, dhi) = amounts.split()
                    equity[idx, 0], equity[idx, 1], debt[idx, 0], debt[idx, 1] = ehi, elo, dhi, dlo
                    continue
                bad = amounts.first_negative()
                if bad is not None:
                    raise BadValue(bad.index, f"{bad.reason} in {name!r}: {name} is written as a non-negative amount")
                if name == "debt" and not equity_debt:
                    _refuse_debt(amounts, explicit=True)
                target = equity if name == "equity" else debt
                target[idx, 0], target[idx, 1] = amounts.hi, amounts.lo
        except BadValue as exc:
            raise BadValue(int(idx[exc.index]), exc.reason) from None
    return equity, debt


def _place(plan: SnapshotPlan, fragment: Fragment, where: str, column: str | None, index: int, reason: str) -> Problem:
    """A bad value at ``index`` of the fragment: file, column and row (Parquet, 0-based) or line (CSV,
    1-based with the header as line 1)."""
    row = fragment.first_row + index
    if plan.file_format == CSV:
        return Problem(reason, f"{where} line {row + 2}", column)
    return Problem(reason, where, column, row)


def read_fragment(fragment: Fragment, index: int, spec: ReadSpec) -> FragmentResult:
    """Read, validate and convert fragment number ``index``; split its rows by group of
    ``uk`` into the shuffle file of the fragment (``shuffle.write_parts``).

    Invalid data is returned as ``FragmentResult.problem`` (naming file, column,
    row or line, and value), not raised, so that workers do not log user data.
    """
    plan = spec.plan
    where = plan.shown_files[fragment.file_index]
    try:
        table = read_table(plan, fragment)
    except csv_snapshot.BadLine as exc:
        return FragmentResult(Problem(exc.reason, f"{where} line {exc.line}"))
    except (pa.ArrowException, OSError) as exc:
        what = (f"bytes {fragment.start}-{fragment.end}" if plan.file_format == CSV
                else f"row groups {list(fragment.row_groups)}")
        return FragmentResult(Problem(f"cannot read {what} ({exc})", where))
    n = table.num_rows
    if n != fragment.rows:
        return FragmentResult(Problem(f"{n} rows where planning counted {fragment.rows} (the file changed?)", where))
    at = ["user_id"]
    try:
        ids = _user_ids(csv_snapshot.text(table.column("user_id").combine_chunks()) if n
                        else pa.array([], pa.string()))
        symbols = [a.symbol for a in plan.assets]
        assets_seen: frozenset[str] = frozenset(symbols)
        asset_index = None
        values: SparseAmounts | np.ndarray
        if plan.layout == WIDE:
            # rows travel sparse (most users hold a few assets), never as a dense (n, m) copy
            values = _wide_values(plan, table, spec.equity_debt, at)
        else:
            at[0] = "asset"
            asset_index = _asset_index(plan, table.column("asset").combine_chunks())
            assets_seen = frozenset(symbols[j] for j in np.unique(asset_index).tolist())
            equity, debt = _long_values(plan, table, asset_index, spec.equity_debt, at)
            values = equity
    except BadValue as exc:
        return FragmentResult(_place(plan, fragment, where, at[0], exc.index, exc.reason))

    source = np.arange(n)
    if asset_index is not None and spec.equity_debt:
        # every row twice, its equity (lane 2j) then its debt (lane 2j + 1)
        source = np.repeat(source, 2)
        values = np.empty((2 * n, 2), dtype=np.uint64)
        values[0::2], values[1::2] = equity, debt
        lanes = np.empty(2 * n, dtype=np.int32)
        lanes[0::2], lanes[1::2] = 2 * asset_index, 2 * asset_index + 1
        asset_index = lanes
    if plan.layout == LONG:
        encoded = ids.dictionary_encode()
        uniq = user_keys(encoded.dictionary, spec.period, spec.k_nonce)
        uk = uniq[encoded.indices.to_numpy(zero_copy_only=False)[source]]
    else:
        uk = user_keys(ids, spec.period, spec.k_nonce)
    content = blake3(_raw(uk))
    if isinstance(values, SparseAmounts):
        content.update(_raw(np.packbits(values.held)))
        content.update(_raw(values.flat))
    else:
        content.update(_raw(values))
    if asset_index is not None:
        content.update(_raw(asset_index))
    groups = top_bits(uk, spec.group_bits).astype(np.uint16)  # g <= 16: a stable sort is a radix sort
    order = np.argsort(groups, kind="stable")
    whole = Part(
        uk,
        values,
        asset_index,
        np.full(len(source), fragment.file_index, dtype=np.int32),
        fragment.first_row + source.astype(np.int64),
    ).take(order)
    bounds = np.searchsorted(groups[order], np.arange((1 << spec.group_bits) + 1))
    parts = [whole.slice(int(bounds[g]), int(bounds[g + 1])) for g in range(1 << spec.group_bits)]
    write_parts(spec.scratch, index, parts)
    buckets = None
    if spec.count_bits is not None:
        buckets = np.unique(top_bits(uk, spec.count_bits), return_counts=True)
    return FragmentResult(assets_seen=assets_seen, digest=content.hexdigest(), buckets=buckets)


def _asset_index(plan: SnapshotPlan, column: pa.Array) -> np.ndarray:
    """Long layout: each row's asset as its index in ``plan.assets``; ``BadValue`` at a null or an
    undeclared asset."""
    symbols = [a.symbol for a in plan.assets]
    if plan.file_format == CSV:  # cells are bytes: compare bytes, show undecodable ones replaced
        found = pc.index_in(column, value_set=pa.array([s.encode() for s in symbols], pa.binary()))
        if found.null_count:
            i = first_index(found.is_null())
            shown = column[i].as_py().decode("utf-8", errors="replace")
            raise BadValue(i, f"asset {shown!r} is not declared in the asset file")
        return found.to_numpy(zero_copy_only=False).astype(np.int32)
    asset_col = column.cast(pa.string())
    if asset_col.null_count:
        raise BadValue(first_index(asset_col.is_null()), "null asset")
    found = pc.index_in(asset_col, value_set=pa.array(symbols, pa.string()))
    if found.null_count:
        i = first_index(found.is_null())
        raise BadValue(i, f"asset {asset_col[i].as_py()!r} is not declared in the asset file")
    return found.to_numpy(zero_copy_only=False).astype(np.int32)


def _raw(array: np.ndarray) -> memoryview:
    """An array's bytes as a flat uint8 buffer (also for empty arrays, which ``memoryview.cast`` refuses)."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return memoryview(flat)  # type: ignore[arg-type]  # ndarray exports the buffer protocol; its stubs say so from 3.12


def user_id_at(plan: SnapshotPlan, file_index: int, row: int) -> str:
    """The ``user_id`` of row ``row`` of snapshot file ``file_index``, as text (for error messages:
    rows travel through the shuffle without their ids)."""
    if plan.file_format == CSV:
        return _csv_user_id_at(plan, file_index, row)
    with plan.fs.open(plan.files[file_index], "rb") as f:
        parquet = pq.ParquetFile(f)
        first = 0
        for group in range(parquet.metadata.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            if row < first + rows:
                column = parquet.read_row_group(group, columns=["user_id"]).column(0)
                return str(column[row - first].as_py())
            first += rows
    raise IndexError(f"row {row} is beyond {plan.shown_files[file_index]}")


def _csv_user_id_at(plan: SnapshotPlan, file_index: int, row: int) -> str:
    """CSV: scan to line ``row + 2`` (the file is read up to it, chunk by chunk) and parse it."""
    path, where = plan.files[file_index], plan.shown_files[file_index]
    header = plan.csv_headers[file_index]
    skip = row  # line ends before the row's line
    line = b""
    with plan.fs.open(path, "rb") as f:
        f.seek(header.body_start)
        while chunk := bytes(f.read(CSV_CHUNK)):
            if skip:
                newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
                if len(newlines) < skip:
                    skip -= len(newlines)
                    continue
                chunk = chunk[int(newlines[skip - 1]) + 1 :]
                skip = 0
            end = chunk.find(b"\n")
            line += chunk if end < 0 else chunk[: end + 1]
            if end >= 0:
                break
    if skip or not line:
        raise IndexError(f"row {row} is beyond {where}")
    value = csv_snapshot.parse_rows(line, header.names, row + 2).column("user_id")[0].as_py()
    return str(value.decode("utf-8", errors="replace"))
