"""Reading one fragment of the snapshot (worker side): validate, convert, key, split by group.

Amounts are converted exactly to smallest units as two ``uint64`` lanes, every user's key
``uk`` is computed, and the rows are split by the first ``group_bits`` bits of ``uk`` into
the fragment's shuffle file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from blake3 import blake3

from ..errors import BadValue, Problem
from ..formats.columns import amount_words, amounts_to_u128, first_index
from ..protocol import v1
from ..protocol.keys import SecretKey
from ..protocol.userid import MAX_USER_ID_BYTES, user_id_problem
from ..storage import fs as storage
from ..storage.bundle import Bundle
from ..tree import blake3_batch
from ..tree.shape import top_bits
from .rows import Part, SparseAmounts
from .shuffle import write_parts
from .snapshot import LONG, WIDE, Fragment, SnapshotPlan


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


def read_fragment(fragment: Fragment, index: int, spec: ReadSpec) -> FragmentResult:
    """Read, validate and convert fragment number ``index``; split its rows by group of
    ``uk`` into the shuffle file of the fragment (``shuffle.write_parts``).

    Invalid data is returned as ``FragmentResult.problem`` (naming file, column,
    row and value), not raised, so that workers do not log user data.
    """
    plan = spec.plan
    where = plan.shown_files[fragment.file_index]
    try:
        def read() -> pa.Table:
            with plan.fs.open(plan.files[fragment.file_index], "rb") as f:
                return pq.ParquetFile(f).read_row_groups(list(fragment.row_groups))

        table = storage.retrying(read)
    except (pa.ArrowException, OSError) as exc:
        return FragmentResult(Problem(f"cannot read row groups {list(fragment.row_groups)} ({exc})", where))
    table = table.combine_chunks()
    n = table.num_rows
    column = "user_id"
    try:
        ids = _user_ids(table.column("user_id").chunk(0) if n else pa.array([], pa.string()))
        symbols = [a.symbol for a in plan.assets]
        assets_seen: frozenset[str] = frozenset(symbols)
        asset_index = None
        values: SparseAmounts | np.ndarray
        if plan.layout == WIDE:
            # rows travel sparse (most users hold a few assets), never as a dense (n, m) copy
            words = []
            for asset in plan.assets:
                column = asset.symbol
                words.append(amount_words(table.column(asset.symbol).chunk(0), asset.decimals))
            values = SparseAmounts.from_columns(words)
        else:
            column = "asset"
            asset_col = table.column("asset").chunk(0).cast(pa.string())
            if asset_col.null_count:
                raise BadValue(first_index(asset_col.is_null()), "null asset")
            found = pc.index_in(asset_col, value_set=pa.array(symbols, pa.string()))
            if found.null_count:
                i = first_index(found.is_null())
                raise BadValue(i, f"asset {asset_col[i].as_py()!r} is not declared in the asset file")
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
                    except BadValue as exc:
                        raise BadValue(int(idx[exc.index]), exc.reason) from None
    except BadValue as exc:
        return FragmentResult(Problem(exc.reason, where, column, fragment.first_row + exc.index))

    if plan.layout == LONG:
        encoded = ids.dictionary_encode()
        uniq = user_keys(encoded.dictionary, spec.period, spec.k_nonce)
        uk = uniq[encoded.indices.to_numpy(zero_copy_only=False)]
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
        np.full(n, fragment.file_index, dtype=np.int32),
        np.arange(fragment.first_row, fragment.first_row + n, dtype=np.int64),
    ).take(order)
    bounds = np.searchsorted(groups[order], np.arange((1 << spec.group_bits) + 1))
    parts = [whole.slice(int(bounds[g]), int(bounds[g + 1])) for g in range(1 << spec.group_bits)]
    write_parts(spec.scratch, index, parts)
    buckets = None
    if spec.count_bits is not None:
        buckets = np.unique(top_bits(uk, spec.count_bits), return_counts=True)
    return FragmentResult(assets_seen=assets_seen, digest=content.hexdigest(), buckets=buckets)


def _raw(array: np.ndarray) -> memoryview:
    """An array's bytes as a flat uint8 buffer (also for empty arrays, which ``memoryview.cast`` refuses)."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return memoryview(flat)  # type: ignore[arg-type]  # ndarray exports the buffer protocol; its stubs say so from 3.12


def user_id_at(plan: SnapshotPlan, file_index: int, row: int) -> str:
    """The ``user_id`` of row ``row`` of snapshot file ``file_index``, as text (for error messages:
    rows travel through the shuffle without their ids)."""
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
