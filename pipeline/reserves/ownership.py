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

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..mapping import Mapper
from ..onchain import safe
from ..ownership.chains import find_chain
from ..ownership.check import BOUND, INVALID, STATUSES, UNBOUND, ProofRow, check_row
from ..storage import fs as storage
from .heights import hold_rows, okx_declared
from .input import check_format
from .nodes import Node, balance_client, probe_chains
from .okx_csv import OkxFile, read_okx_csv, totals_disagreements
from .results import status_counts, write_rows
from .rpc import JsonRpc, NodeUnreachable

CHUNK_ROWS = 20_000
RESULT_FIELDS = ("row", "file", "chain", "address", "asset", "status", "reason", "note")
RESULT_SCHEMA = pa.schema([("row", pa.int64())] + [(k, pa.string()) for k in RESULT_FIELDS[1:]])


@dataclass
class Ownership:
    """One record per input row, in input order (``row`` is 0-based over all files)."""

    records: list[dict[str, Any]]
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

    def invalid(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == INVALID]


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _check_rows(rows: list[dict[str, Any]], challenge: str | None) -> list[dict[str, Any]]:
    """Worker side: the verdict of each row, with the canonical key used to find duplicates."""
    out = []
    for r in rows:
        v = check_row(ProofRow(r["chain"], r["address"], tuple(r.get("signatures") or ()), r.get("message"),
                               r.get("script"), tuple(r.get("owners") or ())), challenge)
        out.append({"status": v.status, "reason": v.reason, "note": v.note,
                    "key": wallet_key(v.chain, v.canonical, r["asset"]) if v.canonical else "",
                    "signers": list(v.signers), "pending": v.pending, "canonical": v.canonical})
    return out


def wallet_key(chain: str, canonical: str, asset: str) -> str:
    """One wallet, however it is spelled: the chain's canonical name, the canonical address, the asset."""
    return f"{chain}|{canonical}|{asset}"


def duplicate_reason(first: Mapping[str, Any]) -> str:
    return (f"the same wallet as row {first['row']} ({first['file']}: {first['chain']} {first['address']!r}); "
            "one address, one row")


ParquetTask = tuple[str, Mapping[str, Any], list[int], str | None, int, int, int]
"""(file, storage options, row groups, challenge, start, stop, step): rows ``start:stop`` of the
groups; a slice of one large group starts at a multiple of ``step`` and spans at most ``step`` rows."""


def _parquet_chunk(task: ParquetTask) -> list[dict[str, Any]]:
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
    rows = table.to_pylist()
    for r in rows:
        r["balance"] = _text(r["balance"])
    verdicts = _check_rows(rows, challenge)
    return [{"chain": r["chain"], "address": r["address"], "asset": r["asset"], "balance": r["balance"],
             "height": r.get("height"), **v} for r, v in zip(rows, verdicts, strict=True)]


def _okx_chunk(task: tuple[list[dict[str, Any]], str | None]) -> list[dict[str, Any]]:
    rows, challenge = task
    return [{**{k: r[k] for k in ("chain", "address", "asset", "balance", "height")}, **v}
            for r, v in zip(rows, _check_rows(rows, challenge), strict=True)]


def _mark_duplicates(records: list[dict[str, Any]]) -> None:
    first: dict[str, dict[str, Any]] = {}
    for r in records:
        key = r.pop("key")
        if not key:
            continue
        if key in first:
            r["status"], r["note"], r["pending"] = INVALID, "", False
            r["reason"] = duplicate_reason(first[key])
        else:
            first[key] = r


def verify_reserves(mapper: Mapper, url: str, challenge: str | None, fmt: str = "parquet",
                    storage_options: Mapping[str, Any] | None = None, chunk_rows: int = CHUNK_ROWS,
                    nodes: Sequence[Node] = (), period: str | None = None) -> Ownership:
    """Verify every row of the reserves at ``url`` (a Parquet file or directory, or one CSV file).
    ``nodes``: chain nodes that confirm contract wallets' owners (``period``: their snapshot blocks
    must be in the window before the period's end)."""
    check_format(fmt)
    opts = dict(storage_options or {})
    records: list[dict[str, Any]] = []
    disagreements: list[str] = []
    if fmt == "okx-csv":
        okx = read_okx(url, opts)
        disagreements = totals_disagreements(okx)
        for r, h in zip(okx.rows, okx_declared(okx.totals, okx.rows, url), strict=True):
            r["height"] = h
        chunks = [okx.rows[i:i + chunk_rows] for i in range(0, len(okx.rows), chunk_rows)]
        results = mapper(_okx_chunk, [(c, challenge) for c in chunks])
        for chunk, result in zip(chunks, results, strict=True):
            for r, res in zip(chunk, result, strict=True):
                records.append({"row": len(records), "file": f"line {r['line']}", **res})
    else:
        from .input import check_reserves, parquet_files

        fs, _ = storage.open_fs(url, opts)
        tasks: list[ParquetTask] = []
        for path in parquet_files(check_reserves(url, opts)):
            with fs.open(path, "rb") as f:
                meta = pq.ParquetFile(f).metadata
            groups: list[int] = []
            size = 0
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                if n > chunk_rows:  # one large row group: several tasks, each a slice of it
                    if groups:
                        tasks.append((fs.unstrip_protocol(path), opts, groups, challenge, 0, size, chunk_rows))
                        groups, size = [], 0
                    tasks += [(fs.unstrip_protocol(path), opts, [g], challenge, a, min(a + chunk_rows, n), chunk_rows)
                              for a in range(0, n, chunk_rows)]
                    continue
                groups.append(g)
                size += n
                if size >= chunk_rows:
                    tasks.append((fs.unstrip_protocol(path), opts, groups, challenge, 0, size, chunk_rows))
                    groups, size = [], 0
            if groups:
                tasks.append((fs.unstrip_protocol(path), opts, groups, challenge, 0, size, chunk_rows))
        for task, result in zip(tasks, mapper(_parquet_chunk, tasks), strict=True):
            path = task[0]
            for res in result:
                records.append({"row": len(records), "file": path, **res})
        from .input import declared_heights

        declared, source = declared_heights(url, opts)
        held = hold_rows(records, declared, source, lambda i, r: f"{r['file']}, row {r['row']}")
        for r, h in zip(records, held, strict=True):
            r["height"] = h
    _mark_duplicates(records)
    _confirm_owners(mapper, records, nodes, period)
    for r in records:
        for k in ("signers", "pending", "canonical"):
            r.pop(k, None)
    return Ownership(records, disagreements)


OwnersTask = tuple[str, str, int, list[tuple[int, str, list[str]]]]
"""(chain, node URL, snapshot height, [(row, contract address, signers)])."""


def _owners_task(task: OwnersTask) -> list[tuple[int, str, str]]:
    """Worker side: [(row, status, reason)] for contract wallets of one chain, read at its snapshot height."""
    name, url, height, items = task
    node = JsonRpc(url)
    out: list[tuple[int, str, str]] = []
    for row, address, signers in items:
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
            out.append((row, UNBOUND, f"not bound: {exc}"))
            continue
        out.append((row, BOUND, f"contract wallet (Safe-compatible): {confirmed.signers} distinct owner signature(s) over "
                                f"this period's challenge, threshold {confirmed.threshold} of {confirmed.owners} owners, "
                                f"confirmed with getOwners()/getThreshold() at {name} block {height}"))
    return out


def _confirm_owners(mapper: Mapper, records: list[dict[str, Any]], nodes: Sequence[Node], period: str | None) -> None:
    """Contract wallets pending confirmation: ``bound`` only where a node confirms them; the others
    stay ``unbound``, their reason saying what was not confirmed."""
    by_chain = {n.chain.name: n for n in nodes if (c := balance_client(n.chain)) is not None and c.contract_wallets}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("pending") and r["status"] == UNBOUND:
            chain = find_chain(r["chain"])
            if chain is None or chain.name not in by_chain:
                continue  # no node: unbound, as check_row said
            if r.get("height") is None:
                r["reason"] += f"; no snapshot height declared for {chain.name}, so no block to confirm them at"
                continue
            groups.setdefault(chain.name, []).append(r)
    if not groups:
        return
    probed = probe_chains(mapper, {c: (by_chain[c].url, rs[0]["height"]) for c, rs in groups.items()}, period)
    tasks: list[OwnersTask] = []
    for name, rs in sorted(groups.items()):
        why = probed[name][1]
        if why:
            for r in rs:
                r["reason"] = f"not bound: the owners could not be confirmed on chain: {why}"
            continue
        tasks.append((name, by_chain[name].url, rs[0]["height"],
                      [(r["row"], r["canonical"], r["signers"]) for r in rs]))
    for results in mapper(_owners_task, tasks) if tasks else []:
        for row, status, reason in results:
            rec = records[row]
            rec["status"], rec["reason"] = status, reason
            rec["note"] = "" if status == BOUND else rec["note"]


def read_okx(url: str, storage_options: Mapping[str, Any] | None = None) -> OkxFile:
    fs, path = storage.open_fs(url, storage_options)
    if fs.isdir(path):
        raise InputError(f"{url}: --format okx-csv reads one CSV file, not a directory")
    with fs.open(path, "rb") as f:
        return read_okx_csv(f.read(), url)


def write_results(ownership: Ownership, out: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Per-row results (row, file, chain, address, asset, status, reason, note) to ``out``."""
    write_rows(out, ownership.records, RESULT_SCHEMA, storage_options)
