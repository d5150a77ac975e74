"""Every reserve row's ownership proof, verified on the Dask cluster in chunks of rows.

The worker side reads its own chunk (row groups of a Parquet file, or rows parsed from the
published CSV layout) and runs the pure ``ownership.check`` on each row; the client gathers one
small record per row, then finds the same wallet listed twice (same chain, canonical address and
asset, however it was spelled): the later row is ``invalid``, naming the first. Every row is held
to its chain's one snapshot height (``pipeline.reserves.heights``).

A contract wallet signed by its owners over this period's challenge is ``unbound`` on their word;
with a node for its chain it becomes ``bound`` only when the node confirms, at the chain's snapshot
height, that the address is a contract whose Safe-compatible ``getOwners()`` holds every signer and
whose ``getThreshold()`` the distinct signers meet (``pipeline.onchain.safe``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Mapping, NamedTuple, Sequence, TypedDict

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..mapping import Mapper
from ..onchain import safe
from ..ownership.chains import find_chain
from ..ownership.check import (
    BOUND,
    INVALID,
    MAX_SIGNATURES,
    MISSING,
    STATUSES,
    UNBOUND,
    ProofRow,
    Verdict,
    check_row,
)
from ..storage import fs as storage
from .heights import hold_rows, okx_declared
from .input import ReserveRow, check_format
from .nodes import Node, balance_client, probe_chains
from .okx_csv import OkxFile, OkxRow, read_okx_csv, totals_disagreements
from .results import status_counts, write_rows
from .rpc import JsonRpc, NodeUnreachable

CHUNK_ROWS = 20_000
RESULT_FIELDS = ("row", "file", "chain", "address", "asset", "status", "reason", "note")
"""The per-row results file's columns: fields of ``OwnershipRecord``, by the same names."""
RESULT_SCHEMA = pa.schema([("row", pa.int64())] + [(k, pa.string()) for k in RESULT_FIELDS[1:]])


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


@dataclass(frozen=True)
class CheckedRow:
    """Worker side: one row's verdict, and what the client needs of it to find the same wallet twice
    and to confirm a contract wallet's owners."""

    chain: str
    address: str
    asset: str
    balance: str
    height: int | None
    status: str
    reason: str
    note: str
    key: str
    """``wallet_key`` of the row ("" when its address does not decode)."""
    signers: tuple[str, ...]
    """A contract wallet's distinct owners whose signatures verified (canonical)."""
    pending: bool
    """A contract wallet signed over this period's challenge: ``bound`` once a node confirms its owners."""
    canonical: str
    """The address in its chain's canonical spelling ("" when it does not decode)."""


@dataclass
class Ownership:
    """One record per input row, in input order (``row`` is 0-based over all files)."""

    records: list[OwnershipRecord]
    totals_disagreements: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return status_counts(self.records, STATUSES)

    def per_asset(self) -> dict[str, dict[str, Decimal]]:
        """asset -> status -> amount (as written in the input: whole units, or smallest units for
        an integer column), exact."""
        out: dict[str, dict[str, Decimal]] = {}
        for r in self.records:
            per = out.setdefault(r["asset"], dict.fromkeys(STATUSES, Decimal(0)))
            per[r["status"]] += Decimal(r["balance"])
        return out

    def invalid(self) -> list[OwnershipRecord]:
        return [r for r in self.records if r["status"] == INVALID]

    def not_checked(self) -> list[OwnershipRecord]:
        """Rows that sign the period's challenge when none was given (``missing``, ``NOT_CHECKED``)."""
        return [r for r in self.records if r["status"] == MISSING and r["reason"] == NOT_CHECKED]


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


NOT_CHECKED = ("not checked: the row names no message, so its signature is over this period's challenge, and no "
               "challenge was given (--period and --exchange, with --archive, or --challenge)")
"""Without a challenge, a row that names no message (it signs the period's challenge) cannot be checked:
``missing`` (nothing proves it for this run), never ``invalid`` (nothing was found wrong with it)."""


def _unchecked(row: ReserveRow, challenge: str | None, v: Verdict) -> bool:
    """Whether ``v`` is ``check_row``'s refusal of a row it could not check for want of a challenge: the row's
    chain and address passed (a canonical spelling), it carries 1 to ``MAX_SIGNATURES`` signatures and no message."""
    return (challenge is None and row["message"] is None and v.status == INVALID and bool(v.canonical)
            and 0 < len(row["signatures"]) <= MAX_SIGNATURES)


def _check_rows(rows: Sequence[ReserveRow], challenge: str | None) -> list[CheckedRow]:
    """Worker side: the verdict of each row, with the canonical key used to find duplicates."""
    out = []
    for r in rows:
        v = check_row(ProofRow(r["chain"], r["address"], tuple(r["signatures"]), r["message"], r["script"],
                               tuple(r["owners"])), challenge)
        if _unchecked(r, challenge, v):
            v = replace(v, status=MISSING, reason=NOT_CHECKED)
        out.append(CheckedRow(r["chain"], r["address"], r["asset"], r["balance"], r["height"], v.status, v.reason,
                              v.note, wallet_key(v.chain, v.canonical, r["asset"]) if v.canonical else "", v.signers,
                              v.pending, v.canonical))
    return out


def wallet_key(chain: str, canonical: str, asset: str) -> str:
    """One wallet, however it is spelled: the chain's canonical name, the canonical address, the asset."""
    return f"{chain}|{canonical}|{asset}"


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


class OkxTask(NamedTuple):
    """Worker side: rows of the published CSV layout, checked."""

    rows: list[OkxRow]
    challenge: str | None


def _parquet_chunk(task: ParquetTask) -> list[CheckedRow]:
    """Rows ``start:stop`` of the given row groups (a large row group is shared by several tasks:
    the worker holds one row group's columns at a time)."""
    path, options, groups, challenge, start, stop, step = task
    fs, _ = storage.open_fs(path, options)
    with fs.open(path, "rb") as f:
        pf = pq.ParquetFile(f)
        if len(groups) == 1 and (start or stop < pf.metadata.row_group(groups[0]).num_rows):
            # a slice of one large row group: stream it in batches of the slice's size and keep the
            # one wanted (slices start at multiples of their size), never the whole group in memory
            table = None
            for i, batch in enumerate(pf.iter_batches(batch_size=step, row_groups=groups)):
                if i == start // step:
                    table = pa.Table.from_batches([batch])
                    break
            assert table is not None and table.num_rows == stop - start, (path, groups, start, stop)
        else:
            table = pf.read_row_groups(groups).slice(start, stop - start)
    rows: list[ReserveRow] = [
        {"chain": r["chain"], "address": r["address"], "asset": r["asset"], "balance": _text(r["balance"]),
         "height": r.get("height"), "signatures": list(r.get("signatures") or ()), "message": r.get("message"),
         "script": r.get("script"), "owners": list(r.get("owners") or ())} for r in table.to_pylist()]
    return _check_rows(rows, challenge)


def _okx_chunk(task: OkxTask) -> list[CheckedRow]:
    return _check_rows(task.rows, task.challenge)


def _record(row: int, file: str, c: CheckedRow) -> OwnershipRecord:
    return {"row": row, "file": file, "chain": c.chain, "address": c.address, "asset": c.asset, "balance": c.balance,
            "height": c.height, "status": c.status, "reason": c.reason, "note": c.note}


def _mark_duplicates(records: list[OwnershipRecord], checked: Sequence[CheckedRow]) -> None:
    """The later row of one wallet listed twice (however spelled) is ``invalid``, naming the first."""
    first: dict[str, OwnershipRecord] = {}
    for r, c in zip(records, checked, strict=True):
        if not c.key:
            continue
        if c.key in first:
            r["status"], r["note"] = INVALID, ""
            r["reason"] = duplicate_reason(first[c.key])
        else:
            first[c.key] = r


def verify_reserves(mapper: Mapper, url: str, challenge: str | None, fmt: str = "parquet",
                    storage_options: Mapping[str, Any] | None = None, chunk_rows: int = CHUNK_ROWS,
                    nodes: Sequence[Node] = (), period: str | None = None) -> Ownership:
    """Verify every row of the reserves at ``url`` (a Parquet file or directory, or one CSV file).
    ``nodes``: chain nodes that confirm contract wallets' owners (``period``: their snapshot blocks
    must be in the window before the period's end)."""
    check_format(fmt)
    opts = dict(storage_options or {})
    records: list[OwnershipRecord] = []
    checked: list[CheckedRow] = []
    disagreements: list[str] = []
    if fmt == "okx-csv":
        okx = read_okx(url, opts)
        disagreements = totals_disagreements(okx)
        for r, h in zip(okx.rows, okx_declared(okx.totals, okx.rows, url), strict=True):
            r["height"] = h
        chunks = [okx.rows[i:i + chunk_rows] for i in range(0, len(okx.rows), chunk_rows)]
        results: list[list[CheckedRow]] = mapper(_okx_chunk, [OkxTask(c, challenge) for c in chunks])
        for chunk, result in zip(chunks, results, strict=True):
            for r, res in zip(chunk, result, strict=True):
                records.append(_record(len(records), f"line {r['line']}", res))
                checked.append(res)
    else:
        from .input import check_reserves, parquet_files

        fs, _ = storage.open_fs(url, opts)
        tasks: list[ParquetTask] = []
        for path in parquet_files(check_reserves(url, opts)):
            with fs.open(path, "rb") as f:
                meta = pq.ParquetFile(f).metadata
            shown = fs.unstrip_protocol(path)
            groups: list[int] = []
            size = 0
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                if n > chunk_rows:  # one large row group: several tasks, each a slice of it
                    if groups:
                        tasks.append(ParquetTask(shown, opts, groups, challenge, 0, size, chunk_rows))
                        groups, size = [], 0
                    tasks += [ParquetTask(shown, opts, [g], challenge, a, min(a + chunk_rows, n), chunk_rows)
                              for a in range(0, n, chunk_rows)]
                    continue
                groups.append(g)
                size += n
                if size >= chunk_rows:
                    tasks.append(ParquetTask(shown, opts, groups, challenge, 0, size, chunk_rows))
                    groups, size = [], 0
            if groups:
                tasks.append(ParquetTask(shown, opts, groups, challenge, 0, size, chunk_rows))
        parts: list[list[CheckedRow]] = mapper(_parquet_chunk, tasks)
        for task, result in zip(tasks, parts, strict=True):
            for res in result:
                records.append(_record(len(records), task.path, res))
                checked.append(res)
        from .input import declared_heights

        declared, source = declared_heights(url, opts)
        held = hold_rows(records, declared, source, lambda i, r: f"{r['file']}, row {r['row']}")
        for rec, h in zip(records, held, strict=True):
            rec["height"] = h
    _mark_duplicates(records, checked)
    _confirm_owners(mapper, records, checked, nodes, period)
    return Ownership(records, disagreements)


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


def _confirm_owners(mapper: Mapper, records: list[OwnershipRecord], checked: Sequence[CheckedRow],
                    nodes: Sequence[Node], period: str | None) -> None:
    """Contract wallets pending confirmation: ``bound`` only where a node confirms them; the others
    stay ``unbound``, their reason saying what was not confirmed."""
    by_chain = {n.chain.name: n for n in nodes if (c := balance_client(n.chain)) is not None and c.contract_wallets}
    groups: dict[str, list[ContractWallet]] = {}
    heights: dict[str, int] = {}
    for r, facts in zip(records, checked, strict=True):
        if facts.pending and r["status"] == UNBOUND:
            chain = find_chain(r["chain"])
            if chain is None or chain.name not in by_chain:
                continue  # no node: unbound, as check_row said
            height = r["height"]
            if height is None:
                r["reason"] += f"; no snapshot height declared for {chain.name}, so no block to confirm them at"
                continue
            heights.setdefault(chain.name, height)  # one height per chain (heights.hold_rows)
            groups.setdefault(chain.name, []).append(ContractWallet(r["row"], facts.canonical, facts.signers))
    if not groups:
        return
    probed = probe_chains(mapper, {c: (by_chain[c].url, heights[c]) for c in groups}, period)
    tasks: list[OwnersTask] = []
    for name, wallets in sorted(groups.items()):
        why = probed[name].why
        if why:
            for w in wallets:
                records[w.row]["reason"] = f"not bound: the owners could not be confirmed on chain: {why}"
            continue
        tasks.append(OwnersTask(name, by_chain[name].url, heights[name], wallets))
    verdicts: list[list[OwnersVerdict]] = mapper(_owners_task, tasks) if tasks else []
    for results in verdicts:
        for row, status, reason in results:
            rec = records[row]
            rec["status"], rec["reason"] = status, reason
            rec["note"] = "" if status == BOUND else rec["note"]


def read_okx(url: str, storage_options: Mapping[str, Any] | None = None) -> OkxFile:
    """The published CSV layout at ``url`` (one file), read."""
    fs, path = storage.open_fs(url, storage_options)
    if fs.isdir(path):
        raise InputError(f"{url}: --format okx-csv reads one CSV file, not a directory")
    with fs.open(path, "rb") as f:
        return read_okx_csv(f.read(), url)


def write_results(ownership: Ownership, out: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Per-row results (row, file, chain, address, asset, status, reason, note) to ``out``."""
    write_rows(out, ownership.records, RESULT_SCHEMA, storage_options)
