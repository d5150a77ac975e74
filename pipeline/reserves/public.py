"""The reserves a month publishes: every address with its balance and its ownership status, as
``public/reserves.parquet`` and in the CSV layout existing tools read (``public/reserves.csv``),
and the per-asset sums by status that the report's two ratios come from.

``verified_reserves`` gives all three from the verified batches of ``verify_reserves`` (kept with
their proof columns): the reserves are read once, and the public files are made as they are written
(``PublicFiles.write``: never held whole). ``status_totals``, ``public_files`` and ``read_rows`` are
the same, step by step, from rows read again."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, Iterator, Mapping, Protocol, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError, PorError
from ..formats.assets import Asset
from ..ownership.check import BOUND, STATUSES
from ..protocol.amounts import to_units
from .input import Amounts, Reserves, total_reserves, word_sum
from .okx_csv import EXACT, okx_csv_parts
from .ownership import PROOF_COLUMNS, PROOF_TYPES, Ownership

CSV_NAME = "reserves.csv"
PARQUET_NAME = "reserves.parquet"
ROW_GROUP = 65_536
"""The rows of a row group of ``PARQUET_NAME`` (the last one fewer): the file's layout is a function of
its row count (``schemas/reserves.md``)."""


def _amounts(reserves: Reserves) -> Amounts:
    """The reserves' amounts as columns (an ``Amounts`` already, or a list of pairs made one)."""
    if isinstance(reserves.amounts, Amounts):
        return reserves.amounts
    pairs = list(reserves.amounts)
    values = [v for _, v in pairs]
    return Amounts(pa.array([s for s, _ in pairs], pa.string()), np.array([v >> 64 for v in values], np.uint64),
                   np.array([v & (2**64 - 1) for v in values], np.uint64))


def status_totals(reserves: Reserves, ownership: Ownership) -> dict[str, dict[str, int]]:
    """asset -> status -> smallest units (every status present, zeros included)."""
    if len(reserves.amounts) != ownership.rows:
        raise InputError(f"the reserves hold {len(reserves.amounts)} rows but {ownership.rows} were verified")
    amounts = _amounts(reserves)
    verified = ownership.table.column("asset").combine_chunks()
    differ = np.flatnonzero(~pc.equal(verified, amounts.assets).fill_null(False).to_numpy(zero_copy_only=False))
    if len(differ):
        i = int(differ[0])
        raise InputError(f"reserve row {i}: verified as {verified[i].as_py()}, read as {amounts.assets[i].as_py()}")
    encoded = pc.dictionary_encode(amounts.assets)
    symbols = encoded.dictionary.to_pylist()
    group = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64) * len(STATUSES) + ownership.codes
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    bounds = np.flatnonzero(np.diff(sorted_group)) + 1
    out: dict[str, dict[str, int]] = {s: dict.fromkeys(STATUSES, 0) for s in symbols}
    hi, lo = amounts.hi[order], amounts.lo[order]
    for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(order)], strict=True):
        if a == b:
            continue
        g = int(sorted_group[a])
        out[symbols[g // len(STATUSES)]][STATUSES[g % len(STATUSES)]] += word_sum(hi[a:b], lo[a:b])
    return out


def bound_ratio(liabilities: int, by_status: Mapping[str, int] | None) -> str | None:
    """Bound reserves over liabilities, percent with two decimals rounded down (None without liabilities)."""
    if liabilities == 0:
        return None
    bp = (by_status or {}).get(BOUND, 0) * 10_000 // liabilities
    return f"{bp // 100}.{bp % 100:02d}"


def _mul_words(hi: np.ndarray, lo: np.ndarray, factor: int) -> np.ndarray:
    """``(hi, lo) × factor`` (``factor`` below 2^128) as four little-endian 64-bit words per value:
    schoolbook multiplication over 32-bit limbs, every partial sum below 2^64."""
    mask = np.uint64(0xFFFFFFFF)
    half = np.uint64(32)
    a = [lo & mask, lo >> half, hi & mask, hi >> half]
    m = [(factor >> (32 * k)) & 0xFFFFFFFF for k in range(4)]
    columns = [np.zeros(len(lo), np.uint64) for _ in range(9)]
    for i, ai in enumerate(a):
        for k, mk in enumerate(m):
            if not mk:
                continue
            product = ai * np.uint64(mk)
            columns[i + k] += product & mask
            columns[i + k + 1] += product >> half
    limbs = []
    carry = np.zeros(len(lo), np.uint64)
    for c in columns[:8]:
        total = c + carry
        limbs.append(total & mask)
        carry = total >> half
    out = np.empty((len(lo), 4), np.uint64)
    for w in range(4):
        out[:, w] = limbs[2 * w] | (limbs[2 * w + 1] << half)
    return out


def whole_units(amounts: Amounts, decimals: Mapping[str, int]) -> pa.Array:
    """Each amount in whole units as ``decimal256(76, 38)``, exactly (``Decimal(v).scaleb(-d)``)."""
    n = len(amounts)
    digits = np.array([decimals[s] for s in amounts.assets.to_pylist()], np.int64) if n else np.zeros(0, np.int64)
    words = np.zeros((n, 4), np.uint64)
    for d in np.unique(digits).tolist():
        if d > 38:  # more places than the column holds: as pyarrow converts (and refuses) each value
            return pa.array([Decimal(v).scaleb(-decimals[s], EXACT) for s, v in amounts], pa.decimal256(76, 38))
        rows = np.flatnonzero(digits == d)
        factor = 10 ** (38 - d)
        limit = (10**76 - 1) // factor
        hi, lo = amounts.hi[rows], amounts.lo[rows]
        if limit < 2**128 and ((hi > np.uint64(limit >> 64)) | ((hi == np.uint64(limit >> 64)) & (lo > np.uint64(limit & (2**64 - 1))))).any():
            return pa.array([Decimal(v).scaleb(-decimals[s], EXACT) for s, v in amounts], pa.decimal256(76, 38))
        words[rows] = _mul_words(hi, lo, factor)
    return pa.Array.from_buffers(pa.decimal256(76, 38), n, [None, pa.py_buffer(words.tobytes())])


def units_text(amounts: Amounts, decimals: Mapping[str, int]) -> pa.Array:
    """Each amount in whole units with exactly its asset's decimals (``protocol.amounts.to_units``)."""
    n = len(amounts)
    if not n:
        return pa.array([], pa.string())
    digits = np.array([decimals[s] for s in amounts.assets.to_pylist()], np.int64)
    pieces: list[pa.Array] = []
    index = np.zeros(n, np.int64)
    at = 0
    for d in np.unique(digits).tolist():
        rows = np.flatnonzero(digits == d)
        hi, lo = amounts.hi[rows], amounts.lo[rows]
        text = pa.array(lo, pa.uint64()).cast(pa.string())
        big = np.flatnonzero(hi != 0)
        if len(big):  # 2^64 smallest units or more: their digits in Python
            values = [str((h << 64) | v) for h, v in zip(hi[big].tolist(), lo[big].tolist(), strict=True)]
            order = np.arange(len(rows))
            order[big] = len(rows) + np.arange(len(big))
            text = pa.concat_arrays([text, pa.array(values, pa.string())]).take(pa.array(order))
        if d:
            padded = pc.utf8_lpad(text, width=d + 1, padding="0")
            text = pc.binary_join_element_wise(pc.utf8_slice_codeunits(padded, 0, -d), pc.utf8_slice_codeunits(padded, -d),
                                               ".")
        pieces.append(text)
        index[rows] = at + np.arange(len(rows))
        at += len(rows)
    return pa.concat_arrays(pieces).take(pa.array(index))


class Sink(Protocol):
    """Where a public file goes as it is made: anything with ``write`` (a file, a digesting writer)."""

    def write(self, data: bytes | pa.Buffer, /) -> Any: ...


class PublicFiles(Mapping[str, bytes]):
    """The two public files (``CSV_NAME``, ``PARQUET_NAME``) from columns: the verdicts, each row's proof
    columns as written (``PROOF_COLUMNS``), chain and address as written, the amounts. ``write``
    streams one into a file object as it is made (the client never holds a whole file); reading an item
    makes its bytes (the same bytes)."""

    def __init__(self, amounts: Amounts, ownership: Ownership, proofs: Mapping[str, pa.Array | pa.ChunkedArray],
                 chains: pa.Array | pa.ChunkedArray, addresses: pa.Array | pa.ChunkedArray,
                 decimals: Mapping[str, int]) -> None:
        self._amounts, self._ownership, self._proofs = amounts, ownership, proofs
        self._chains, self._addresses, self._decimals = chains, addresses, decimals

    def __getitem__(self, name: str) -> bytes:
        if name not in (CSV_NAME, PARQUET_NAME):
            raise KeyError(name)
        out = io.BytesIO()
        self.write(name, out)
        return out.getvalue()

    def __iter__(self) -> Iterator[str]:
        return iter((CSV_NAME, PARQUET_NAME))

    def __len__(self) -> int:
        return 2

    def write(self, name: str, sink: Sink) -> None:
        """Write the file ``name`` into ``sink``, part by part."""
        if name == PARQUET_NAME:
            self._parquet(sink)
        elif name == CSV_NAME:
            for part in self._csv():
                sink.write(part)
        else:
            raise KeyError(name)

    def _parquet(self, sink: Sink) -> None:
        """Row groups of ``ROW_GROUP`` rows (the last one fewer), each made from its rows alone: the
        bytes are a function of the rows (not of how the verified batches were cut), and the client
        holds one group's columns at a time besides the batches."""
        amounts, table, proofs = self._amounts, self._ownership.table, self._proofs
        n = table.num_rows
        writer = None
        for a in range(0, max(n, 1), ROW_GROUP):
            def part(column: pa.Array | pa.ChunkedArray, a: int = a) -> pa.Array:
                return _one(column.slice(a, ROW_GROUP))

            group = Amounts(amounts.assets.slice(a, ROW_GROUP), amounts.hi[a:a + ROW_GROUP], amounts.lo[a:a + ROW_GROUP])
            columns = pa.table({
                "row": part(table.column("row")),
                "chain": part(self._chains),
                "address": part(self._addresses),
                "asset": _one(group.assets),
                "balance": whole_units(group, self._decimals),
                "height": part(table.column("height")),
                "signatures": _empty_for_null(part(proofs["signatures"])),
                "message": part(proofs["message"]),
                "script": part(proofs["script"]),
                "owners": _empty_for_null(part(proofs["owners"])),
                "status": part(table.column("status")).cast(pa.string()),
                "reason": part(table.column("reason")).cast(pa.string()),
                "note": part(table.column("note")).cast(pa.string()),
            })
            if writer is None:
                # the bytes do not depend on the sink: pyarrow writes the same pages to a file object as to a buffer
                writer = pq.ParquetWriter(_Writes(sink), columns.schema, compression="zstd", write_statistics=False)
            writer.write_table(columns, row_group_size=ROW_GROUP)
            del columns, group
        assert writer is not None
        writer.close()

    def _csv(self) -> Iterator[bytes | pa.Buffer]:
        amounts, decimals, proofs = self._amounts, self._decimals, self._proofs
        held = self._ownership.table.column("height")
        encoded = pc.dictionary_encode(amounts.assets)
        symbols = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        totals = {s: to_units(word_sum(amounts.hi[codes == k], amounts.lo[codes == k]), decimals[s])
                  for k, s in enumerate(symbols)}
        heights = {}
        for k, s in enumerate(symbols):
            distinct = pc.unique(held.filter(pa.array(codes == k)))
            if len(distinct) == 1 and distinct[0].is_valid:
                heights[s] = str(distinct[0].as_py())
        yield from okx_csv_parts({"coin": amounts.assets, "chain": self._chains, "height": held,
                                  "address": self._addresses, "balance": units_text(amounts, decimals),
                                  "message": proofs["message"], "signatures": proofs["signatures"],
                                  "script": proofs["script"], "owners": proofs["owners"]}, totals, heights)


class _Writes:
    """A ``Sink`` as pyarrow takes a file object to write to (open; never closed by pyarrow)."""

    closed = False

    def __init__(self, sink: Sink) -> None:
        self.write = sink.write


def _one(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as one array (the Parquet file's pages as a column of one chunk writes them); a column of
    one chunk is that chunk (``combine_chunks`` would copy it)."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _empty_for_null(lists: pa.Array) -> pa.Array:
    """A list column with an empty list for each null (``fill_null([])``), without a copy of its values
    when every null slot holds none (as the workers' batches hold them): the same offsets and values
    without the validity bitmap."""
    if not lists.null_count:
        return lists
    raw = np.diff(lists.offsets.to_numpy(zero_copy_only=False))
    if raw[lists.is_null().to_numpy(zero_copy_only=False)].any():
        return lists.fill_null(pa.scalar([], lists.type))
    return pa.Array.from_buffers(lists.type, len(lists), [None, lists.buffers()[1]], offset=lists.offset,
                                 children=[lists.values])


def public_files(reserves: Reserves, ownership: Ownership, rows: Sequence[Mapping[str, Any]],
                 decimals: Mapping[str, int]) -> dict[str, bytes]:
    """The two public files (balances in whole units, exact). ``rows`` are the input rows (chain, address, asset, height, signatures,
    message, script, owners) in input order."""
    return dict(_from_rows(reserves, ownership, rows, decimals))


def _from_rows(reserves: Reserves, ownership: Ownership, rows: Sequence[Mapping[str, Any]],
               decimals: Mapping[str, int]) -> PublicFiles:
    proofs = {c: pa.array([list(r.get(c) or []) if c in ("signatures", "owners") else r.get(c) for r in rows],
                          PROOF_TYPES[c]) for c in PROOF_COLUMNS}
    return PublicFiles(_amounts(reserves), ownership, proofs, pa.array([r["chain"] for r in rows], pa.string()),
                       pa.array([r["address"] for r in rows], pa.string()), decimals)


def verified_reserves(ownership: Ownership, assets: Sequence[Asset]) -> tuple[
        Reserves, dict[str, dict[str, int]], PublicFiles]:
    """The month's reserves from the verified batches of Parquet reserves (``verify_reserves`` with
    ``keep_proofs``, the default): totals (``load_reserves``' checks and figures), sums by status
    (``status_totals``) and the public files (``public_files``'s bytes, made as they are written:
    ``PublicFiles.write``), without reading the reserves again. Batches without their proof columns (or
    from the CSV layout) are refused: what would be published could not be shown to be what was
    verified (``status_totals``, ``public_files`` and ``read_rows`` are the step-by-step way, for rows
    read again by the caller)."""
    decimals = {a.symbol: a.decimals for a in assets}
    kept = (ownership.sources and all(s.balance is not None or not s.rows for s in ownership.sources)
            and "given_height" in ownership.table.column_names)
    if not kept:
        raise PorError("verified_reserves takes Parquet reserves verified with their proof columns "
                       "(verify_reserves(..., keep_proofs=True)); these were verified without them",
                       value=ownership.url)
    table = ownership.table
    files = []
    for s in ownership.sources:
        part = table.slice(s.start, s.rows)
        balance = s.balance if s.balance is not None else pa.chunked_array([], pa.string())  # a file without rows
        files.append((s.path, pa.table({"chain": part.column("chain"), "address": part.column("address"),
                                        "asset": part.column("asset"), "balance": balance,
                                        "height": part.column("given_height")})))
    reserves = total_reserves(files, assets, ownership.declared, ownership.source, ownership.repeats)
    del files
    by_status = status_totals(reserves, ownership)
    amounts = reserves.amounts
    assert isinstance(amounts, Amounts)
    return reserves, by_status, PublicFiles(amounts, ownership, {c: table.column(c) for c in PROOF_COLUMNS},
                                            table.column("chain"), table.column("address"), decimals)


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
