"""Every reserve row's balance against its chain's node, at the chain's snapshot height, on the cluster.

Every row of a chain is at the chain's one declared height (``pipeline.reserves.heights``). Before
any balance is read, one probe per chain proves the node is on the row's chain (its chain id, or
its genesis and fork blocks) and reads the snapshot block's hash and timestamp; with a period, the
timestamp must fall in the window before the period's end (``pipeline.onchain.blocks``). The same
wallet listed twice (however spelled) is an ``error`` on its later row, as ``reserves verify`` rules.

The client reads the rows (our reserves Parquet, or the CSV layout a major exchange publishes),
decides per row what can be checked (a node for the chain, the native coin or a configured token
contract, a snapshot height, an address that decodes), and sends chunks of rows to the workers:

* EVM chains (``evm_balances``): one task per chunk of rows at one height; inside, JSON-RPC batches
  of ``batch`` calls, at most ``concurrency`` batches in flight per task (so at most workers x
  concurrency requests hit the node at once).
* Bitcoin family (``bitcoin_balances``): one task per node, scanning ``scan_chunk`` addresses per
  ``scantxoutset``, one scan after another (a node runs one scan at a time).

Each family's client is the one ``nodes.BALANCE_CLIENTS`` registers (``balance_client.BalanceClient``);
a chain whose family has none is ``unchecked``.

Each row comes back with one status (``pipeline.onchain.compare``); totals per asset say what was
published, what was checked against a node and what matched.

Reserves held all month (``pipeline.onchain.sampling``): with a period and ``sample`` > 0, every chain
whose node answers at past heights (EVM archive nodes) has its rows read again at ``sample`` heights of
the month, found after the snapshot from the hash of the period's closing block; per asset, the sum at
each sampled height and the minimum over them and the snapshot (``BalanceCheck.sampling``, the report's
``balances.sampling``). A chain whose node reads only its tip (the Bitcoin family) says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, TypedDict

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..mapping import Mapper
from ..onchain import blocks, sampling as rule
from ..onchain.compare import ERROR, MATCH, MISMATCH, STATUSES, UNCHECKED
from ..ownership.chains import Family, Refused, find_chain
from ..ownership.check import canonical_address
from ..storage import fs as storage
from .balance_client import (
    BalanceItem,
    BalanceResult,
    BalanceTask,
    SampleItem,
    SampleRead,
    SampleTask,
    Settings,
    safe_units,
)
from .heights import hold_rows, okx_declared
from .input import check_format, declared_heights, parquet_files
from .nodes import BALANCE_CLIENTS, Node, PlanTask, Probed, balance_client, parse_rpc, plan_chains, probe_chains
from .ownership import duplicate_reason, read_okx, wallet_key
from .results import status_counts, write_rows
from .rpc import shown

__all__ = ["Node", "parse_rpc", "parse_token", "check_balances", "write_results", "BalanceCheck", "BalanceRecord",
           "Sampling"]

CHUNK_ROWS = 2_000
BATCH = 100
CONCURRENCY = 4
SCAN_CHUNK = 500
RESULT_FIELDS = ("row", "file", "chain", "address", "asset", "height", "published", "on_chain", "status", "reason")
"""The fields of ``BalanceRecord`` the per-row results file holds, in its column order."""
RESULT_COLUMNS = {"on_chain": "on-chain"}
"""The per-row results file's column of a field spelled otherwise there (the file's format, which stays);
the one place the two spellings meet. Every other field is its own column."""
RESULT_SCHEMA = pa.schema([(RESULT_COLUMNS.get(f, f), pa.int64() if f in ("row", "height") else pa.string())
                           for f in RESULT_FIELDS])


class BalanceRow(TypedDict):
    """One input row as the balance check reads it (our Parquet, or the published CSV layout)."""

    file: str
    """The Parquet file (its URL), or ``line N`` of the CSV layout."""
    chain: str | None
    """As written (null in a Parquet file that holds one)."""
    address: str | None
    """As written (null in a Parquet file that holds one)."""
    asset: str
    balance: str | None
    """As text: an integer of smallest units (``integer``) or a decimal of whole units; None: null."""
    integer: bool
    """The balance column is an integer column (smallest units)."""
    height: int | None
    """The chain's snapshot height (``pipeline.reserves.heights``), or None."""


class BalanceRecord(TypedDict):
    """One input row's balance check (``BalanceCheck.records``); the per-row results file holds its
    ``RESULT_FIELDS`` (``on_chain`` as the column ``RESULT_COLUMNS`` names)."""

    row: int
    """0-based over all files, in input order."""
    file: str
    chain: str | None
    """The chain's canonical name when it is on the list, else as written."""
    address: str | None
    """As written."""
    asset: str
    height: int | None
    published: str | None
    """The published amount: in smallest units (decimal string) when it converts, else as written."""
    on_chain: str | None
    """The node's balance in smallest units (decimal string), or None when it was not read."""
    status: str
    """One of ``onchain.compare.STATUSES``."""
    reason: str
    units: int | None
    """The published amount in smallest units (None: it does not convert)."""
    decimals: int | None
    """The asset's decimals, as known (asset file, the chain's coin) or read from its token contract."""


class AssetTotals(TypedDict):
    """One asset's totals in smallest units (rows whose amount converts)."""

    published: int
    checked: int
    """Of rows checked against a node (``match`` or ``mismatch``)."""
    matching: int


class ChainBlock(TypedDict):
    """A snapshot block as its node reported it."""

    hash: str
    timestamp: int
    """Unix time."""
    time: str
    """UTC, ISO 8601."""


class ChainSummary(TypedDict):
    """One chain as ``report.json`` records it (``BalanceCheck.per_chain``)."""

    node: bool
    """A node was given for the chain."""
    heights: list[int]
    """The heights its checked rows were read at."""
    counts: dict[str, int]
    """status -> rows (every status present)."""
    height: int | None
    """Its declared snapshot height."""
    block: ChainBlock | None
    chain_id: str | None
    """EVM ``eth_chainId`` in decimal, Bitcoin family the genesis block hash (None: not probed)."""


def parse_token(spec: str) -> tuple[tuple[str, str], bytes]:
    """``ASSET@CHAIN=CONTRACT`` -> ((asset, chain name), contract address bytes)."""
    left, sep, contract = spec.partition("=")
    asset, at, name = left.partition("@")
    chain = find_chain(name.strip())
    if not sep or not at or not asset.strip() or not contract.strip():
        raise InputError("expected ASSET@CHAIN=CONTRACT", parameter="token", value=repr(spec))
    client = None if chain is None else balance_client(chain)
    if chain is None or client is None or not client.tokens:
        raise InputError(f"{name!r} is not an EVM chain on the supported list", parameter="token", value=repr(spec))
    try:
        raw = client.token_contract(contract.strip())
    except Refused as exc:
        raise InputError(f"contract {contract!r}: {exc}", parameter="token") from None
    return (asset.strip(), chain.name), raw


@dataclass
class Sampling:
    """The month's sampled heights per chain, as ``report.json`` records them (``balances.sampling``)."""

    count: int
    """Heights asked for per chain (``--sample-heights``; 0: none)."""
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)
    """chain -> ``{"sampled": true, "seed", "first", "first_rule", "last", "heights", "blocks", "assets"}`` or
    ``{"sampled": false, "why"}`` (every chain a node was given for)."""
    failed: list[str] = field(default_factory=list)
    """Chains whose node should answer at past heights but did not (not the tip-only families)."""

    def as_json(self) -> dict[str, Any]:
        return {"rule": rule.RULE, "count": self.count, "chains": dict(sorted(self.chains.items()))}

    def held(self) -> dict[str, tuple[int, int]]:
        """asset -> (its sampled rows' sum at the snapshot, the sum over chains of each chain's minimum)."""
        out: dict[str, tuple[int, int]] = {}
        for c in self.chains.values():
            for asset, a in (c.get("assets") or {}).items():
                snap, low = out.get(asset, (0, 0))
                out[asset] = (snap + int(a["snapshot"]), low + int(a["minimum"]))
        return dict(sorted(out.items()))


@dataclass
class BalanceCheck:
    """One record per input row, in input order; which chains were checked, at which heights."""

    records: list[BalanceRecord]
    nodes: dict[str, str] = field(default_factory=dict)
    """chain -> the node as shown (no credentials)."""
    blocks: dict[str, blocks.Block] = field(default_factory=dict)
    """chain -> its snapshot block as its node reported it (chains whose node was probed)."""
    heights: dict[str, int] = field(default_factory=dict)
    """chain -> its declared snapshot height."""
    sampling: Sampling | None = None
    """The month's sampled heights (None: not asked for, or no period: ``sampling_note`` says which)."""
    sampling_note: str = ""

    def counts(self) -> dict[str, int]:
        return status_counts(self.records, STATUSES)

    def totals(self) -> dict[str, AssetTotals]:
        """asset -> published / checked / matching, in smallest units (rows whose amount converts)."""
        out: dict[str, AssetTotals] = {}
        for r in self.records:
            t = out.setdefault(r["asset"], {"published": 0, "checked": 0, "matching": 0})
            units = r["units"]
            if units is None:
                continue
            t["published"] += units
            if r["status"] in (MATCH, MISMATCH):
                t["checked"] += units
            if r["status"] == MATCH:
                t["matching"] += units
        return out

    def decimals(self) -> dict[str, int]:
        """asset -> decimals, as known (asset file, the chain's coin) or read from a token contract."""
        return {r["asset"]: d for r in self.records if (d := r["decimals"]) is not None}

    def failing(self) -> list[BalanceRecord]:
        return [r for r in self.records if r["status"] in (MISMATCH, ERROR)]

    def per_chain(self) -> dict[str | None, ChainSummary]:
        """chain -> {node, heights, counts, height, block, chain_id}: what ``report.json`` records
        (``block``: the snapshot block's hash, Unix timestamp and UTC time, as the node reported it;
        ``chain_id``: EVM ``eth_chainId`` in decimal, Bitcoin family the genesis block hash)."""
        out: dict[str | None, ChainSummary] = {}
        heights: dict[str | None, set[int]] = {}
        for r in self.records:
            chain = r["chain"]
            b = self.blocks.get(chain) if chain is not None else None
            c = out.setdefault(chain, {
                "node": chain in self.nodes, "heights": [], "counts": dict.fromkeys(STATUSES, 0),
                "height": self.heights.get(chain) if chain is not None else None,
                "block": None if b is None else {"hash": b.hash, "timestamp": b.timestamp, "time": blocks.iso(b.timestamp)},
                "chain_id": None if b is None else b.chain_id})
            c["counts"][r["status"]] += 1
            seen = heights.setdefault(chain, set())
            if r["status"] in (MATCH, MISMATCH) and r["height"] is not None:
                seen.add(r["height"])
        return {k: {**v, "heights": sorted(heights[k])} for k, v in sorted(out.items())}


# ---------------------------------------------------------------- reading the rows

def _parquet_rows(url: str, opts: Mapping[str, Any]) -> list[BalanceRow]:
    from .input import check_reserves

    fs, _ = storage.open_fs(url, opts)
    rows: list[BalanceRow] = []
    for path in parquet_files(check_reserves(url, opts)):
        with fs.open(path, "rb") as f:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            table = pf.read(columns=[c for c in ("chain", "address", "asset", "balance", "height") if c in names])
        integer = pa.types.is_integer(table.schema.field("balance").type)
        heights = table.column("height").to_pylist() if "height" in names else [None] * table.num_rows
        balances = table.column("balance").to_pylist()
        for chain, address, asset, balance, height in zip(
                table.column("chain").to_pylist(), table.column("address").to_pylist(),
                table.column("asset").to_pylist(), balances, heights, strict=True):
            text = None if balance is None else (str(balance) if integer else format(balance, "f"))
            rows.append({"file": fs.unstrip_protocol(path), "chain": chain, "address": address, "asset": asset,
                         "balance": text, "integer": integer, "height": height})
    declared, source = declared_heights(url, opts)
    held = hold_rows(rows, declared, source, lambda i, r: f"{r['file']}, row {i}")
    for r, h in zip(rows, held, strict=True):
        r["height"] = h
    return rows


def _okx_rows(url: str, opts: Mapping[str, Any]) -> list[BalanceRow]:
    okx = read_okx(url, opts)
    held = okx_declared(okx.totals, okx.rows, url)
    return [{"file": f"line {r['line']}", "chain": r["chain"], "address": r["address"], "asset": r["asset"],
             "balance": r["balance"], "integer": False, "height": h} for r, h in zip(okx.rows, held, strict=True)]


# ---------------------------------------------------------------- worker side

def _run_task(task: BalanceTask) -> list[BalanceResult]:
    """One task of a family's balance client (``nodes.BALANCE_CLIENTS``), on a worker."""
    return task.run()


def _run_sample(task: SampleTask) -> SampleRead:
    """One sampled-height task of a family's balance client, on a worker."""
    return task.run()


# ---------------------------------------------------------------- client side

def check_balances(mapper: Mapper, url: str, nodes: Sequence[Node], tokens: Mapping[tuple[str, str], bytes] | None = None,
                   fmt: str = "parquet", decimals: Mapping[str, int] | None = None,
                   storage_options: Mapping[str, Any] | None = None, chunk_rows: int = CHUNK_ROWS,
                   batch: int = BATCH, concurrency: int = CONCURRENCY, scan_chunk: int = SCAN_CHUNK,
                   period: str | None = None, sample: int = 0, since: Mapping[str, int] | None = None) -> BalanceCheck:
    """Check every row of the reserves at ``url`` against the given nodes (with ``period``: each
    chain's snapshot block must be in the window before the period's end; with ``sample`` > 0 too, every
    row is also read at ``sample`` heights of the month, ``pipeline.onchain.sampling``). ``since``: chain
    -> the previous month's snapshot height (the sampled range starts after it; else at the period's
    first block)."""
    check_format(fmt)
    by_chain: dict[str, Node] = {}
    for n in nodes:
        if n.chain.name in by_chain:
            raise InputError(f"two nodes given for {n.chain.name}", parameter="rpc")
        by_chain[n.chain.name] = n
    tokens = dict(tokens or {})
    opts = dict(storage_options or {})
    rows = _okx_rows(url, opts) if fmt == "okx-csv" else _parquet_rows(url, opts)
    records: list[BalanceRecord] = []
    groups: dict[Family, dict[str, list[BalanceItem]]] = {}
    """family -> chain -> the rows its balance client reads"""
    first: dict[str, BalanceRecord] = {}
    heights: dict[str, int] = {}
    for i, r in enumerate(rows):
        balance, height = r["balance"], r["height"]
        rec: BalanceRecord = {
            "row": i, "file": r["file"], "chain": r["chain"], "address": r["address"], "asset": r["asset"],
            "height": height, "published": balance, "on_chain": None, "status": UNCHECKED, "reason": "",
            "units": None, "decimals": None}
        records.append(rec)
        chain = find_chain(r["chain"] or "")
        known = (decimals or {}).get(r["asset"])
        if chain is not None and chain.native and chain.native[0] == r["asset"] and known is None:
            known = chain.native[1]
        rec["units"] = safe_units(balance, known, r["integer"]) if balance is not None else None
        rec["decimals"] = known
        if chain is None:
            rec["reason"] = f"chain {r['chain']!r} is not on the supported list"
            continue
        rec["chain"] = chain.name
        if height is not None:
            heights[chain.name] = height
        node = by_chain.get(chain.name)
        try:
            canonical = canonical_address(chain, r["address"] or "")
        except Refused as exc:
            canonical, undecodable = None, exc
        if canonical is not None:  # the same wallet twice, however spelled: one address, one row
            key = wallet_key(chain.name, canonical, r["asset"])
            if key in first:
                rec["status"], rec["reason"] = ERROR, duplicate_reason(first[key])
                continue
            first[key] = rec
        client = balance_client(chain)
        if client is None:
            rec["reason"] = f"no balance client for the {chain.family} family yet"
            continue
        if node is None:
            rec["reason"] = f"no node given for {chain.name} (--rpc {chain.name}=URL)"
            continue
        native = chain.native is not None and chain.native[0] == r["asset"]
        contract = tokens.get((r["asset"], chain.name))
        if not native and contract is None:
            rec["reason"] = (f"{r['asset']} on {chain.name} is not the chain's coin and has no token contract configured "
                             f"(--token {r['asset']}@{chain.name}=CONTRACT)")
            continue
        if canonical is None:
            rec["status"], rec["reason"] = ERROR, f"the address does not decode: {undecodable}"
            continue
        if height is None:
            rec["status"], rec["reason"] = ERROR, "the row has no snapshot height"
            continue
        if balance is None:
            rec["status"], rec["reason"] = ERROR, "the row has no balance"
            continue
        item = BalanceItem(i, canonical, balance, r["integer"], known, contract.hex() if contract is not None else None,
                           height)
        groups.setdefault(chain.family, {}).setdefault(chain.name, []).append(client.item(chain, canonical, item))
    by_name = {name: items for per in groups.values() for name, items in per.items()}
    # one height per chain (heights.hold_rows): its rows' height is the snapshot height its node is probed at
    probed = probe_chains(mapper, {name: (by_chain[name].url, items[0].height) for name, items in by_name.items()},
                          period)
    refused = {name for name, p in probed.items() if p.why}
    for name, p in probed.items():  # a node on another chain, behind, or a block out of the window
        if p.why:
            for it in by_name.get(name, []):
                records[it.row]["status"], records[it.row]["reason"] = ERROR, p.why
    settings = Settings(chunk_rows, batch, concurrency, scan_chunk)
    tasks: list[BalanceTask] = [
        task for family, client in BALANCE_CLIENTS.items()
        for name, items in sorted(groups.get(family, {}).items()) if name not in refused
        for task in client.tasks(name, by_chain[name].url, items, probed[name].block, settings)]
    done: list[list[BalanceResult]] = mapper(_run_task, tasks) if tasks else []
    for results in done:  # every family's tasks side by side
        for res in results:
            rec = records[res.row]
            rec["status"], rec["reason"] = res.status, res.reason
            rec["on_chain"] = None if res.on_chain is None else str(res.on_chain)
            if res.units is not None:
                rec["units"] = res.units
            if res.decimals is not None:
                rec["decimals"] = res.decimals
    for rec in records:
        if rec["units"] is not None:
            rec["published"] = str(rec["units"])
    check = BalanceCheck(records, {name: shown(n.url) for name, n in by_chain.items()},
                         {name: p.block for name, p in probed.items() if p.block is not None}, heights)
    if period is None:
        check.sampling_note = ("no sampled heights: they need --period (the month's range, and its last block whose "
                               "hash chooses them)") if sample > 0 else ""
    else:
        check.sampling = _sample(mapper, records, by_name, by_chain, probed, period, sample, since or {}, settings)
    return check


def _sample(mapper: Mapper, records: list[BalanceRecord], by_name: Mapping[str, list[BalanceItem]],
            by_chain: Mapping[str, Node], probed: Mapping[str, Probed], period: str, count: int,
            since: Mapping[str, int], settings: Settings) -> Sampling:
    """Every chain's rows read at the month's sampled heights (``pipeline.onchain.sampling``): the plan per
    chain on the workers (closing block, range, heights, their blocks), then the reads, summed per asset."""
    out = Sampling(count)
    if count <= 0:
        return out
    read: dict[str, list[BalanceItem]] = {}
    wanted: list[PlanTask] = []
    for name in sorted({c for r in records if (c := r["chain"]) is not None and c in by_chain}):  # as per_chain has them
        client = balance_client(by_chain[name].chain)
        p = probed.get(name)
        ok = [it for it in by_name.get(name, []) if records[it.row]["status"] in (MATCH, MISMATCH)]
        if client is None or not client.past_heights:
            out.chains[name] = {"sampled": False, "why": client.tip_only if client else "no balance client"}
        elif p is not None and p.why:
            out.chains[name] = {"sampled": False, "why": f"its snapshot block was not read ({p.why})"}
        elif not ok or p is None or p.block is None:
            out.chains[name] = {"sampled": False, "why": "no row of it was read at the snapshot"}
        else:
            read[name] = ok
            wanted.append(PlanTask(name, by_chain[name].url, p.block, period, since.get(name), count))
    plans = plan_chains(mapper, wanted)
    tasks: list[SampleTask] = []
    for name, plan in sorted(plans.items()):
        if plan.why:
            out.chains[name] = {"sampled": False, "why": plan.why}
            out.failed.append(name)
            continue
        client = balance_client(by_chain[name].chain)
        assert client is not None, name
        to_read = [SampleItem(it.row, records[it.row]["asset"], it.canonical, it.contract) for it in read[name]]
        tasks += client.sample_tasks(name, by_chain[name].url, to_read, [b.height for b in plan.blocks], settings)
    done: list[SampleRead] = mapper(_run_sample, tasks) if tasks else []
    sums: dict[tuple[str, int], dict[str, int]] = {}
    whys: dict[str, str] = {}
    for r in done:
        if r.why:
            whys.setdefault(r.chain, f"at height {r.height}: {r.why}")
        per = sums.setdefault((r.chain, r.height), {})
        for asset, v in r.sums.items():
            per[asset] = per.get(asset, 0) + v
    for name, plan in sorted(plans.items()):
        if plan.why:
            continue
        if name in whys:
            out.chains[name] = {"sampled": False, "why": whys[name]}
            out.failed.append(name)
            continue
        assert plan.seed is not None, name
        snapshot: dict[str, int] = {}
        for it in read[name]:
            rec = records[it.row]
            snapshot[rec["asset"]] = snapshot.get(rec["asset"], 0) + int(rec["on_chain"] or 0)
        heights = [b.height for b in plan.blocks]
        assets = {}
        for asset, at_snapshot in sorted(snapshot.items()):
            at = [sums.get((name, h), {}).get(asset, 0) for h in heights]
            assets[asset] = {"snapshot": str(at_snapshot), "minimum": str(min([at_snapshot, *at])),
                             "at": [str(v) for v in at]}
        out.chains[name] = {"sampled": True, "seed": plan.seed.as_json(), "first": plan.first,
                            "first_rule": plan.first_rule, "last": plan.last, "heights": heights,
                            "blocks": [b.as_json() for b in plan.blocks], "assets": assets}
    out.failed.sort()
    return out


def _result_row(record: BalanceRecord) -> dict[str, object]:
    """A record as the per-row results file's row: ``RESULT_FIELDS``, each under its column's name."""
    return {RESULT_COLUMNS.get(k, k): v for k, v in record.items() if k in RESULT_FIELDS}


def write_results(check: BalanceCheck, out: str, storage_options: Mapping[str, Any] | None = None) -> None:
    """Per-row results (amounts as decimal strings in smallest units) to ``out``."""
    write_rows(out, [_result_row(r) for r in check.records], RESULT_SCHEMA, storage_options)
