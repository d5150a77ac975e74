"""Every reserve row's ownership proof, verified on the Dask cluster in chunks of rows, the results
kept as columns (Arrow) from the workers to the files.

The worker side reads its own chunk (row groups of a Parquet file, or rows parsed from the
published CSV layout), runs the pure ``ownership.check`` on each row and sends back one Arrow table:
the verdicts (reasons and notes dictionary-encoded: a month's rows share a few), and the columns the
client needs of the rows (with ``keep_proofs``, the proof columns too, so that the public files are
written from these batches without reading the reserves again: ``public.verified_reserves``). The
client puts the tables end to end and finds the same wallet listed twice (same chain, canonical
address and asset, however it was spelled) with a group-by over the wallet keys' parts (numpy over
their dictionary codes, never a Python dict of rows): the later row is ``invalid``, naming the
first. Every row is held to its chain's one snapshot height (``pipeline.reserves.heights``).

A slice of one large row group is read by streaming the group in batches of the slice's size; a
worker keeps the group it streams open between its tasks of one run (its tasks come in file order),
so that a file of one large row group is decoded about once per worker, not once per task.

A contract wallet signed by its owners over this period's challenge is ``unbound`` on their word;
with a node for its chain it becomes ``bound`` only when the node confirms, at the chain's snapshot
height, that the address is a contract whose Safe-compatible ``getOwners()`` holds every signer and
whose ``getThreshold()`` the distinct signers meet (``pipeline.onchain.safe``).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, Mapping, NamedTuple, Sequence, TypedDict, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from blake3 import blake3

from ..errors import InputError
from ..mapping import Mapper
from ..onchain import safe
from ..ownership.chains import find_chain
from ..ownership.check import BOUND, INVALID, MAX_SIGNATURES, MISSING, STATUSES, UNBOUND, ProofRow, Status, check_row
from ..storage import fs as storage
from .heights import hold_heights, okx_coin_heights, okx_row_height
from .input import check_format
from .nodes import Node, balance_client, probe_chains
from .okx_csv import (OkxFile, OkxHead, OkxRow, OkxSpan, coin_sums, merge_sums, plan_okx_csv, read_okx_csv,
                      read_okx_span, sums_disagreements)
from .results import write_table
from .rpc import JsonRpc, NodeUnreachable

CHUNK_ROWS = 20_000
"""The most rows of a task."""
MIN_CHUNK_ROWS = 2_000
TASKS = 32
"""By default a task holds ``CHUNK_ROWS`` rows, or fewer (not below ``MIN_CHUNK_ROWS``) so that the
reserves make ``TASKS`` tasks: enough for the workers to share them out evenly (the rows' cost
varies from family to family, and a file's rows are often grouped by asset)."""


def chunk_size(rows: int) -> int:
    """The rows of a task for reserves of ``rows`` rows (``CHUNK_ROWS``, ``MIN_CHUNK_ROWS``, ``TASKS``)."""
    return max(MIN_CHUNK_ROWS, min(CHUNK_ROWS, -(-rows // TASKS)))
RESULT_FIELDS = ("row", "file", "chain", "address", "asset", "status", "reason", "note")
"""The per-row results file's columns: fields of ``OwnershipRecord``, by the same names."""
RESULT_SCHEMA = pa.schema([("row", pa.int64())] + [(k, pa.string()) for k in RESULT_FIELDS[1:]])
RECORD_FIELDS = ("row", "file", "chain", "address", "asset", "balance", "height", "status", "reason", "note")
"""``OwnershipRecord``'s keys, in order: the first columns of ``Ownership.table``."""
PROOF_COLUMNS = ("signatures", "message", "script", "owners")
"""The proof columns ``verify_reserves(keep_proofs=True)`` keeps (the public files hold them)."""
PROOF_TYPES = {"signatures": pa.list_(pa.string()), "message": pa.string(), "script": pa.string(),
               "owners": pa.list_(pa.string())}
_CODE: dict[str, np.int8] = {s: np.int8(i) for i, s in enumerate(STATUSES)}
_NAMES = pa.array([str(s) for s in STATUSES], pa.string())
_INVALID = _CODE[INVALID]


class OwnershipRecord(TypedDict):
    """One input row's ownership verdict (``Ownership.records``); the per-row results file holds its
    ``RESULT_FIELDS``."""

    row: int
    """0-based over all files, in input order."""
    file: str
    """The Parquet file the row is in (its URL), or ``line N`` of the CSV layout."""
    chain: str
    """As written."""
    address: str
    """As written."""
    asset: str
    balance: str
    """As written: a decimal of whole units, or an integer of smallest units (an integer column), as text."""
    height: int | None
    """The chain's snapshot height (``pipeline.reserves.heights``), or None."""
    status: str
    """One of ``ownership.check.STATUSES``."""
    reason: str
    note: str


class Source(NamedTuple):
    """One Parquet file of the reserves, as the verified rows came from it."""

    path: str
    """As the reserves' listing names it (``load_reserves``' messages name it so)."""
    start: int
    """Its first row's ``row``."""
    rows: int
    balance: pa.ChunkedArray | None
    """Its ``balance`` column as read (kept with the proofs: the public files' amounts)."""


class Records(Sequence[OwnershipRecord]):
    """Some rows of an ``Ownership`` as ``OwnershipRecord``s, made when read (``len`` and slices
    without making the others)."""

    def __init__(self, ownership: Ownership, rows: np.ndarray) -> None:
        self._ownership = ownership
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> OwnershipRecord: ...

    @overload
    def __getitem__(self, i: slice) -> list[OwnershipRecord]: ...

    def __getitem__(self, i: int | slice) -> OwnershipRecord | list[OwnershipRecord]:
        if isinstance(i, slice):
            return self._ownership._records(self._rows[i])
        return self._ownership._records(self._rows[[i]])[0]

    def __iter__(self) -> Iterator[OwnershipRecord]:
        for a in range(0, len(self._rows), 65_536):
            yield from self._ownership._records(self._rows[a:a + 65_536])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Records({len(self)} rows)"


@dataclass
class Ownership:
    """One verdict per input row, in input order (``row`` is 0-based over all files), as columns:
    ``table`` holds ``RECORD_FIELDS`` (``file`` dictionary-encoded) and, verified with
    ``keep_proofs``, ``PROOF_COLUMNS`` and ``given_height`` (each row's height as written)."""

    table: pa.Table
    codes: np.ndarray
    """Each row's status as its index in ``STATUSES`` (int8)."""
    totals_disagreements: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    """The Parquet files, in order (none for the CSV layout)."""
    declared: Mapping[str, int] | None = None
    """The reserves' declared heights (``input.declared_heights``), and where they are: ``source``."""
    source: str = "the rows"
    url: str = ""
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    repeats: np.ndarray | None = None
    """Rows whose wallet (``wallet_key``) another row shares, and rows whose address has no canonical
    spelling (bool per row). The canonical spelling is a function of the chain and address as written,
    so every row that writes another's (chain, address, asset) again is among them: the rows
    ``input.total_reserves`` looks at for that (None: every row)."""
    _all: list[OwnershipRecord] | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    @property
    def records(self) -> list[OwnershipRecord]:
        """Every row as an ``OwnershipRecord`` (made on first use; the columns are the reference)."""
        if self._all is None:
            self._all = self._records(np.arange(self.rows))
        return self._all

    def _records(self, rows: np.ndarray) -> list[OwnershipRecord]:
        if not len(rows):
            return []
        picked = self.table.select(list(RECORD_FIELDS)).take(pa.array(rows, pa.int64()))
        out: list[OwnershipRecord] = picked.to_pylist()
        for r in out:
            r["status"] = Status(r["status"])
        return out

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.codes, minlength=len(STATUSES))
        return {s: int(found[i]) for i, s in enumerate(STATUSES)}

    def per_asset(self) -> dict[str, dict[str, Decimal]]:
        """asset -> status -> amount (as written in the input: whole units, or smallest units for
        an integer column), exact (added in row order, as ``Decimal`` adds)."""
        encoded = pc.dictionary_encode(self.table.column("asset").combine_chunks())
        assets = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        group = assets * len(STATUSES) + self.codes
        order = np.argsort(group, kind="stable")
        balances = self.table.column("balance").take(pa.array(order)).to_pylist()
        bounds = np.flatnonzero(np.diff(group[order])) + 1
        out: dict[str, dict[str, Decimal]] = {a: dict.fromkeys(STATUSES, Decimal(0))
                                              for a in encoded.dictionary.to_pylist()}
        names = encoded.dictionary.to_pylist()
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(order)], strict=True):
            if lo == hi:
                continue
            g = int(group[order[lo]])
            per = out[names[g // len(STATUSES)]]
            status = STATUSES[g % len(STATUSES)]
            total = per[status]
            for text in balances[lo:hi]:
                total += Decimal(text)
            per[status] = total
        return out

    def invalid(self) -> Records:
        return Records(self, np.flatnonzero(self.codes == _INVALID))

    def not_checked(self) -> Records:
        """Rows that sign the period's challenge when none was given (``missing``, ``NOT_CHECKED``)."""
        missing = self.codes == _CODE[MISSING]
        if missing.any():
            missing &= pc.equal(self.table.column("reason"), NOT_CHECKED).to_numpy(zero_copy_only=False)
        return Records(self, np.flatnonzero(missing))

    def results_table(self) -> pa.Table:
        """The per-row results file's columns (``RESULT_SCHEMA``), one chunk each."""
        table = self.table
        return pa.table({k: _plain(table.column(k)) if k != "row" else table.column(k).combine_chunks()
                         for k in RESULT_FIELDS}, schema=RESULT_SCHEMA)


NOT_CHECKED = ("not checked: the row names no message, so its signature is over this period's challenge, and no "
               "challenge was given (--period and --exchange, with --archive, or --challenge)")
"""Without a challenge, a row that names no message (it signs the period's challenge) cannot be checked:
``missing`` (nothing proves it for this run), never ``invalid`` (nothing was found wrong with it)."""


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def balance_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each balance as ``OwnershipRecord.balance`` writes it: an integer as its digits, a decimal
    without trailing zeros (``format(value.normalize(), "f")``)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    t = column.type
    if pa.types.is_integer(t):
        return column.cast(pa.string())
    if pa.types.is_decimal(t) and t.scale >= 0:
        text = column.cast(pa.string())  # exact; plain notation, or scientific for small values and zero
        odd = np.flatnonzero(pc.fill_null(pc.match_substring(text, "E"), False).to_numpy(zero_copy_only=False))
        plain = [_text(Decimal(v)) for v in text.take(pa.array(odd)).to_pylist()] if len(odd) else []
        if t.scale:
            text = pc.replace_substring_regex(text, pattern=r"\.?0+$", replacement="")
        if len(odd):
            index = np.arange(len(text))
            index[odd] = len(text) + np.arange(len(odd))
            text = pa.concat_arrays([text, pa.array(plain, pa.string())]).take(pa.array(index))
        return text
    return pa.array([None if v is None else _text(v) for v in column.to_pylist()], pa.string())


def wallet_key(chain: str, canonical: str, asset: str) -> str:
    """One wallet, however it is spelled: the chain's canonical name, the canonical address, the asset."""
    return f"{chain}|{canonical}|{asset}"


WALLET_DIGEST = 16
"""Bytes of ``wallet_digest``: two rows are one wallet when their keys' digests are the same (a
different key with the same 128-bit BLAKE3 digest would be a collision of BLAKE3)."""


def wallet_digest(chain: str, canonical: str, asset: object) -> bytes:
    """The first ``WALLET_DIGEST`` bytes of the BLAKE3 of ``wallet_key`` (a null asset written ``None``)."""
    return blake3(wallet_key(chain, canonical, str(asset)).encode("utf-8", "surrogatepass")).digest(WALLET_DIGEST)


def duplicate_reason(first: Mapping[str, object]) -> str:
    """The reason of a later row listing the wallet of record ``first`` (its row, file, chain, address)."""
    return (f"the same wallet as row {first['row']} ({first['file']}: {first['chain']} {first['address']!r}); "
            "one address, one row")


class ParquetTask(NamedTuple):
    """Worker side: rows ``start:stop`` of some row groups of one Parquet file, checked."""

    path: str
    """The file's URL."""
    storage_options: Mapping[str, Any]
    groups: list[int]
    """Row groups of the file, in order."""
    challenge: str | None
    start: int
    stop: int
    step: int
    """A slice of one large group starts at a multiple of ``step`` and spans at most ``step`` rows."""
    keep: bool = False
    """Send the proof columns back too."""
    run: str = ""
    """The run's token: a worker streams one large row group across the run's tasks, never across runs."""
    sliced: bool = False
    """A slice of one large row group (``start`` a multiple of ``step``, at most ``step`` rows)."""


class OkxTask(NamedTuple):
    """Worker side: a span of the published CSV layout's address rows (``okx_csv.plan_okx_csv``), read
    from the file and checked."""

    url: str
    storage_options: Mapping[str, Any]
    span: OkxSpan
    head: OkxHead
    coins: Mapping[str, tuple[int, int]]
    """Each coin's height in the totals block (``heights.okx_coin_heights``)."""
    challenge: str | None
    keep: bool = False


class OkxPart(NamedTuple):
    """Worker side: a span's rows checked (``table``), each coin's rows added up (exact decimals as
    text), or the first refusal of a row (``refused``: what reading it found, ``conflict``: a height
    other than its coin's in the totals block; ``table`` is then None)."""

    table: pa.Table | None
    sums: dict[str, str]
    refused: str = ""
    conflict: str = ""


def _verdicts(chains: Sequence[Any], addresses: Sequence[Any], assets: Sequence[Any], signatures: Sequence[Any],
              messages: Sequence[Any], scripts: Sequence[Any], owners: Sequence[Any],
              challenge: str | None) -> dict[str, pa.Array]:
    """Worker side: the verdict of each row, with what the client needs to find duplicates (each
    row's ``wallet_digest``, null where the address does not decode) and to confirm contract wallets
    (their canonical address, "" for every other row)."""
    n = len(chains)
    status = np.empty(n, np.int8)
    reason: list[str] = [""] * n
    note: list[str] = [""] * n
    wallet: list[bytes | None] = [None] * n
    canonical: list[str] = [""] * n
    pending = np.zeros(n, bool)
    signers: list[tuple[str, ...]] = [()] * n
    code = _CODE
    for i in range(n):
        v = check_row(ProofRow(chains[i], addresses[i], tuple(signatures[i] or ()), messages[i], scripts[i],
                               tuple(owners[i] or ())), challenge)
        status[i] = code[v.status]
        reason[i] = v.reason
        if challenge is None and v.status == INVALID and messages[i] is None and v.canonical \
                and 0 < len(signatures[i] or ()) <= MAX_SIGNATURES:
            # check_row's refusal of a row it could not check for want of a challenge: its chain and address
            # passed (a canonical spelling), it carries 1 to MAX_SIGNATURES signatures and no message
            status[i], reason[i] = code[MISSING], NOT_CHECKED
        note[i] = v.note
        if v.canonical:
            wallet[i] = wallet_digest(v.chain, v.canonical, assets[i])
        if v.pending:
            pending[i] = True
            signers[i] = v.signers
            canonical[i] = v.canonical
    return {"status": pa.array(status, pa.int8()), "reason": pa.array(reason, pa.string()).dictionary_encode(),
            "note": pa.array(note, pa.string()).dictionary_encode(),
            "wallet": pa.array(wallet, pa.binary(WALLET_DIGEST)),
            "canonical": pa.array(canonical, pa.string()), "pending": pa.array(pending, pa.bool_()),
            "signers": pa.array(signers, pa.list_(pa.string()))}


def _column(table: pa.Table, name: str, kind: pa.DataType) -> pa.Array:
    """``table``'s column ``name`` as ``kind`` (nulls when the file has no such column)."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, kind)
    return table.column(name).combine_chunks().cast(kind)


def _checked(table: pa.Table, challenge: str | None, file: pa.Array, keep: bool) -> pa.Table:
    """Worker side: a chunk of reserve rows (Parquet columns) checked, as one table."""
    lists = {c: (table.column(c).to_pylist() if c in table.column_names else [None] * table.num_rows)
             for c in ("chain", "address", "asset", *PROOF_COLUMNS)}
    out = {"file": file, "chain": _column(table, "chain", pa.string()), "address": _column(table, "address", pa.string()),
           "asset": _column(table, "asset", pa.string()), "balance": balance_text(table.column("balance")),
           "height": _column(table, "height", pa.int64()),
           **_verdicts(lists["chain"], lists["address"], lists["asset"], lists["signatures"], lists["message"],
                       lists["script"], lists["owners"], challenge)}
    if keep:
        out.update({c: _column(table, c, PROOF_TYPES[c]) for c in PROOF_COLUMNS})
        out["amount"] = table.column("balance").combine_chunks()
    return pa.table(out)


class _OpenGroup:
    """Worker side: one large row group being streamed, batch by batch."""

    def __init__(self, key: tuple[str, str, int, int], options: Mapping[str, Any]) -> None:
        _, path, group, step = key
        self.key = key
        fs, _ = storage.open_fs(path, options)
        self.file = fs.open(path, "rb")
        pf = pq.ParquetFile(self.file)
        self.rows = pf.metadata.row_group(group).num_rows
        self.batches = pf.iter_batches(batch_size=step, row_groups=[group])
        self.next = 0

    def close(self) -> None:
        self.file.close()


_STREAMING: dict[str, _OpenGroup] = {}
"""Worker side: the one large row group this worker streams (``"open"``), between tasks of one run."""
_STREAMING_LOCK = threading.Lock()


def _streamed(task: ParquetTask) -> pa.Table:
    """A slice of one large row group (shared by several tasks): the group streamed in batches of the
    slice's size, never the whole group in memory; the worker keeps the stream open for its next
    slice of the same run (a later slice: the batches between are decoded, not kept), so that each
    worker decodes the group about once, whatever the number of slices."""
    key = (task.run, task.path, task.groups[0], task.step)
    index = task.start // task.step
    with _STREAMING_LOCK:
        stream = _STREAMING.pop("open", None)
        if stream is None or stream.key != key or stream.next > index:
            if stream is not None:
                stream.close()
            stream = _OpenGroup(key, task.storage_options)
        try:
            while stream.next < index:
                next(stream.batches)
                stream.next += 1
            batch = next(stream.batches)
            stream.next += 1
        except BaseException:
            stream.close()
            raise
        if task.run and stream.next * task.step < stream.rows:
            _STREAMING["open"] = stream
        else:
            stream.close()
    assert batch.num_rows == task.stop - task.start, (task.path, task.groups, task.start, task.stop)
    return pa.Table.from_batches([batch])


def _slice(task: ParquetTask) -> pa.Table:
    """Rows ``start:stop`` of the task's row groups."""
    if task.sliced:
        return _streamed(task)
    fs, _ = storage.open_fs(task.path, task.storage_options)
    with fs.open(task.path, "rb") as f:
        return pq.ParquetFile(f).read_row_groups(task.groups).slice(task.start, task.stop - task.start)


def _parquet_chunk(task: ParquetTask) -> pa.Table:
    table = _slice(task)
    file = pa.DictionaryArray.from_arrays(pa.array(np.zeros(table.num_rows, np.int32)), pa.array([task.path]))
    return _checked(table, task.challenge, file, task.keep)


def _okx_span(task: OkxTask) -> OkxPart:
    """Worker side: the span's bytes read, its rows checked as ``read_okx_csv`` checks them (the first
    refused named), held at their coins' heights, and verified."""
    fs, path = storage.open_fs(task.url, task.storage_options)
    with fs.open(path, "rb") as f:
        f.seek(task.span.start)
        data = f.read(task.span.stop - task.span.start)
    try:
        rows = read_okx_span(data, task.span, task.head, task.url)
    except InputError as exc:
        return OkxPart(None, {}, refused=str(exc))
    del data
    for r in rows:
        try:
            r["height"] = okx_row_height(r, task.coins, task.url)
        except InputError as exc:
            return OkxPart(None, {}, conflict=str(exc))
    sums = {coin: str(total) for coin, total in coin_sums(rows).items()}
    return OkxPart(_okx_chunk(rows, task.challenge, task.keep), sums)


def _okx_chunk(rows: Sequence[OkxRow], challenge: str | None, keep: bool) -> pa.Table:
    lists = {c: [r[c] for r in rows] for c in ("chain", "address", "asset", "balance", "height", *PROOF_COLUMNS)}  # type: ignore[literal-required]
    out = {"file": pa.array([f"line {r['line']}" for r in rows], pa.string()),
           "chain": pa.array(lists["chain"], pa.string()), "address": pa.array(lists["address"], pa.string()),
           "asset": pa.array(lists["asset"], pa.string()), "balance": pa.array(lists["balance"], pa.string()),
           "height": pa.array(lists["height"], pa.int64()),
           **_verdicts(lists["chain"], lists["address"], lists["asset"], lists["signatures"], lists["message"],
                       lists["script"], lists["owners"], challenge)}
    if keep:
        out.update({c: pa.array(lists[c], PROOF_TYPES[c]) for c in PROOF_COLUMNS})
    return pa.table(out)


def _concat(parts: Sequence[pa.Table]) -> pa.Table:
    """The workers' tables end to end, as chunks (``amount``, whose type is each file's, apart)."""
    schema = parts[0].schema
    return pa.table({c: pa.chunked_array([chunk for p in parts for chunk in p.column(c).chunks], schema.field(c).type)
                     for c in schema.names if c != "amount"})


def _plan_parquet(url: str, opts: Mapping[str, Any], challenge: str | None, chunk_rows: int | None,
                  keep: bool) -> tuple[list[ParquetTask], list[tuple[str, str]]]:
    """The tasks over the reserves' Parquet files, and each file (as listed, and its URL)."""
    from .input import check_reserves, parquet_files

    fs, _ = storage.open_fs(url, opts)
    run = uuid.uuid4().hex
    tasks: list[ParquetTask] = []
    files = []
    metas = []
    for path in parquet_files(check_reserves(url, opts)):
        with fs.open(path, "rb") as f:
            metas.append((path, pq.ParquetFile(f).metadata))
    if chunk_rows is None:
        chunk_rows = chunk_size(sum(m.num_rows for _, m in metas))
    for path, meta in metas:
        shown = fs.unstrip_protocol(path)
        files.append((path, shown))
        groups: list[int] = []
        size = 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if n > chunk_rows:  # one large row group: several tasks, each a slice of it
                if groups:
                    tasks.append(ParquetTask(shown, opts, groups, challenge, 0, size, chunk_rows, keep, run))
                    groups, size = [], 0
                tasks += [ParquetTask(shown, opts, [g], challenge, a, min(a + chunk_rows, n), chunk_rows, keep, run, True)
                          for a in range(0, n, chunk_rows)]
                continue
            groups.append(g)
            size += n
            if size >= chunk_rows:
                tasks.append(ParquetTask(shown, opts, groups, challenge, 0, size, chunk_rows, keep, run))
                groups, size = [], 0
        if groups:
            tasks.append(ParquetTask(shown, opts, groups, challenge, 0, size, chunk_rows, keep, run))
    return tasks, files


def verify_reserves(mapper: Mapper, url: str, challenge: str | None, fmt: str = "parquet",
                    storage_options: Mapping[str, Any] | None = None, chunk_rows: int | None = None,
                    nodes: Sequence[Node] = (), period: str | None = None, keep_proofs: bool = True) -> Ownership:
    """Verify every row of the reserves at ``url`` (a Parquet file or directory, or one CSV file).
    ``nodes``: chain nodes that confirm contract wallets' owners (``period``: their snapshot blocks
    must be in the window before the period's end). ``chunk_rows``: rows per task (default
    ``chunk_size``). ``keep_proofs``: keep the proof columns, from
    which ``public.verified_reserves`` writes the public files (``False``: the verdicts alone, the
    least memory)."""
    check_format(fmt)
    opts = dict(storage_options or {})
    disagreements: list[str] = []
    sources: list[Source] = []
    declared: Mapping[str, int] | None = None
    source = "the rows"
    if fmt == "okx-csv":
        table, disagreements, held = _verify_okx(mapper, url, opts, challenge, chunk_rows, keep_proofs)
    else:
        from .input import declared_heights

        tasks, files = _plan_parquet(url, opts, challenge, chunk_rows, keep_proofs)
        parts = mapper(_parquet_chunk, tasks)
        table = _concat(parts) if parts else _empty(keep_proofs)
        sizes = np.array([p.num_rows for p in parts], np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        shown = [t.path for t in tasks]
        at = 0
        for path, url_of in files:
            mine = [k for k, t in enumerate(tasks) if t.path == url_of]
            rows = int(sizes[mine].sum()) if mine else 0
            balance = (pa.chunked_array([chunk for k in mine for chunk in parts[k].column("amount").chunks])
                       if keep_proofs and mine else None)
            sources.append(Source(path, at, rows, balance))
            at += rows
        del parts
        declared, source = declared_heights(url, opts)

        def where(i: int) -> str:
            return f"{shown[int(np.searchsorted(starts, i, side='right')) - 1]}, row {i}"

        held = hold_heights(table.column("chain"), table.column("height"), declared, source, where)
    return _settle(mapper, table, held, disagreements, nodes, period, keep_proofs, sources, declared, source, url, opts)


def _verify_okx(mapper: Mapper, url: str, opts: Mapping[str, Any], challenge: str | None, chunk_rows: int | None,
                keep: bool) -> tuple[pa.Table, list[str], pa.Array]:
    """The published CSV layout: the client reads the file's head and cuts its address rows into spans
    (never holding it whole, nor a Python record per row); each worker reads, checks and verifies its
    span's rows. What is refused is refused as ``read_okx_csv`` and ``heights.okx_declared`` refuse it, in
    that order: the first row that does not read (in file order), a totals-block height that is not a
    block number, the first row at another height than its coin's, then one height per chain."""
    fs, path = storage.open_fs(url, opts)
    if fs.isdir(path):
        raise InputError(f"{url}: --format okx-csv reads one CSV file, not a directory")
    with fs.open(path, "rb") as f:
        head, spans = plan_okx_csv(f, url, chunk_rows or chunk_size)
    totals_error: InputError | None = None
    try:
        coins = okx_coin_heights(head.totals, url)
    except InputError as exc:  # raised once the rows are known to read (as read_okx_csv then okx_declared)
        totals_error, coins = exc, {}
    parts: list[OkxPart] = mapper(_okx_span, [OkxTask(url, opts, s, head, coins, challenge, keep) for s in spans])
    for part in parts:
        if part.refused:
            raise InputError(part.refused)
    if totals_error is not None:
        raise totals_error
    for part in parts:
        if part.conflict:
            raise InputError(part.conflict)
    sums = merge_sums(p.sums for p in parts)
    tables = [p.table for p in parts if p.table is not None]
    del parts
    table = _concat(tables) if tables else _empty(keep)
    lines = table.column("file")

    def where(i: int) -> str:
        return f"{url}, {lines[i].as_py()}"

    held = hold_heights(table.column("chain"), table.column("height"), None, "the totals block", where)
    return table, sums_disagreements(head.totals, sums), held


def _empty(keep: bool) -> pa.Table:
    columns = {"file": pa.array([], pa.string()), "chain": pa.array([], pa.string()),
               "address": pa.array([], pa.string()), "asset": pa.array([], pa.string()),
               "balance": pa.array([], pa.string()), "height": pa.array([], pa.int64()),
               **_verdicts([], [], [], [], [], [], [], None)}
    if keep:
        columns.update({c: pa.array([], PROOF_TYPES[c]) for c in PROOF_COLUMNS})
    return pa.table(columns)


def _replaced(column: pa.ChunkedArray | pa.Array, rows: Sequence[int], values: Sequence[Any]) -> pa.Array | pa.ChunkedArray:
    """``column`` (text) with ``values`` at ``rows`` (vectorised: one take; as it is without any)."""
    if not len(rows):
        return column
    column = _plain(column)
    n = len(column)
    index = np.arange(n, dtype=np.int64)
    index[np.asarray(rows, np.int64)] = n + np.arange(len(rows), dtype=np.int64)
    return pa.concat_arrays([column, pa.array(list(values), column.type)]).take(pa.array(index))


def _first_of_wallet(table: pa.Table) -> np.ndarray:
    """Each row's first row of the same wallet (the same ``wallet_digest``), -1 for a row whose
    address does not decode: a group-by over the digests (a sort of their two 64-bit halves), in row
    order."""
    n = table.num_rows
    out = np.full(n, -1, np.int64)
    if not n:
        return out
    digests = table.column("wallet").combine_chunks()
    has = digests.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(has)
    if not len(rows):
        return out
    words = np.frombuffer(digests.buffers()[1], np.uint64)[digests.offset * 2:(digests.offset + n) * 2].reshape(n, 2)[rows]
    order = np.lexsort((rows, words[:, 1], words[:, 0]))  # by digest, then row: a group's first row leads it
    ordered = words[order]
    starts = np.ones(len(rows), bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    leader = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    out[rows[order]] = rows[leader]
    return out


def _plain(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A (possibly dictionary-encoded) text column as one plain string array."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.cast(pa.string())


def _settle(mapper: Mapper, table: pa.Table, held: pa.Array | pa.ChunkedArray, disagreements: list[str],
            nodes: Sequence[Node], period: str | None, keep: bool, sources: list[Source],
            declared: Mapping[str, int] | None, source: str, url: str, opts: Mapping[str, Any]) -> Ownership:
    """The client side once every chunk is checked: duplicates, contract wallets' owners, the table."""
    n = table.num_rows
    codes = table.column("status").combine_chunks().to_numpy(zero_copy_only=False).astype(np.int8)
    reasons: dict[int, str] = {}
    notes: dict[int, str] = {}
    first = _first_of_wallet(table)
    later = np.flatnonzero((first >= 0) & (first != np.arange(n)))
    repeats = first < 0
    repeats[later] = True
    repeats[first[later]] = True
    if len(later):
        firsts = first[later]
        looked = np.unique(firsts)
        file = table.column("file").take(pa.array(looked)).cast(pa.string()).to_pylist()
        chain = table.column("chain").take(pa.array(looked)).to_pylist()
        address = table.column("address").take(pa.array(looked)).to_pylist()
        reason_of = {int(r): duplicate_reason({"row": int(r), "file": f, "chain": c, "address": a})
                     for r, f, c, a in zip(looked, file, chain, address, strict=True)}
        codes[later] = _INVALID
        for r, f in zip(later.tolist(), firsts.tolist(), strict=True):
            reasons[r] = reason_of[f]
            notes[r] = ""
    _confirm_owners(mapper, table, held, codes, reasons, notes, nodes, period)
    rows = sorted(reasons)
    columns = {"row": pa.array(np.arange(n, dtype=np.int64)), "file": table.column("file"),
               "chain": table.column("chain"), "address": table.column("address"), "asset": table.column("asset"),
               "balance": table.column("balance"), "height": held,
               "status": pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), _NAMES),
               "reason": _replaced(table.column("reason"), rows, [reasons[r] for r in rows]),
               "note": _replaced(table.column("note"), sorted(notes), [notes[r] for r in sorted(notes)])}
    if keep:
        columns.update({c: table.column(c) for c in PROOF_COLUMNS})
        columns["given_height"] = table.column("height")
    return Ownership(pa.table(columns), codes, disagreements, sources, declared, source, url, dict(opts), repeats)


class ContractWallet(NamedTuple):
    """A contract wallet whose owners a node is to confirm."""

    row: int
    """Its record's ``row``."""
    address: str
    """Canonical (``0x`` + 40 hex)."""
    signers: tuple[str, ...]
    """The distinct owners whose signatures over this period's challenge verified (canonical)."""


class OwnersTask(NamedTuple):
    """Worker side: one chain's contract wallets, read from its node at its snapshot height."""

    chain: str
    """The chain's canonical name."""
    url: str
    """Its node."""
    height: int
    """Its snapshot height."""
    wallets: list[ContractWallet]


class OwnersVerdict(NamedTuple):
    """Worker side: a contract wallet's status (``bound`` or ``unbound``) and reason once its node was asked."""

    row: int
    status: str
    reason: str


def _owners_task(task: OwnersTask) -> list[OwnersVerdict]:
    """Worker side: the verdict of each contract wallet of one chain, read at its snapshot height."""
    name, url, height, wallets = task
    node = JsonRpc(url)
    out: list[OwnersVerdict] = []
    for row, address, signers in wallets:
        at = f"{address} at {name} block {height}"
        try:
            code, owners, threshold = node.batch(safe.calls(bytes.fromhex(address[2:]), height))
            if code.error is not None:
                raise safe.NotConfirmed(f"eth_getCode: {code.error}")
            if not safe.has_code(code.result):
                raise safe.NotConfirmed(f"{at} holds no code: an externally owned account, not a contract wallet")
            for what, answer in (("getOwners()", owners), ("getThreshold()", threshold)):
                if answer.error is not None or answer.result in (None, "0x"):
                    raise safe.NotConfirmed(f"{at} does not answer {what} ({answer.error or 'no return data'}): "
                                            "not a Safe-compatible contract")
            confirmed = safe.confirm([bytes.fromhex(s[2:]) for s in signers], safe.decode_owners(owners.result),
                                     safe.decode_threshold(threshold.result))
        except (safe.NotConfirmed, NodeUnreachable) as exc:
            out.append(OwnersVerdict(row, UNBOUND, f"not bound: {exc}"))
            continue
        out.append(OwnersVerdict(row, BOUND, f"contract wallet (Safe-compatible): {confirmed.signers} distinct owner "
                                             f"signature(s) over this period's challenge, threshold {confirmed.threshold} "
                                             f"of {confirmed.owners} owners, confirmed with getOwners()/getThreshold() "
                                             f"at {name} block {height}"))
    return out


def _confirm_owners(mapper: Mapper, table: pa.Table, held: pa.Array | pa.ChunkedArray, codes: np.ndarray,
                    reasons: dict[int, str], notes: dict[int, str], nodes: Sequence[Node], period: str | None) -> None:
    """Contract wallets pending confirmation: ``bound`` only where a node confirms them; the others
    stay ``unbound``, their reason saying what was not confirmed (``codes``, ``reasons`` and ``notes``
    are updated)."""
    by_chain = {n.chain.name: n for n in nodes if (c := balance_client(n.chain)) is not None and c.contract_wallets}
    if not by_chain or not table.num_rows:
        return
    pending = table.column("pending").combine_chunks().to_numpy(zero_copy_only=False) & (codes == _CODE[UNBOUND])
    rows = np.flatnonzero(pending)
    if not len(rows):
        return
    picked = pa.array(rows)
    given = zip(rows.tolist(), table.column("chain").take(picked).to_pylist(), held.take(picked).to_pylist(),
                table.column("canonical").take(picked).to_pylist(), table.column("signers").take(picked).to_pylist(),
                table.column("reason").take(picked).to_pylist(), strict=True)
    groups: dict[str, list[ContractWallet]] = {}
    heights: dict[str, int] = {}
    for row, written, height, canonical, signers, reason in given:
        chain = find_chain(written)
        if chain is None or chain.name not in by_chain:
            continue  # no node: unbound, as check_row said
        if height is None:
            reasons[row] = reason + f"; no snapshot height declared for {chain.name}, so no block to confirm them at"
            continue
        heights.setdefault(chain.name, height)  # one height per chain (heights.hold_rows)
        groups.setdefault(chain.name, []).append(ContractWallet(row, canonical, tuple(signers)))
    if not groups:
        return
    probed = probe_chains(mapper, {c: (by_chain[c].url, heights[c]) for c in groups}, period)
    tasks: list[OwnersTask] = []
    for name, wallets in sorted(groups.items()):
        why = probed[name].why
        if why:
            for w in wallets:
                reasons[w.row] = f"not bound: the owners could not be confirmed on chain: {why}"
            continue
        tasks.append(OwnersTask(name, by_chain[name].url, heights[name], wallets))
    verdicts: list[list[OwnersVerdict]] = mapper(_owners_task, tasks) if tasks else []
    for results in verdicts:
        for row, status, reason in results:
            codes[row], reasons[row] = _CODE[status], reason
            if status == BOUND:
                notes[row] = ""


def read_okx(url: str, storage_options: Mapping[str, Any] | None = None) -> OkxFile:
    """The published CSV layout at ``url`` (one file), read."""
    fs, path = storage.open_fs(url, storage_options)
    if fs.isdir(path):
        raise InputError(f"{url}: --format okx-csv reads one CSV file, not a directory")
    with fs.open(path, "rb") as f:
        return read_okx_csv(f.read(), url)


def write_results(ownership: Ownership, out: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Per-row results (row, file, chain, address, asset, status, reason, note) to ``out``."""
    write_table(out, ownership.results_table(), storage_options)
