"""Every figure of a month's report, re-derived from the month's signed public files and the chain of
signed past reports, and compared with what the month shows: one comparison, used by
``por history verify`` and ``por regenerate``.

Nothing in ``report.json`` is taken on the publisher's word because it is signed: the liabilities are
the manifest's root sums, the reserves are the sums of ``reserves.parquet``, every reserve row's
ownership status is re-verified against the challenge recomputed from (exchange, period, previous
manifest digest), counts and sums by status follow, both ratios follow, the history rows are the
earlier months' signed reports, the dollar figures follow from the prices, and ``report.md`` /
``report.html`` must show exactly ``report.json``'s figures (a month rendered by this renderer is
re-rendered and compared byte for byte; an older month's figures are read back from its pages).

por-v3 months: what users are owed and owe are each tree root's equity and debt, the net liabilities
and both ratios follow; the haircuts the report states are held to the haircuts file's rules
(``schemas/haircuts.md``), and a month with debt must state haircuts and prices (the collateral rule
cannot have been checked without them). The rule itself needs the private store: it is the audit's.

What cannot be re-derived offline, and is therefore compared only for its form: ``published_at``
and the per-chain node answers under ``balances`` (``por reserves check-balances`` re-derives those
against a node).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

from ..errors import InputError, PorError
from ..mapping import Mapper, local_mapper
from ..formats.assets import Asset
from ..formats.haircuts import Haircuts
from ..formats.prices import Prices
from ..ownership.challenge import challenge_text
from ..ownership.chains import find_chain
from ..ownership.check import BOUND, INVALID, OWNERS_NOT_CHECKED, STATUSES, UNBOUND
from ..reserves.input import load_reserves
from ..reserves.ownership import verify_reserves
from ..reserves.public import PARQUET_NAME, read_rows
from ..reserves.results import named_rows
from ..protocol.versions import per_asset
from ..reserves.ratios import LEGACY_STATUS, AssetPosition, liability_totals, manifest_positions
from .report import (
    ASSET_COLUMNS,
    REPORT_HTML,
    REPORT_JSON,
    REPORT_MD,
    collateral_section,
    month_root,
    report_doc,
    reserves_status,
    usd_figures,
)

LATER_KEYS = frozenset({"announced_value", "master_secret", "exchange", "published_at", "snapshot_time",
                        "bound_ratios", "usd", "balances", "links", "liabilities_only", "reserves_only", "renderer",
                        "under_100_percent"})
"""Report keys that reports of earlier tool versions may lack. Absent, they are not compared, and only in
a *legacy* month (one whose manifest predates ``publication.verifier``, in an archive where no earlier
month carries it); in every other month each key must be there and equal."""


def is_legacy(manifest: Mapping[str, Any]) -> bool:
    """Published before the manifest named its page's code and its master secret's id."""
    publication = manifest.get("publication") or {}
    return "verifier" not in publication and "secret" not in publication


@dataclass(frozen=True)
class Month:
    """One publication's signed public documents, as far as the re-derivation needs them."""

    label: str
    """How problems name the month (``2026-10 revision 1``: ``history.month_label``)."""
    manifest: Mapping[str, Any]
    report: Mapping[str, Any]
    reserves_url: str | None
    """``public/reserves.parquet`` (None when the month published none)."""
    markdown: bytes | None = None
    html: bytes | None = None
    previous_secret: str | None = None
    """The master secret id of the previous month's manifest (None: none recorded, or no previous month)."""
    csv: bytes | None = None
    """``public/reserves.csv`` (None when the month published none)."""
    legacy_allowed: bool = True
    """False once an earlier month of the archive carries ``publication.verifier``: no downgrade after it."""
    previous_exchange: str | None = None
    """The exchange's name in the previous month's report (None: no previous month, or none given)."""
    previous_heights: Mapping[str, int] | None = None
    """chain -> the snapshot height the previous month's report recorded (``snapshot_heights``): where this
    month's sampled heights start (None or empty: no previous month, or it checked no chain)."""


@dataclass
class Derived:
    doc: dict[str, Any]
    positions: list[AssetPosition]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What could only be checked in part (pages of a legacy month, charts of another matplotlib)."""


def history_row(manifest: Mapping[str, Any], report: Mapping[str, Any] | None) -> dict[str, Any]:
    """A month's row in later months' history: from its signed manifest and its signed report (por-v3:
    ``root`` is the announced value, ``liabilities`` what users are owed, and ``debt`` what they owe)."""
    liabilities, debt = liability_totals(manifest)
    symbols = [x["symbol"] for x in manifest["assets"]]
    row: dict[str, Any] = {"period": manifest["period"], "root": month_root(manifest),
                           "liabilities": {s: str(v) for s, v in zip(symbols, liabilities, strict=True)}}
    if debt is not None:
        row["debt"] = {s: str(v) for s, v in zip(symbols, debt, strict=True)}
    if report is not None:
        row["ratios"] = {r["symbol"]: r["ratio_percent"] for r in report["assets"]}
        row["flagged"] = [r["symbol"] for r in report["assets"] if r["flagged"]]
        if report.get("usd"):
            row["reserves_usd"] = report["usd"]["total"]["reserves"]
    return row


def snapshot_heights(report: Mapping[str, Any] | None) -> dict[str, int]:
    """chain -> the snapshot height a report's balance checks read the chain's node at (``balances.chains``:
    a node given and its snapshot block read); where the next month's sampled heights start."""
    balances = report.get("balances") if isinstance(report, Mapping) else None
    chains = balances.get("chains") if isinstance(balances, Mapping) else None
    out: dict[str, int] = {}
    for name, c in (chains or {}).items() if isinstance(chains, Mapping) else ():
        if isinstance(c, Mapping) and c.get("node") and c.get("block") and isinstance(c.get("height"), int) \
                and not isinstance(c.get("height"), bool):
            out[str(name)] = c["height"]
    return out


def report_prices(report: Mapping[str, Any]) -> Prices | None:
    """The prices a report states it used (its ``usd`` section), held to the prices file's own rules
    (``schemas/prices.md``: decimal strings, no sign, no exponent; a timestamp with an offset), or None."""
    from ..formats.canonical import canonical_json
    from ..formats.prices import FORMAT, parse_prices

    usd = report.get("usd")
    if not usd:
        return None
    if not isinstance(usd, Mapping) or not isinstance(usd.get("assets"), Mapping):
        raise InputError(f"{REPORT_JSON} usd: not an object with assets")
    doc = {"format": FORMAT, "source": usd.get("source"), "timestamp": usd.get("timestamp"),
           "prices": {k: v.get("price") if isinstance(v, Mapping) else v for k, v in usd["assets"].items()}}
    return parse_prices(canonical_json(doc), f"{REPORT_JSON} usd", list(usd["assets"]))


def report_haircuts(report: Mapping[str, Any], symbols: Sequence[str]) -> Haircuts | None:
    """The haircuts a por-v3 report states it used (``collateral.haircuts``), held to the haircuts
    file's rules (``schemas/haircuts.md``: a decimal string in [0, 1] for every asset), or None when it
    states none."""
    from ..formats.canonical import canonical_json
    from ..formats.haircuts import FORMAT, parse_haircuts

    collateral = report.get("collateral")
    if not isinstance(collateral, Mapping):
        raise InputError(f"{REPORT_JSON} collateral: not an object")
    if collateral.get("haircuts") is None:
        return None
    doc = {"format": FORMAT, "haircuts": collateral["haircuts"]}
    return parse_haircuts(canonical_json(doc), f"{REPORT_JSON} collateral", list(symbols))


@dataclass(frozen=True)
class Tables:
    """A month's archived prices and haircuts, and what is wrong with them or with the report's copies."""

    prices: Prices | None
    haircuts: Haircuts | None
    problems: list[tuple[str, str]]
    """``(what, text)``: ``inputs`` (an archived file altered), ``report-usd``, ``report-collateral``."""


def archived_tables(a: Any, directory: str, manifest: Mapping[str, Any], report: Mapping[str, Any]) -> Tables:
    """The prices and haircuts archived with a month (``inputs/prices.json``, ``inputs/haircuts.json``),
    each checked against the blake3 ``inputs/inputs.json`` records for it (and that file against the
    manifest's ``publication.inputs``) and parsed by its file's rules; and the report's stated prices
    (``usd``) and haircuts (``collateral.haircuts``) against them. Only these small files are read: the
    snapshot and reserves are ``regenerate``'s (``archive.check_inputs``)."""
    from ..formats.canonical import digest
    from ..formats.haircuts import parse_haircuts
    from ..formats.prices import parse_prices
    from ..protocol.jsonread import parse_json
    from . import archive

    problems: list[tuple[str, str]] = []
    symbols = [x["symbol"] for x in manifest["assets"]]
    raw = a.read(directory, archive.INPUTS_DOC)
    recorded = (manifest.get("publication") or {}).get("inputs")
    if recorded is not None and digest(raw) != recorded:
        return Tables(None, None, [("inputs", f"{archive.INPUTS_DOC}: blake3 {digest(raw)} differs from the manifest's "
                                              f"{recorded}")])
    inputs = parse_json(raw, f"{directory}/{archive.INPUTS_DOC}")
    read: dict[str, bytes] = {}
    for part, name in (("prices", archive.PRICES), ("haircuts", archive.HAIRCUTS)):
        if part not in inputs:
            continue
        want = inputs[part]["files"].get(name)
        data = a.read(directory, name)
        if digest(data) != want:
            problems.append(("inputs", f"{name}: blake3 {digest(data)} differs from the recorded {want}"))
        else:
            read[part] = data
    prices = parse_prices(read["prices"], f"{directory}/{archive.PRICES}", symbols) if "prices" in read else None
    haircuts = (parse_haircuts(read["haircuts"], f"{directory}/{archive.HAIRCUTS}", symbols)
                if "haircuts" in read else None)
    stated = report_prices(report)
    if "prices" in read and (stated is None or prices is None or (stated.source, stated.timestamp, stated.prices)
                             != (prices.source, prices.timestamp, prices.prices)):
        problems.append(("report-usd", f"the report's prices are not the archived {archive.PRICES}'s"))
    elif "prices" not in inputs and stated is not None:
        problems.append(("report-usd", f"the report states prices but none were archived ({archive.PRICES})"))
    if per_asset(manifest.get("version")):
        stated_cuts = report_haircuts(report, symbols)
        if "haircuts" in read and stated_cuts != haircuts:
            problems.append(("report-collateral", f"the report's haircuts (collateral.haircuts) are not the archived "
                                                  f"{archive.HAIRCUTS}'s"))
        elif "haircuts" not in inputs and stated_cuts is not None:
            problems.append(("report-collateral", f"the report states haircuts but none were archived "
                                                  f"({archive.HAIRCUTS})"))
    return Tables(prices, haircuts, problems)


def derive(month: Month, earlier: Sequence[Mapping[str, Any]], prices: Prices | None,
           mapper: Mapper = local_mapper, storage_options: Mapping[str, Any] | None = None,
           nodes: Sequence[Any] = (), haircuts: Haircuts | None = None) -> Derived:
    """The report ``month`` must carry, re-derived. ``earlier``: the history rows of every other
    period that was current when this month was published (``history_row``), in any order;
    ``prices``: the prices to recompute the dollar figures with (None: the month has none);
    ``nodes``: chain nodes of the caller's own that re-confirm contract wallets' owners;
    ``haircuts`` (por-v3): the haircuts the month's collateral rule used (None: none)."""
    manifest, archived = month.manifest, month.report
    if not isinstance(archived, Mapping):
        raise InputError(f"{REPORT_JSON} is not a JSON object")
    assets = [Asset(x["symbol"], x["decimals"]) for x in manifest["assets"]]
    legacy = is_legacy(manifest)
    problems: list[str] = []
    if legacy and not month.legacy_allowed:
        problems.append("the manifest lacks publication.verifier and publication.secret although an earlier month "
                        "carries them: a month cannot drop the checks its predecessors had")
    own_doc = archived.get("ownership")
    if own_doc is not None and not isinstance(own_doc, Mapping):
        raise InputError(f"{REPORT_JSON} ownership: not an object")
    exchange = (own_doc or {}).get("exchange") if own_doc else archived.get("exchange")
    if own_doc and "exchange" in archived and archived["exchange"] != own_doc.get("exchange"):
        problems.append(f"{REPORT_JSON} names the exchange {shown(archived['exchange'])} but its challenge names "
                        f"{shown(own_doc.get('exchange'))}")
    if month.previous_exchange is not None and exchange != month.previous_exchange:
        problems.append(f"the exchange's name changed from {shown(month.previous_exchange)} (the previous month's) to "
                        f"{shown(exchange)}")
    previous = manifest.get("previous")
    notes: list[str] = []
    by_status: dict[str, dict[str, int]] = {}
    ownership_section = None
    if month.reserves_url is None:
        from ..reserves.input import Reserves

        reserves = Reserves({}, 0)
        if own_doc:
            problems.append(f"{REPORT_JSON} has an ownership section but the month publishes no {PARQUET_NAME}")
    else:
        reserves = load_reserves(month.reserves_url, assets, storage_options)
        challenge = None
        if exchange is not None:
            try:
                challenge = challenge_text(exchange, manifest["period"], previous["manifest"] if previous else None)
            except InputError as exc:
                problems.append(f"{REPORT_JSON} ownership.exchange {shown(exchange)}: {exc}")
        ownership = verify_reserves(mapper, month.reserves_url, challenge, "parquet", storage_options,
                                    nodes=tuple(nodes), period=manifest["period"])
        problems += _invalid_rows(ownership.records)
        problems += _owners_unconfirmed(ownership.records, month.reserves_url, storage_options)
        for (symbol, amount), record in zip(reserves.amounts, ownership.records, strict=True):
            by_status.setdefault(symbol, dict.fromkeys(STATUSES, 0))[record["status"]] += amount
        ownership_section = reserves_status(ownership, by_status, exchange, challenge) if own_doc is not None else None
        rows = read_rows(month.reserves_url, storage_options)
        if legacy:
            problems += _published_statuses(month.reserves_url, ownership.records, storage_options)
        else:
            problems += _published_reserves(month, reserves, ownership, rows, assets, storage_options)
        problems += _balances_problems(archived.get("balances"), rows)
        sampled, sampling_notes = _sampling_problems(archived.get("balances"), rows, reserves.amounts,
                                                     manifest["period"], month.previous_heights or {})
        problems += sampled
        notes += sampling_notes
    pos = manifest_positions(manifest, reserves.totals)
    this = history_row(manifest, None)
    this.update({"ratios": {p.symbol: p.ratio for p in pos}, "flagged": [p.symbol for p in pos if p.flagged]})
    usd = None
    if prices is not None:
        from ..formats.prices import prices_time_problem, zero_price_problems

        bound = ({s: per.get(BOUND, 0) for s, per in by_status.items()}
                 if ownership_section and ownership_section.get("challenge") else None)
        usd = usd_figures(prices, pos, reserves.totals, bound)
        this["reserves_usd"] = usd["total"]["reserves"]
        late = prices_time_problem(prices, manifest["period"])
        problems += [f"usd: {late}"] if late else []
        problems += [f"usd: {z}" for z in zero_price_problems(
            prices, {p.symbol: p.liabilities + (p.debt or 0) + p.reserves for p in pos})]
    collateral = None
    if per_asset(manifest.get("version")):
        collateral = collateral_section(haircuts)
        problems += collateral_problems(pos, prices, haircuts)
    history = sorted([*[h for h in earlier if h["period"] != manifest["period"]], this], key=lambda h: h["period"])
    doc = report_doc(manifest, pos, reserves, history, ownership_section, usd, archived.get("balances"),
                     archived.get("published_at"), archived.get("exchange"), collateral)
    problems += _published_at_problems(archived.get("published_at"), manifest["period"])
    if "renderer" in archived or legacy:
        doc["renderer"] = archived.get("renderer")
    this_secret = (manifest.get("publication") or {}).get("secret")
    if this_secret is not None or not legacy:
        doc["master_secret"] = {"id": this_secret,
                                "changed": month.previous_secret is not None and month.previous_secret != this_secret}
    return Derived(doc, pos, problems, notes)


def collateral_problems(pos: Sequence[AssetPosition], prices: Prices | None, haircuts: Haircuts | None) -> list[str]:
    """A por-v3 month in which users owe anything must state the prices and the haircuts its collateral
    rule was checked with (publication refuses a month with debt without them)."""
    owed = [p.symbol for p in pos if p.debt]
    if not owed:
        return []
    missing = [what for what, given in (("prices", prices), ("haircuts", haircuts)) if given is None]
    if not missing:
        return []
    return [f"users owe {', '.join(owed)} but the report states no {' and no '.join(missing)}: the per-user "
            "collateral rule cannot have been checked, and publication refuses such a month"]


def _invalid_rows(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """A published month holds no invalid proof: ``por publish`` refuses one (and its balance would count
    in the declared ratio)."""
    bad = [r for r in records if r["status"] == INVALID]
    if not bad:
        return []
    named = "; ".join(named_rows(bad))
    return [f"{PARQUET_NAME}: {len(bad)} row(s) with an invalid ownership proof, which publication refuses: {named}"]


def _owners_unconfirmed(records: Sequence[Mapping[str, Any]], url: str,
                        storage_options: Mapping[str, Any] | None) -> list[str]:
    """Contract-wallet rows published ``bound`` that no node of the caller's own confirmed: the
    publisher's node answer is not evidence. Named with the option that re-confirms them."""
    pending = [r for r in records if r["status"] == UNBOUND and r.get("note") == OWNERS_NOT_CHECKED]
    if not pending:
        return []
    published = _published_column(url, ("status",), storage_options)
    claimed: dict[str, list[int]] = {}
    for r in pending:
        if r["row"] < len(published) and published[r["row"]].get("status") == BOUND:
            chain = find_chain(r["chain"])
            claimed.setdefault(chain.name if chain else r["chain"], []).append(r["row"])
    return [f"{PARQUET_NAME}: {len(rows)} contract-wallet row(s) on {name} (rows {rows[:5]}) are published bound on "
            f"the answer of the exchange's node to getOwners()/getThreshold(), which is no evidence: re-confirm them "
            f"on a node of your own (--rpc {name}=URL)" for name, rows in sorted(claimed.items())]


def _published_reserves(month: Month, reserves: Any, ownership: Any, rows: Sequence[Mapping[str, Any]],
                        assets: Sequence[Asset], storage_options: Mapping[str, Any] | None) -> list[str]:
    """``reserves.parquet`` row for row (row number, balance, height, proof columns, status, reason,
    note) and ``reserves.csv`` byte for byte, against the files re-derived from the re-verification."""
    import io

    import pyarrow.parquet as pq

    from ..reserves.public import CSV_NAME, public_files

    fresh = public_files(reserves, ownership, rows, {a.symbol: a.decimals for a in assets})
    want = pq.read_table(io.BytesIO(fresh[PARQUET_NAME])).to_pylist()
    got = _published_column(month.reserves_url or "", tuple(want[0]) if want else ("row",), storage_options)
    problems = []
    if len(got) != len(want):
        problems.append(f"{PARQUET_NAME}: {len(got)} rows, the re-verification gives {len(want)}")
    else:
        pending = {r["row"] for r in ownership.records if r.get("note") == OWNERS_NOT_CHECKED}  # named apart
        differ = [(i, [k for k in w if g.get(k) != w[k]]) for i, (g, w) in enumerate(zip(got, want, strict=True))
                  if i not in pending]
        differ = [(i, bad) for i, bad in differ if bad]
        if differ:
            named = "; ".join(f"row {i}: {', '.join(bad)} published {shown([got[i].get(k) for k in bad])}, re-verified "
                              f"{shown([want[i][k] for k in bad])}" for i, bad in differ[:5])
            problems.append(f"{PARQUET_NAME}: {len(differ)} row(s) differ from the re-verification ({named})")
    if month.csv is not None and month.csv != fresh[CSV_NAME]:
        problems.append(f"{CSV_NAME} is not the rendering of {PARQUET_NAME} (re-rendered, the bytes differ)")
    return problems


def _balances_problems(balances: Any, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The per-chain node record against the rows it describes: every chain of the rows there, the
    counts adding up to the chain's rows, the height the rows' height, the chain id the chain's."""
    if balances is None:
        return []
    chains = balances.get("chains") if isinstance(balances, Mapping) else None
    if not isinstance(chains, Mapping):
        return [f"{REPORT_JSON} balances: no per-chain record"]
    by_chain: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        chain = find_chain(r.get("chain") or "")
        by_chain.setdefault(chain.name if chain else str(r.get("chain")), []).append(r)
    problems = []
    for name in sorted(set(by_chain) - set(chains)):
        problems.append(f"{REPORT_JSON} balances: no record for {name}, which holds {len(by_chain[name])} row(s)")
    for name, c in sorted(chains.items()):
        where = f"{REPORT_JSON} balances.chains.{name}"
        mine = by_chain.get(name, [])
        if not isinstance(c, Mapping) or not isinstance(c.get("counts"), Mapping):
            problems.append(f"{where}: not a record with counts")
            continue
        counted = sum(v for v in c["counts"].values() if isinstance(v, int))
        if counted != len(mine):
            problems.append(f"{where}: counts {counted} row(s), {PARQUET_NAME} holds {len(mine)}")
        heights = sorted({int(r["height"]) for r in mine if r.get("height") is not None})
        if c.get("node"):
            claimed = sorted(set(c.get("heights") or []) | ({c["height"]} if c.get("height") is not None else set()))
            if claimed != heights:
                problems.append(f"{where}: checked at height(s) {shown(claimed)}, the rows are at {shown(heights)}")
            chain = find_chain(name)
            expected = None if chain is None else (str(chain.chain_id) if chain.chain_id is not None else chain.genesis)
            if expected is not None and c.get("chain_id") != expected:
                problems.append(f"{where}: chain id {shown(c.get('chain_id'))}, {name}'s is {shown(expected)}")
    return problems


def _sampling_problems(balances: Any, rows: Sequence[Mapping[str, Any]], amounts: Sequence[tuple[str, int]],
                       period: str, previous: Mapping[str, int]) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` of the record of the month's sampled heights (``balances.sampling``,
    ``pipeline.onchain.sampling``): one entry per chain a node was given for; on a sampled chain the
    closing block at or after the snapshot block and within the period, the range from after the previous
    month's snapshot height (its signed report) or, for a chain no earlier month recorded, from the period's
    first block (a node's word: noted) to the block before the snapshot, the heights the rule gives from the
    closing block's hash, their blocks in order, and per asset the snapshot sum the chain's rows of
    ``reserves.parquet`` give and a minimum that is the least of it and the sums at the heights (which are
    the publisher's node's answers: carried). A family whose node reads its tip only cannot be sampled."""
    from ..onchain import blocks as block_rules
    from ..onchain import sampling
    from ..protocol.period import month_before
    from ..reserves.nodes import balance_client

    if not isinstance(balances, Mapping) or "sampling" not in balances:
        return [], []
    where = f"{REPORT_JSON} balances.sampling"
    s, chains = balances["sampling"], balances.get("chains")
    if not isinstance(s, Mapping) or s.get("rule") != sampling.RULE or not isinstance(s.get("chains"), Mapping) \
            or not isinstance(s.get("count"), int) or isinstance(s.get("count"), bool) or \
            not 0 <= s["count"] <= sampling.MAX_COUNT or not isinstance(chains, Mapping):
        return [f"{where}: not a record of the rule {sampling.RULE} (rule, count from 0 to {sampling.MAX_COUNT}, "
                "chains)"], []
    count, problems, notes = s["count"], [], []
    noded = sorted(n for n, c in chains.items() if isinstance(c, Mapping) and c.get("node"))
    recorded = sorted(s["chains"])
    if count and recorded != noded:
        problems.append(f"{where}: records the chains {shown(recorded)}, the balance checks read {shown(noded)}")
    if not count and recorded:
        problems.append(f"{where}: no height was asked for (count 0), yet it records the chains {shown(recorded)}")
    held: dict[tuple[str, str], int] = {}
    for r, (asset, units) in zip(rows, amounts, strict=False):
        chain = find_chain(r.get("chain") or "")
        key = (chain.name if chain else str(r.get("chain")), asset)
        held[key] = held.get(key, 0) + units
    end, start = block_rules.period_end(period), block_rules.period_end(month_before(period))
    for name, c in sorted(s["chains"].items()):
        w = f"{where}.chains.{name}"
        chain = find_chain(name)
        client = balance_client(chain) if chain is not None else None
        if not isinstance(c, Mapping) or not isinstance(c.get("sampled"), bool):
            problems.append(f"{w}: not a record with sampled true or false")
            continue
        if not c["sampled"]:
            if not isinstance(c.get("why"), str) or not c["why"]:
                problems.append(f"{w}: not sampled, and no reason given")
            continue
        if client is None or not client.past_heights:
            problems.append(f"{w}: sampled, but the {name} family's node cannot answer at past heights")
            continue
        try:
            snap = chains[name]
            height, block = snap["height"], snap["block"]
            seed, first, last, heights = c["seed"], c["first"], c["last"], c["heights"]
            sampling.seed_bytes(seed["hash"])
            if not (isinstance(seed["height"], int) and seed["height"] >= height and block["timestamp"] <= seed["timestamp"] <= end):
                problems.append(f"{w}: seed block {seed['height']} at {seed['timestamp']} is not at or after the snapshot "
                                f"block ({height}) and at or before the period's end ({block_rules.iso(end)}): it cannot "
                                "be the period's last block")
            if last != height - 1:
                problems.append(f"{w}: the range ends at {last}, not at the block before the snapshot ({height - 1})")
            if name in previous:
                if (first, c["first_rule"]) != (previous[name] + 1, sampling.FIRST_AFTER_PREVIOUS):
                    problems.append(f"{w}: the range starts at {first} ({c['first_rule']}), not after the previous "
                                    f"month's snapshot height {previous[name]} its signed report records")
            elif c["first_rule"] != sampling.FIRST_OF_PERIOD:
                problems.append(f"{w}: the range starts after a previous month's snapshot ({first}) that no earlier "
                                "month of the archive records")
            else:
                notes.append(f"{name}'s sampled range starts at block {first}, the period's first block as the "
                             "publisher's node reported it: a node of one's own re-derives it (por reserves "
                             f"check-balances --period {period})")
            want = sampling.sample_heights(name, seed["hash"], first, last, count)
            if heights != want:
                problems.append(f"{w}: heights {shown(heights)}, the rule gives {shown(want)} from the seed block's "
                                f"hash {seed['hash']}")
            got = c["blocks"]
            if [b["height"] for b in got] != heights:
                problems.append(f"{w}: blocks of heights {shown([b['height'] for b in got])} for the heights "
                                f"{shown(heights)}")
            times = [b["timestamp"] for b in got] + [block["timestamp"]]
            if times != sorted(times) or (c["first_rule"] == sampling.FIRST_OF_PERIOD and times[0] < start):
                problems.append(f"{w}: the sampled blocks' times are not in order up to the snapshot block's (within "
                                "the period): not the chain's blocks")
            for asset, a in sorted(c["assets"].items()):
                at = [int(v) for v in a["at"]]
                if int(a["snapshot"]) != held.get((name, asset), 0):
                    problems.append(f"{w}.assets.{asset}: at the snapshot {a['snapshot']}, {PARQUET_NAME}'s {name} rows "
                                    f"of {asset} hold {held.get((name, asset), 0)}")
                if len(at) != len(heights) or any(v < 0 for v in at) or int(a["minimum"]) != min([int(a["snapshot"]), *at]):
                    problems.append(f"{w}.assets.{asset}: minimum {a['minimum']} is not the least of the snapshot sum "
                                    f"and the {len(heights)} sampled sums {shown(a['at'])}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{w}: cannot be read ({type(exc).__name__}: {exc})")
    if any(isinstance(c, Mapping) and c.get("sampled") for c in s["chains"].values()):
        notes.append("the balances at the sampled heights are the publisher's node's answers: a node of one's own "
                     f"re-reads them (por reserves check-balances --period {period} --archive ARCHIVE)")
    return problems, notes


def _published_at_problems(published_at: Any, period: str) -> list[str]:
    """``published_at`` is carried, not derivable; but a month cannot have been published before it ended."""
    import datetime as dt

    from ..protocol.period import snapshot_time

    if published_at is None:
        return []
    try:
        when = dt.datetime.fromisoformat(str(published_at).replace("Z", "+00:00"))
    except ValueError:
        return [f"published_at {shown(published_at)} is not an ISO 8601 time"]
    if when.tzinfo is None:
        return [f"published_at {shown(published_at)} has no UTC offset"]
    end = snapshot_time(period)
    if when < end:
        return [f"published_at {published_at} is before the period ended ({end:%Y-%m-%dT%H:%M:%SZ})"]
    return []


def _published_column(url: str, names: Sequence[str], storage_options: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    from ..storage import fs as storage

    fs, path = storage.open_fs(url, storage_options)
    with fs.open(path, "rb") as f:
        pf = pq.ParquetFile(f)
        present = [n for n in names if n in pf.schema_arrow.names]
        return pf.read(columns=present).to_pylist()


def _published_statuses(url: str, records: Sequence[Mapping[str, Any]],
                        storage_options: Mapping[str, Any] | None) -> list[str]:
    """A legacy month: the statuses ``reserves.parquet`` was published with, against the re-verified ones."""
    rows = _published_column(url, ("status",), storage_options)
    if rows and "status" not in rows[0]:
        return [f"{PARQUET_NAME} has no status column"]
    published = [r["status"] for r in rows]
    now = [r["status"] for r in records]
    bad = [i for i, (x, y) in enumerate(zip(published, now, strict=False)) if x != y]
    if len(published) != len(now):
        return [f"{PARQUET_NAME}: {len(published)} statuses for {len(now)} rows"]
    if not bad:
        return []
    named = ", ".join(f"row {i}: published {shown(published[i])}, re-verified {shown(now[i])}" for i in bad[:5])
    return [f"{PARQUET_NAME}: {len(bad)} ownership status(es) differ from the re-verified ones ({named})"]


def _normalise(report: Mapping[str, Any]) -> dict[str, Any]:
    """Old spellings read as today's (``under-collateralised`` is ``under-100-percent``)."""
    out = dict(report)
    if isinstance(out.get("assets"), list):
        out["assets"] = [{**r, "status": LEGACY_STATUS.get(str(r.get("status")), r.get("status"))}
                         if isinstance(r, Mapping) else r for r in out["assets"]]
    return out


def _diff(path: str, got: Any, want: Any, out: list[tuple[str, Any, Any]]) -> None:
    if isinstance(got, Mapping) and isinstance(want, Mapping):
        for key in sorted(set(got) | set(want), key=str):
            _diff(f"{path}.{key}" if path else str(key), got.get(key, _ABSENT), want.get(key, _ABSENT), out)
    elif isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (x, y) in enumerate(zip(got, want, strict=True)):
            name = y.get("symbol") or y.get("period") if isinstance(y, Mapping) else None
            _diff(f"{path}[{name if name is not None else i}]", x, y, out)
    elif got != want or type(got) is not type(want):
        out.append((path, got, want))


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


def figure_differences(archived: Mapping[str, Any], derived: Mapping[str, Any],
                       legacy: bool = False) -> list[tuple[str, Any, Any]]:
    """``(field, archived, re-derived)`` for every figure of ``report.json`` that differs (in a legacy
    month, keys of ``LATER_KEYS`` the report lacks are not compared)."""
    got = _normalise(archived)
    want = {k: v for k, v in derived.items() if k in got or not legacy or k not in LATER_KEYS}
    out: list[tuple[str, Any, Any]] = []
    _diff("", got, want, out)
    return out


def shown(value: Any, limit: int = 160) -> str:
    """A value as a problem names it: JSON, as the archive's files write it (``"text"``, ``{"BTC": "1"}``,
    ``null``), never Python's spelling of it; cut at ``limit`` characters (``...``)."""
    import json

    if isinstance(value, _Absent):
        return repr(value)
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."




def check_month(month: Month, earlier: Sequence[Mapping[str, Any]], prices: Prices | None = None,
                mapper: Mapper = local_mapper, storage_options: Mapping[str, Any] | None = None,
                notes: list[str] | None = None, nodes: Sequence[Any] = (), stated_prices: bool = False,
                haircuts: Haircuts | None = None) -> list[str]:
    """Every problem with ``month``'s figures and rendered pages, each naming the month, the field
    and both values. Empty when everything it shows is what its public files say. ``notes`` (when
    given) receives what could only be checked in part; ``stated_prices``: recompute the dollars from
    the report's own prices (held to the prices file's rules) and take a por-v3 month's haircuts from the
    report too (held to the haircuts file's rules; otherwise ``haircuts`` are the month's, from its
    archived input). A malformed document is a problem, never a crash."""
    try:
        if stated_prices:
            prices = report_prices(month.report)
            if per_asset(month.manifest.get("version")):
                haircuts = report_haircuts(month.report, [x["symbol"] for x in month.manifest["assets"]])
        derived = derive(month, earlier, prices, mapper, storage_options, nodes, haircuts)
        problems = [f"{month.label}: {p}" for p in derived.problems]
        problems += [f"{month.label}: {REPORT_JSON} {name}: signed {shown(got)}, re-derived {shown(want)}"
                     for name, got, want in figure_differences(month.report, derived.doc, is_legacy(month.manifest))]
        problems += [f"{month.label}: {p}" for p in rendered_differences(month, derived)]
    except (PorError, KeyError, TypeError, ValueError, AttributeError, IndexError, InvalidOperation) as exc:
        return [f"{month.label}: {REPORT_JSON} cannot be re-derived ({type(exc).__name__}: {exc})"]
    if notes is not None:
        notes += [f"{month.label}: {n}" for n in derived.notes]
    return problems


# ---------------------------------------------------------------- the rendered pages

_RENDERER_ID = re.compile(r"por-report-render/(?P<version>[0-9]+) matplotlib/(?P<mpl>[0-9A-Za-z.+-]+)")
_FIGURE = re.compile(rb"<figure>.*?</figure>", re.S)
_COMMENT = re.compile(rb"<!--.*?(-->|$)", re.S)


def rendered_differences(month: Month, derived: Derived) -> list[str]:
    """``report.md`` and ``report.html`` against ``report.json``. A month naming a render version is
    re-rendered with that version and compared byte for byte (its charts only under the same
    matplotlib version: otherwise the pages are compared with the charts left out, and a note says
    so); an unknown version is a problem. A legacy month (no renderer recorded) has its asset table,
    root and headline read back from each page."""
    from .report import RENDERERS

    if month.markdown is None and month.html is None:
        return []
    report = month.report
    renderer = report.get("renderer")
    if renderer is None:
        if not is_legacy(month.manifest):
            return [f"{REPORT_JSON} names no renderer: its pages cannot be checked"]
        derived.notes.append("report pages published before render versions: only the asset table, the root hash and "
                             "the headline are read back from them")
        return _read_back(month, report)
    m = _RENDERER_ID.fullmatch(str(renderer))
    if m is None or m["version"] not in RENDERERS:
        return [f"{REPORT_JSON} renderer {shown(renderer)}: not a render version this tool knows "
                f"({', '.join(sorted(RENDERERS))}); check the month with the tool that published it"]
    fresh = RENDERERS[m["version"]](report, derived.positions)
    import matplotlib

    same_charts = m["mpl"] == matplotlib.__version__
    out = []
    for name, data in ((REPORT_MD, month.markdown), (REPORT_HTML, month.html)):
        if data is None:
            continue
        want = fresh[name]
        if name == REPORT_HTML and not same_charts:
            data, want = _FIGURE.sub(b"<figure/>", data), _FIGURE.sub(b"<figure/>", want)
        if data != want:
            out.append(f"{name} is not the rendering of {REPORT_JSON} (re-rendered with render version "
                       f"{m['version']}, the bytes differ)")
    if not same_charts and month.html is not None:
        derived.notes.append(f"{REPORT_HTML}'s charts were drawn with matplotlib {m['mpl']}, this tool has "
                             f"{matplotlib.__version__}: the page was compared without its charts")
    return out


def _read_back(month: Month, report: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    root = report.get("root", {}).get("hash", "")
    usd = report.get("usd") or {}
    headline = None
    if usd:
        from ..formats import numbers

        headline = numbers.usd(usd["total"]["reserves"])
    for name, data, rows in ((REPORT_MD, month.markdown, _markdown_rows), (REPORT_HTML, month.html, _html_rows)):
        if data is None:
            continue
        data = _COMMENT.sub(b"", data)  # what a reader sees: a table inside a comment is not shown
        tables = data.count(b"| Asset |") if name == REPORT_MD else data.count(b'id="assets"')
        if tables != 1:
            out.append(f"{name} holds {tables} asset tables, not one")
            continue
        out += _shown_figures(name, rows(data), report)
        if root.encode() not in data:
            out.append(f"{name} does not show the root hash {root}")
        if headline is not None and headline.encode() not in data:
            out.append(f"{name} does not show the total reserves {headline}")
    return out


_MD_ROW = re.compile(r"^\| (?P<cells>.+) \|$")
_HTML_ROW = re.compile(r'<tr data-symbol="(?P<symbol>[^"]*)"[^>]*>(?P<body>.*?)</tr>', re.S)
_CELL = re.compile(r'<td class="(?P<cls>[^"]*)"[^>]*>(?P<text>.*?)</td>', re.S)
_MD_COLUMNS = {**{name: cls for name, cls, _ in ASSET_COLUMNS}, "Ratio": "ratio"}
"""The asset table's column headings (and the HTML cells' classes) -> the figure they show (``Ratio``:
the heading of pages from before the bound ratio)."""


def _markdown_rows(data: bytes) -> dict[str, dict[str, str]]:
    """Symbol -> {figure: the text the asset table shows}, by the table's own headings."""
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] | None = None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("|---"):
            continue
        m = _MD_ROW.match(line)
        if not m:
            columns = None
            continue
        cells = [c.strip() for c in m.group("cells").split(" | ")]
        if cells[0] == "Asset":
            columns = [_MD_COLUMNS.get(c, c) for c in cells]
        elif columns is not None and not cells[0].startswith("---"):
            rows[cells[0]] = dict(zip(columns[1:], cells[1:], strict=False))
    return rows


def _html_rows(data: bytes) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    page = data.decode("utf-8", "replace")
    start = page.find('<table id="assets"')
    table = page[start:page.find("</table>", start)] if start >= 0 else ""
    for m in _HTML_ROW.finditer(table):
        rows[html_lib.unescape(m.group("symbol"))] = {
            c.group("cls"): html_lib.unescape(re.sub(r"<[^>]+>", "", c.group("text"))).strip()
            for c in _CELL.finditer(m.group("body"))}
    return rows


def _number(text: str) -> tuple[Decimal, bool] | None:
    """A shown figure as (value, cut): ``1,234.5…`` -> (1234.5, True); ``n/a``/``-`` -> None."""
    t = text.replace(",", "").replace("%", "").replace("$", "").replace("\u2009", "").replace("*", "").strip()
    cut = t.endswith("…")
    t = t.rstrip("…")
    try:
        return Decimal(t), cut
    except InvalidOperation:
        return None


def _agrees(text: str, exact: str | None) -> bool:
    """A shown figure agrees with the exact one: equal, or (marked as cut) the exact one cut toward zero."""
    n = _number(text)
    if exact is None:
        return n is None
    if n is None:
        return False
    value, cut = n
    want = Decimal(exact)
    if not cut:
        return value == want
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 0
    return value == want.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN") and value != want


def _shown_figures(name: str, rows: Mapping[str, Mapping[str, str]], report: Mapping[str, Any]) -> list[str]:
    out = []
    bound = report.get("bound_ratios") or {}
    for p in report.get("assets", []):
        cells = rows.get(p["symbol"])
        if cells is None:
            out.append(f"{name} shows no row for {p['symbol']}")
            continue
        want = {"liabilities": p["liabilities_units"], "reserves": p["reserves_units"], "ratio": p["ratio_percent"]}
        if "bound_ratios" in report:
            want["ratio-bound"] = bound.get(p["symbol"])
        for what, exact in want.items():
            if what not in cells:
                out.append(f"{name} {p['symbol']}: shows no {what} figure")
            elif not _agrees(cells[what], exact):
                out.append(f"{name} {p['symbol']} {what}: shows {shown(cells[what])}, {REPORT_JSON} says {shown(exact)}")
    extra = sorted(set(rows) - {p["symbol"] for p in report.get("assets", [])})
    if extra:
        out.append(f"{name} shows rows for assets {REPORT_JSON} does not have: {shown(extra)}")
    return out
