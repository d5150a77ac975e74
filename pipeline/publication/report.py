"""The period's report: ``report.json`` (the numbers), ``report.md`` and ``report.html``.

``report.json`` is the source of every figure; the Markdown and HTML render it.
The HTML page is one self-contained file: inline CSS and inline SVG charts, a
Content-Security-Policy that forbids every network request, no scripts.

por-v3 months (per-asset trees of equity and debt) report per asset what is owed to users, what
users owe, the net liabilities (exact, possibly negative), the net and gross ratios, the trees' roots
and a ``collateral`` section: the haircuts used and a plain statement of who checks the per-user
collateral rule (the audit, with the private store; no user can).
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any, Mapping, Sequence

from ..formats import numbers
from ..formats.canonical import canonical_json
from ..formats.layout import MANIFEST, PUBLIC_KEY, SIGNATURE, TOP_TREE
from ..formats.haircuts import Haircuts
from ..formats.manifest import announced_name, announced_value
from ..formats.prices import Prices, cents, exact_usd, usd_section
from ..protocol.versions import per_asset
from ..formats.verifier_page import PAGE_NAME
from ..reserves.input import Reserves
from ..reserves.public import CSV_NAME, PARQUET_NAME
from ..reserves.ratios import (
    LIABILITIES_ONLY,
    NET_DEBT,
    RESERVES_ONLY,
    STATUS_WORDS,
    AssetPosition,
    signed_units,
)

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
REPORT_FORMAT = "por-report-v1"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


RATIO_WORDS = {
    "ratio_bound_percent": "bound reserves / liabilities: only addresses whose ownership proof signs this "
                           "period's challenge (cannot be replayed or lent from another month or exchange)",
    "ratio_percent": "declared reserves / liabilities: every address the exchange lists, whatever its proof",
}


def reserves_status(ownership: Any, by_status: Mapping[str, Mapping[str, int]], exchange: str | None,
                    challenge: str | None) -> dict[str, Any]:
    """The report's ownership section: counts per status, sums per asset and status (smallest
    units, decimal strings), the challenge and where the address list is published."""
    return {
        "exchange": exchange,
        "challenge": challenge,
        "counts": ownership.counts(),
        "by_asset": {symbol: {status: str(v) for status, v in per.items()} for symbol, per in sorted(by_status.items())},
        "files": {"csv": CSV_NAME, "parquet": PARQUET_NAME},
        "ratios": RATIO_WORDS,
    }


RENDER_VERSION = "3"
"""The version of the rendering of ``report.md`` and ``report.html`` from ``report.json``. Any change to
what the pages show (words, layout, markup) bumps it and keeps the previous renderer reachable
(``RENDERERS``), so that every published month keeps re-rendering byte for byte; a test pins every
version's output. Version 2 added the pages of por-v3 reports (equity, debt, net liabilities, both
ratios, the trees, collateral); por-v1/v2 reports render under it exactly as under version 1. Version 3:
the reserves held all month (``held``, ``balances.sampling``: a table and a line per chain), a page that
reads on a phone (below 40rem each asset row is a card that starts with the asset, its ratios and its
status; periods never wrap; the history table scrolls under a fixed period column; charts drawn 5 inches
wide with text of at least 10 pt), and a por-v3 month's ratio charts say "net liabilities"."""


COLLATERAL_RULE = ("per user, the sum over assets of equity x price x haircut is at least the sum over assets of "
                   "debt x price, exactly (amounts in whole units, US-dollar prices); checked by the audit over the "
                   "private store for every user before publication, which is refused if any user fails; a user's "
                   "proof shows only their own holdings, so no user can check the rule for the others")
"""``report.json`` ``collateral.rule``: the rule of schemas/por-v3.md section 10, and who checks it."""


def collateral_section(haircuts: Haircuts | None) -> dict[str, Any]:
    """A por-v3 report's ``collateral``: the haircuts the audit used (None: the month had no debt and
    none were given) and the rule in words."""
    return {"haircuts": haircuts.as_json()["haircuts"] if haircuts is not None else None, "rule": COLLATERAL_RULE}


def announced(manifest: Mapping[str, Any]) -> str:
    """The month's announced value, recomputed from the manifest's fields (``formats.manifest.announced_value``:
    por-v3's ``C``, por-v2's ``C``, or a por-v1 month's root hash); the manifest may lack its ``files``
    (the report's own manifest is assembled before them)."""
    return announced_value({**manifest, "files": manifest.get("files") or {}})


def month_root(manifest: Mapping[str, Any]) -> str:
    """What identifies a month's liabilities in history rows and the index: the root hash (por-v1,
    por-v2), or the announced value ``C`` (por-v3: one tree per asset, no single root)."""
    return announced(manifest) if per_asset(manifest.get("version")) else str(manifest["root"]["hash"])


def usd_figures(prices: Prices, positions: Sequence[AssetPosition], reserves: Mapping[str, int],
                bound: Mapping[str, int] | None) -> dict[str, Any]:
    """The report's dollar figures (``formats.prices.usd_section``: liabilities, reserves, bound reserves);
    por-v3 adds, per asset and in total, ``debt`` and ``net`` (equity − debt, may be negative), each exact
    and rounded once to cents like the others."""
    decimals = {p.symbol: p.decimals for p in positions}
    section = usd_section(prices, decimals, {p.symbol: p.liabilities for p in positions}, reserves, bound)
    if not positions or positions[0].debt is None:
        return section
    totals = {"debt": Decimal(0), "net": Decimal(0)}
    for p in positions:
        price = prices.prices[p.symbol]
        values = {"debt": exact_usd(p.debt or 0, p.decimals, price), "net": exact_usd(p.net, p.decimals, price)}
        for k, v in values.items():
            totals[k] += v
        section["assets"][p.symbol].update({k: cents(v) for k, v in values.items()})
    section["total"].update({k: cents(v) for k, v in totals.items()})
    return section


def held_section(positions: Sequence[AssetPosition], balances: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Per asset, the reserves held all month as far as the sampled heights show (``balances.sampling``,
    ``pipeline.onchain.sampling``): ``snapshot`` (the declared reserves), ``minimum`` (the snapshot less, on
    every sampled chain, what its rows held at the snapshot above their lowest sum over the sampled
    heights), ``not_sampled`` (the part on chains or rows no sampled height read: counted at its snapshot
    figure) and ``ratio_percent``, the minimum against the (net) liabilities, rounded down (None when
    nothing of the asset was sampled, or without positive liabilities). None without a sampling record."""
    from ..reserves.ratios import percent

    sampling = (balances or {}).get("sampling")
    if not isinstance(sampling, Mapping):
        return None
    sampled: dict[str, tuple[int, int]] = {}
    for c in (sampling.get("chains") or {}).values():
        for asset, a in ((c.get("assets") or {}).items() if c.get("sampled") else ()):
            snap, low = sampled.get(asset, (0, 0))
            sampled[asset] = (snap + int(a["snapshot"]), low + int(a["minimum"]))
    out = {}
    for p in positions:
        snap, low = sampled.get(p.symbol, (0, 0))
        minimum, rest = p.reserves - (snap - low), p.reserves - snap
        out[p.symbol] = {"snapshot": str(p.reserves), "minimum": str(minimum), "not_sampled": str(rest),
                         "minimum_units": signed_units(minimum, p.decimals),
                         "ratio_percent": percent(minimum, p.net) if snap > 0 else None}
    return out


def renderer_id() -> str:
    """Which renderer writes a report's pages: the render version and matplotlib's version (the charts'
    SVG is matplotlib's). A month that names a known render version is re-rendered and compared byte
    for byte (``publication.recheck``); its charts only when matplotlib's version is the same too."""
    import matplotlib

    return f"por-report-render/{RENDER_VERSION} matplotlib/{matplotlib.__version__}"


def report_doc(manifest: Mapping[str, Any], positions: Sequence[AssetPosition], reserves: Reserves,
               history: Sequence[Mapping[str, Any]], ownership: Mapping[str, Any] | None = None,
               usd: Mapping[str, Any] | None = None, balances: Mapping[str, Any] | None = None,
               published_at: str | None = None, exchange: str | None = None,
               collateral: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The machine-readable report.

    Preconditions: ``manifest`` is the publication manifest without its ``files``
    (the report is one of them); ``history`` lists ``{"period", "root",
    "liabilities": {symbol: decimal string}}`` (and, where known, ``debt``, ``ratios``, ``flagged`` and
    ``reserves_usd``) for every published period up to and including this one, oldest first;
    ``collateral`` (por-v3 only) is ``collateral_section``'s.
    """
    doc = {
        "format": REPORT_FORMAT,
        "renderer": renderer_id(),
        "period": manifest["period"],
        "version": manifest["version"],
        "revision": manifest["publication"]["revision"],
        "exchange": exchange,
        "published_at": published_at,
        "snapshot_time": usd["timestamp"] if usd else None,
        "announced_value": announced(manifest),
        "previous": manifest["previous"],
        "assets": [p.as_json() for p in positions],
        "under_100_percent": [p.symbol for p in positions if p.flagged],
        "liabilities_only": [p.symbol for p in positions if p.status == LIABILITIES_ONLY],
        "reserves_only": [p.symbol for p in positions if p.status == RESERVES_ONLY],
        "reserves_source": {
            "addresses": reserves.addresses,
            "ownership_verified": ownership is not None,
        },
        "ownership": dict(ownership) if ownership is not None else None,
        "bound_ratios": {p.symbol: _bound_ratio(p, ownership) for p in positions},
        "usd": dict(usd) if usd is not None else None,
        "balances": dict(balances) if balances is not None else None,
        "history": list(history),
        "links": {"report_json": REPORT_JSON, "manifest": MANIFEST, "signature": SIGNATURE, "public_key": PUBLIC_KEY,
                  "top_tree": TOP_TREE, "verifier": PAGE_NAME, "report_markdown": REPORT_MD, "report_html": REPORT_HTML,
                  **({"reserves_csv": CSV_NAME, "reserves_parquet": PARQUET_NAME} if ownership else {})},
    }
    held = held_section(positions, balances)
    if held is not None:  # only where the balance checks sampled the month: older reports carry no such key
        doc["held"] = held
    if per_asset(manifest["version"]):
        doc.update({"trees": manifest["trees"], "parameters": manifest["parameters"],
                    "net_debt": [p.symbol for p in positions if p.status == NET_DEBT],
                    "collateral": dict(collateral) if collateral is not None else collateral_section(None)})
    else:
        doc.update({"root": manifest["root"], "tree": manifest["tree"]})
    return doc


def _bound_ratio(p: AssetPosition, ownership: Mapping[str, Any] | None) -> str | None:
    """Bound reserves against the (net) liabilities; None without positive ones."""
    from ..reserves.public import bound_ratio

    per = (ownership or {}).get("by_asset", {}).get(p.symbol)
    return bound_ratio(max(p.net, 0), {k: int(v) for k, v in per.items()} if per else None)


def _ownership_lines(doc: Mapping[str, Any]) -> list[str]:
    """Plain-language lines on the reserves' ownership proofs (Markdown and HTML share them)."""
    src, own = doc["reserves_source"], doc.get("ownership")
    if not own:
        return [f"Reserves are drawn from {src['addresses']:,} address balances; their ownership proofs were not verified."]
    c = own["counts"]
    lines = [f"Reserves are drawn from {src['addresses']:,} addresses, each checked offline: {c['bound']:,} bound "
             f"(signed this period's challenge), {c['unbound']:,} unbound (a valid signature over another text: "
             f"replayable), {c['missing']:,} without a proof, {c['unsupported']:,} not checkable by this tool."]
    lines.append("Ratio (bound) counts only bound reserves; Ratio (declared) counts every listed address.")
    if own.get("challenge"):
        lines.append(f"Challenge signed this period: \"{own['challenge']}\"")
    return lines


def _secret_lines(doc: Mapping[str, Any]) -> list[str]:
    secret = doc.get("master_secret")
    if not secret or not secret.get("changed"):
        return []
    return [f"This month was built with a new master secret (id {secret['id']}), not the previous month's: every "
            "user's key and nonce changed with it. The exchange published it so deliberately (--new-master-secret)."]


def _balance_lines(doc: Mapping[str, Any]) -> list[str]:
    b = doc.get("balances")
    if not b:
        return ["Reserve balances were not compared with the chains' nodes before publication; anyone can "
                f"(`por reserves check-balances {PARQUET_NAME} --rpc CHAIN=URL`)."]
    lines = []
    for chain, c in b["chains"].items():
        counts = c["counts"]
        if c["node"]:
            heights = ", ".join(f"{h:,}" for h in c["heights"]) or "-"
            lines.append(f"{chain}: {counts['match']:,} of {sum(counts.values()):,} balances match the chain at height "
                         f"{heights}.")
        else:
            lines.append(f"{chain}: {sum(counts.values()):,} balances not compared with a node.")
    return ["Balances compared with each chain's node at the snapshot height before publication:"] + lines


def _sampling_lines(doc: Mapping[str, Any]) -> list[str]:
    """Render version 3: the month's sampled heights in words (``balances.sampling``), per chain."""
    s = (doc.get("balances") or {}).get("sampling")
    if not s:
        return []
    if not s["count"]:
        return ["No further height of the month was read (--sample-heights 0): these reserves are known at the "
                "snapshot block only, where coins borrowed for that one block count as much as coins held all month."]
    lines = [f"Held through the month: every address was also read at up to {s['count']} further heights of the month, chosen "
             "after it had ended from the hash of each chain's last block of the period, which nobody could know in "
             f"advance (rule {s['rule']}, schemas/reserves.md):"]
    for chain, c in sorted(s["chains"].items(), key=lambda kv: kv[0].encode()):  # report.json's order is not kept
        if not c["sampled"]:
            lines.append(f"{chain}: not sampled: {c['why'].rstrip('.')}.")
            continue
        where = ("after the previous month's snapshot block" if c["first_rule"] == "previous-snapshot"
                 else "the period's first block")
        heights = ", ".join(f"{h:,}" for h in c["heights"]) or "none (no block between them)"
        lines.append(f"{chain}: heights {heights}; of blocks {c['first']:,} ({where}) to {c['last']:,} (the one "
                     f"before the snapshot), chosen by the hash of block {c['seed']['height']:,}, the period's last "
                     f"(`{c['seed']['hash']}`).")
    lines.append("The balances at those heights are the answers of the publisher's node: re-read them on a node of "
                 f"your own (`por reserves check-balances {PARQUET_NAME} --rpc CHAIN=URL --period {doc['period']} "
                 "--archive ARCHIVE`).")
    return lines


HELD_COLUMNS = (("Ratio (minimum)", "ratio-min", True), ("At the snapshot", "snapshot", True),
                ("Minimum held", "minimum", True), ("Not sampled", "not-sampled", True))
"""Render version 3: the table of the reserves held all month, after its asset column."""


def _held_cells(doc: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    """class -> (the text a cell of the held table shows, its exact value or None), per ``HELD_COLUMNS``."""
    h = doc["held"][p["symbol"]]
    d = p["decimals"]
    sampled = int(h["not_sampled"]) != int(h["snapshot"]) or h["ratio_percent"] is not None
    return {"ratio-min": (numbers.ratio(h["ratio_percent"]) if sampled else "not sampled", None),
            "snapshot": (_signed(int(h["snapshot"]), d), None),
            "minimum": (_signed(int(h["minimum"]), d), h["minimum_units"]),
            "not-sampled": (_signed(int(h["not_sampled"]), d), None)}


def _signed(value: int, decimals: int) -> str:
    return f"-{numbers.amount(-value, decimals)}" if value < 0 else numbers.amount(value, decimals)


def _held_words(doc: Mapping[str, Any]) -> str:
    against = "the net liabilities" if _is_v3(doc) else "the liabilities"
    return ("At the snapshot: the reserves above. Minimum held: the least the listed addresses held, chain by chain, "
            f"at the snapshot and at the sampled heights below; Ratio (minimum): that minimum against {against}, "
            "rounded down. Not sampled: the part no sampled height could read (a chain whose node reads only its "
            "present state), counted in the minimum at its snapshot figure.")


def report_json(doc: Mapping[str, Any]) -> bytes:
    return canonical_json(doc)


def verify_steps(doc: Mapping[str, Any], version: int = 2) -> list[str]:
    """How to verify, naming only files this month publishes (render version 3: the balance check with the
    period and the archive, which reads the sampled heights too)."""
    steps = [
        "Get your proof file from your account page (it is yours alone: it holds your balances).",
        f"Open {PAGE_NAME}, published beside this report, in any browser: it works offline. Choose your "
        f"proof; every check must pass and the {_value_name(doc)} it shows must equal the one above, and the one "
        "the exchange announced.",
        "Or, with the por-pipeline Python package (it needs only blake3): "
        f"`python -m pipeline.verify PROOF --manifest {MANIFEST}`.",
        f"Check that {MANIFEST} is the one the exchange signed: `por verify PROOF --manifest {MANIFEST} "
        f"--public-key {PUBLIC_KEY}` (Ed25519 signature in {SIGNATURE}).",
    ]
    if doc.get("ownership"):
        period = doc["period"]
        exchange = (doc["ownership"].get("exchange") or "NAME").replace('"', "'")
        steps.append(f"Re-check every reserve address's ownership proof: `por reserves verify {PARQUET_NAME} "
                     f"--period {period} --exchange \"{exchange}\" --archive ARCHIVE`, and its balance on chain: "
                     f"`por reserves check-balances {PARQUET_NAME} --rpc CHAIN=URL"
                     + (f" --period {period} --archive ARCHIVE`." if version >= 3 else "`."))
    return steps


def _value_name(doc: Mapping[str, Any]) -> str:
    return announced_name({"version": doc["version"]})


def _announced_lines(doc: Mapping[str, Any]) -> tuple[str, str | None]:
    """(the value to compare, the root hash as a detail: None when they are the same, por-v1, or when
    there is no single root, por-v3)."""
    if _is_v3(doc):
        return doc["announced_value"], None
    value = doc.get("announced_value") or doc["root"]["hash"]
    return value, (doc["root"]["hash"] if value != doc["root"]["hash"] else None)


def _status_text(p: Mapping[str, Any]) -> str:
    return STATUS_WORDS.get(p["status"], p["status"])


def _shown(p: Mapping[str, Any], side: str) -> str:
    return numbers.amount(int(p[side]), p["decimals"])


def _dates(doc: Mapping[str, Any]) -> str:
    parts = []
    if doc.get("snapshot_time"):
        parts.append(f"Snapshot: {doc['snapshot_time']}")
    if doc.get("published_at"):
        parts.append(f"Published: {doc['published_at']}")
    return " · ".join(parts)


def _headline(doc: Mapping[str, Any]) -> list[str]:
    usd = doc.get("usd")
    if not usd:
        return []
    t = usd["total"]
    against = (f"{numbers.usd(t['net'])} of net liabilities ({numbers.usd(t['liabilities'])} owed to users less "
               f"{numbers.usd(t['debt'])} owed by users)" if _is_v3(doc) else f"{numbers.usd(t['liabilities'])} of liabilities")
    lines = [f"Total reserves: {numbers.usd(t['reserves'])} against {against}"
             + (f"; {numbers.usd(t['reserves_bound'])} of it in addresses proven for this period (bound)"
                if doc.get("ownership") and doc["ownership"].get("challenge") else "") + "."]
    lines.append(f"Prices: {usd['source']}, at {usd['timestamp']}. {usd['rounding'][0].upper()}{usd['rounding'][1:]}.")
    return lines


def _title(doc: Mapping[str, Any]) -> str:
    who = f"{doc['exchange']}: proof" if doc.get("exchange") else "Proof"
    revision = f" (revision {doc['revision']})" if doc["revision"] > 1 else ""
    return f"{who} of reserves, {doc['period']}{revision}"


def _is_v3(doc: Mapping[str, Any]) -> bool:
    return per_asset(doc.get("version"))


def _signed_shown(p: Mapping[str, Any], side: str) -> str:
    value = int(p[side])
    return f"-{numbers.amount(-value, p['decimals'])}" if value < 0 else numbers.amount(value, p["decimals"])


def _net_debt_lines(doc: Mapping[str, Any]) -> list[str]:
    if not doc.get("net_debt"):
        return []
    return [f"Net liabilities at or below zero: {', '.join(doc['net_debt'])}. Users owe the exchange at least as much "
            "of these assets as it owes them, so no reserve of them is needed for users and no net ratio is shown "
            "(n/a); the gross ratio (reserves / owed to users) is shown beside it. Their debt is backed, user by user, "
            "by collateral under the rule below."]


def _collateral_lines(doc: Mapping[str, Any]) -> list[str]:
    """Plain words on the per-user collateral rule: what it is, who checked it, what a user can and
    cannot check."""
    c = doc.get("collateral") or {}
    owed = any(int(p.get("debt", "0")) for p in doc["assets"])
    if not owed:
        return ["No user owes the exchange anything this month (every asset's debt is 0): the per-user collateral "
                "rule holds for everyone without a check."]
    haircuts = c.get("haircuts") or {}
    table = ", ".join(f"{s} {h}" for s, h in sorted(haircuts.items(), key=lambda kv: kv[0].encode()))
    return [
        "Some users owe the exchange (debt) in one asset against collateral in others. Each user's collateral must "
        "cover their debt: the sum of equity x price x haircut over their assets is at least the sum of debt x "
        f"price, computed exactly, at the prices above and the exchange's haircuts ({table}).",
        "The audit checked this rule for every user, with the exchange's private store, before publication; "
        "publication is refused if any user fails. It is not checked by each user, and cannot be: your proof shows "
        "your own equity and debt only, never anybody else's. What it means: the net liabilities above rely on "
        "users' debts being repaid from their collateral, and that every debt is covered rests on the audit, not on "
        "your proof (an auditor with the private store re-runs it with `por audit`). What you can check yourself: "
        "that your own equity and debt are counted in the totals the announced value commits to.",
    ]


def _history_rows(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    symbols = [p["symbol"] for p in doc["assets"]]
    head = ["Period"] + [f"{s} ratio" for s in symbols] + ["Reserves (USD)"]
    rows = []
    for h in doc["history"]:
        ratios = h.get("ratios") or {}
        usd = h.get("reserves_usd")
        rows.append([h["period"]] + [numbers.ratio(ratios.get(s)) if s in ratios else "-" for s in symbols]
                    + [numbers.usd(usd) if usd else "-"])
    return head, rows


ASSET_COLUMNS = (("Liabilities", "liabilities", True), ("Reserves", "reserves", True),
                 ("Ratio (bound)", "ratio-bound", True), ("Ratio (declared)", "ratio", True),
                 ("Status", "status", False), ("Reserves (USD)", "usd", True))
"""The asset table after its symbol column, for both pages: (heading, the HTML cell's class, aligned
right). ``publication.recheck`` reads the figures back by these headings and classes."""


ASSET_COLUMNS_V3 = (("Owed to users", "liabilities", True), ("Owed by users", "debt", True),
                    ("Net liabilities", "net", True), ("Reserves", "reserves", True),
                    ("Ratio (bound)", "ratio-bound", True), ("Ratio (net)", "ratio", True),
                    ("Ratio (gross)", "ratio-gross", True), ("Status", "status", False),
                    ("Reserves (USD)", "usd", True))
"""The asset table of por-v3 reports: what users are owed (equity), what they owe (debt), the net
liabilities, the reserves, the bound and declared ratios against the net liabilities, and the gross ratio
against what users are owed."""


def _columns(doc: Mapping[str, Any]) -> tuple[tuple[str, str, bool], ...]:
    return ASSET_COLUMNS_V3 if _is_v3(doc) else ASSET_COLUMNS


def _cells(doc: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    cells = _asset_cells(doc, p)
    if _is_v3(doc):
        cells.update({"debt": (_shown(p, "debt"), p["debt_units"]),
                      "net": (_signed_shown(p, "net_liabilities"), p["net_liabilities_units"]),
                      "ratio-gross": (numbers.ratio(p["gross_ratio_percent"]), None)})
    return cells


def _asset_cells(doc: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    """class -> (the text a cell shows, its exact value as a tooltip or None), per ``ASSET_COLUMNS``."""
    usd = (doc.get("usd") or {}).get("assets", {})
    bound = doc.get("bound_ratios", {}).get(p["symbol"])
    return {"liabilities": (_shown(p, "liabilities"), p["liabilities_units"]),
            "reserves": (_shown(p, "reserves"), p["reserves_units"]),
            "ratio-bound": (numbers.ratio(bound), None), "ratio": (numbers.ratio(p["ratio_percent"]), None),
            "status": (_status_text(p), None),
            "usd": (numbers.usd(usd[p["symbol"]]["reserves"]) if p["symbol"] in usd else "-", None)}


def render_markdown(doc: Mapping[str, Any], version: int = 2) -> bytes:
    """``report.md`` as render ``version`` writes it (2 or 3: ``RENDER_VERSION``'s docstring)."""
    columns = _columns(doc)
    rows = ["| Asset | " + " | ".join(name for name, _, _ in columns) + " |",
            "|---|" + "".join("---:|" if right else "---|" for _, _, right in columns)]
    for p in doc["assets"]:
        cells = _cells(doc, p)
        rows.append(f"| {p['symbol']} | " + " | ".join(cells[cls][0] for _, cls, _ in columns) + " |")
    lines = [f"# {_title(doc)}", ""]
    if _dates(doc):
        lines += [_dates(doc), ""]
    lines += [f"**{line}**" if i == 0 else line for i, line in enumerate(_headline(doc))]
    value, root_hash = _announced_lines(doc)
    lines += ["", f"**{_value_name(doc).capitalize()}** (protocol {doc['version']}; compare it with the value the "
              f"exchange announced): `{value}`", ""]
    if root_hash:
        lines += [f"Liabilities root hash (a detail the announced value pins): `{root_hash}`", ""]
    if doc["previous"]:
        lines += [f"Previous month: {doc['previous']['period']}, manifest blake3 `{doc['previous']['manifest']}`", ""]
    lines += rows + [""]
    if doc["under_100_percent"]:
        lines += [f"**{numbers.UNDER_100.capitalize()}:** {', '.join(doc['under_100_percent'])}.", ""]
    if doc["liabilities_only"]:
        lines += [f"Liabilities without any reserves: {', '.join(doc['liabilities_only'])}.", ""]
    if doc["reserves_only"]:
        lines += [f"Reserves without liabilities: {', '.join(doc['reserves_only'])}.", ""]
    for line in _net_debt_lines(doc):
        lines += [line, ""]
    lines += ["Ratios are rounded down to two decimals; amounts show at most "
              f"{numbers.MAX_SHOWN_DECIMALS} decimals (… marks a cut; report.json has every digit).", ""]
    if version >= 3 and doc.get("held"):
        lines += ["## Held through the month", "", _held_words(doc), "",
                  "| Asset | " + " | ".join(name for name, _, _ in HELD_COLUMNS) + " |",
                  "|---|" + "---:|" * len(HELD_COLUMNS)]
        for p in doc["assets"]:
            cells = _held_cells(doc, p)
            lines.append(f"| {p['symbol']} | " + " | ".join(cells[cls][0] for _, cls, _ in HELD_COLUMNS) + " |")
        lines += [""]
    if _is_v3(doc):
        lines += ["## Collateral", ""]
        for line in _collateral_lines(doc):
            lines += [line, ""]
    for line in _secret_lines(doc) + _ownership_lines(doc) + _balance_lines(doc) + (
            _sampling_lines(doc) if version >= 3 else []):
        lines += [line, ""]
    head, hist = _history_rows(doc)
    lines += ["## History", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(f"**{c}**" if r[0] == doc["period"] else c for c in r) + " |" for r in hist] + [""]
    lines += ["## Files", ""] + [f"- [{name}]({name})" for name in _published_files(doc)] + [""]
    lines += ["## Verify", ""] + [f"{i}. {s}" for i, s in enumerate(verify_steps(doc, version), 1)] + [""]
    if _is_v3(doc):
        lines += ["## Trees", "", "One tree per asset; the announced value commits to each root and its sums.", "",
                  "| Asset | Root hash | Owed to users | Owed by users |", "|---|---|---:|---:|"]
        decimals = {p["symbol"]: p["decimals"] for p in doc["assets"]}
        lines += [f"| {t['asset']} | `{t['root']['hash']}` | {numbers.amount(int(t['root']['equity']), decimals[t['asset']])} "
                  f"| {numbers.amount(int(t['root']['debt']), decimals[t['asset']])} |" for t in doc["trees"]] + [""]
        lines += ["## Liabilities roots", "", "Per month: the root hash, or for por-v3 months the announced value.", "",
                  "| Period | Root |", "|---|---|"]
    else:
        lines += ["## Liabilities roots", "", "| Period | Root |", "|---|---|"]
    lines += [f"| {h['period']} | `{h['root']}` |" for h in doc["history"]] + [""]
    return "\n".join(lines).encode()


def _published_files(doc: Mapping[str, Any]) -> list[str]:
    """Every file the month publishes beside this report (its ``links``), the HTML page itself aside."""
    links = doc["links"]
    return [links[k] for k in _LINK_ORDER if k in links and links[k] != REPORT_HTML]


_LINK_ORDER = ("report_json", "manifest", "signature", "public_key", "top_tree", "verifier", "report_markdown",
               "report_html", "reserves_csv", "reserves_parquet")
"""The order the pages list the month's files in (``links`` is a JSON object: its order is not kept)."""


def _code_spans(escaped: str) -> str:
    """Markdown-style `code` spans of already escaped text as <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


_FILE_WORDS = {REPORT_JSON: "every figure of this report", MANIFEST: "the signed publication manifest (root, totals, files)",
               SIGNATURE: "the exchange's Ed25519 signature of the manifest", PUBLIC_KEY: "the exchange's public key",
               CSV_NAME: "every reserve address, balance and proof (the layout existing tools read)",
               PARQUET_NAME: "the same, with each row's ownership status", PAGE_NAME: "verify your proof, offline",
               REPORT_MD: "this report as Markdown", TOP_TREE: "the top of the liabilities tree"}


PHONE_CSS = """@media (max-width: 40rem) {
body { padding: 0 0.6rem; }
h1 { font-size: 1.4rem; }
.cards, .cards tbody { display: block; width: 100%; }
.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.cards tr { display: flex; flex-wrap: wrap; border-bottom: 1px solid #d0d5dd; padding: 0.4rem 0; }
.cards th[scope=row], .cards td { box-sizing: border-box; min-width: 0; border: 0; padding: 0.1rem 0.5rem; }
.cards th[scope=row] { flex: 1 0 100%; order: 0; text-align: left; font-size: 1.1em; }
.cards td { flex: 1 0 100%; order: 2; display: flex; justify-content: space-between; gap: 1rem; text-align: right;
  overflow-wrap: anywhere; }
.cards td::before { content: attr(data-label); color: #475467; text-align: left; font-weight: 400; flex: none; }
.cards td.ratio-bound, .cards td.ratio, .cards td.ratio-min, .cards td.status { order: 1; font-weight: 600; }
#history th:first-child, #history td:first-child { position: sticky; left: 0; background: #fff; z-index: 1; }
#history tr.current td:first-child { background: #eff8ff; }
}
"""
"""Render version 3: below 40rem (a phone) each row of the asset tables is a card: the asset, then its ratios and
status, then the other figures, each labelled; the history table scrolls under its period column."""


def render_html(doc: Mapping[str, Any], charts: Mapping[str, str], version: int = 2) -> bytes:
    """``report.html`` as render ``version`` writes it (2 or 3: ``RENDER_VERSION``'s docstring)."""
    esc = html.escape
    rows = []
    columns = _columns(doc)
    v3 = version >= 3

    def label(name: str) -> str:  # version 3: each cell names its column (a phone shows it in the card)
        return f' data-label="{esc(name)}"' if v3 else ""

    for p in doc["assets"]:
        flagged = ' class="flagged"' if p["flagged"] else ""
        cells = _cells(doc, p)
        tds = "".join(f'<td class="{cls}"{label(name)}' + (f' title="{esc(cells[cls][1] or "")}"' if cells[cls][1] else "")
                      + f">{esc(cells[cls][0])}</td>" for name, cls, _ in columns)
        rows.append(f'<tr data-symbol="{esc(p["symbol"])}" data-status="{esc(p["status"])}"{flagged}>'
                    f'<th scope="row">{esc(p["symbol"])}</th>{tds}</tr>')
    notes = []
    if doc["under_100_percent"]:
        notes.append(f'<p class="alert" id="under">{esc(numbers.UNDER_100.capitalize())}: '
                     f'{esc(", ".join(doc["under_100_percent"]))}</p>')
    if doc["liabilities_only"]:
        notes.append(f"<p>Liabilities without any reserves: {esc(', '.join(doc['liabilities_only']))}</p>")
    if doc["reserves_only"]:
        notes.append(f"<p>Reserves without liabilities: {esc(', '.join(doc['reserves_only']))}</p>")
    notes += [f'<p id="net-debt">{esc(line)}</p>' for line in _net_debt_lines(doc)]
    previous = ""
    if doc["previous"]:
        previous = (f"<p>Previous month: {esc(doc['previous']['period'])}, manifest blake3 "
                    f"<code>{esc(doc['previous']['manifest'])}</code></p>")
    headline = _headline(doc)
    headline_html = ""
    if headline:
        t = doc["usd"]["total"]
        headline_html = (f'<section id="headline"><p class="big">Total reserves <strong id="usd-total">'
                         f'{esc(numbers.usd(t["reserves"]))}</strong></p><p>{esc(headline[0])}</p>'
                         f'<p class="small">{esc(headline[1])}</p></section>')
    chain_html = "\n".join(f'<p class="ownership">{_code_spans(esc(line))}</p>'
                           for line in _secret_lines(doc) + _ownership_lines(doc) + _balance_lines(doc))
    if v3 and _sampling_lines(doc):
        chain_html += "\n" + "\n".join(f'<p class="sampling">{_code_spans(esc(line))}</p>' for line in _sampling_lines(doc))
    head, hist = _history_rows(doc)
    symbols = [p["symbol"] for p in doc["assets"]]
    flagged_of = {h["period"]: set(h.get("flagged") or ()) for h in doc["history"]}

    def cell(period: str, column: int, text: str) -> str:
        under = 0 < column <= len(symbols) and symbols[column - 1] in flagged_of.get(period, set())
        return f'<td class="under">{esc(text)}</td>' if under else f"<td>{esc(text)}</td>"

    hist_rows = "\n".join(
        f'<tr{" class=current" if r[0] == doc["period"] else ""} data-period="{esc(r[0])}">'
        + "".join(cell(r[0], i, c) for i, c in enumerate(r)) + "</tr>" for r in hist)
    files = "".join(f'<li><a href="{esc(n)}">{esc(n)}</a>: {esc(_FILE_WORDS[n])}</li>' for n in _published_files(doc))
    steps = "".join(f"<li>{_code_spans(esc(s))}</li>" for s in verify_steps(doc, version))
    held = _html_held(doc) if v3 else ""
    assets_class = ' class="cards"' if v3 else ""
    phone_css = PHONE_CSS if v3 else ""
    nowrap = ("td.ratio, td.ratio-bound, td.ratio-gross, td.ratio-min, td.status, #history td:first-child "
              "{ white-space: nowrap; }\ntr.flagged td.ratio-min { color: #b42318; font-weight: 600; }\n" if v3 else "")
    dates = f'<p class="dates" id="dates">{esc(_dates(doc))}</p>' if _dates(doc) else ""
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(_title(doc))}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 62rem; margin: 1rem auto; padding: 0 1rem; color: #101828; }}
code {{ word-break: break-all; font-size: 0.9em; }}
p, li {{ overflow-wrap: anywhere; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; font-variant-numeric: tabular-nums; }}
th, td {{ border-bottom: 1px solid #d0d5dd; padding: 0.35rem 0.5rem; text-align: right; }}
th:first-child, td:first-child, td.status {{ text-align: left; }}
tr.flagged {{ background: #fef3f2; }}
tr.flagged td.status {{ color: #b42318; font-weight: 600; }}
tr.current {{ background: #eff8ff; font-weight: 600; }}
td.under {{ color: #b42318; font-weight: 600; }}
.alert {{ color: #b42318; font-weight: 600; }}
#headline {{ background: #f9fafb; border: 1px solid #eaecf0; border-radius: 8px; padding: 0.5rem 1rem; }}
#headline .big {{ font-size: 1.6rem; margin: 0.3rem 0; }}
.small, .dates {{ color: #475467; font-size: 0.9em; }}
.scroll {{ overflow-x: auto; }}
figure {{ margin: 1rem 0; overflow-x: auto; }}
svg {{ max-width: 100%; height: auto; }}
{nowrap}{phone_css}</style>
</head>
<body>
<h1>{esc(_title(doc))}</h1>
{dates}
{headline_html}
<p class="announced">{esc(_value_name(doc).capitalize())} (protocol {esc(doc['version'])}; compare it with the value
the exchange announced): <code id="announced">{esc(_announced_lines(doc)[0])}</code></p>
{_html_roots(doc, version)}
{previous}
<div class="scroll"><table id="assets"{assets_class}>
<thead><tr><th scope="col">Asset</th>{"".join(f'<th scope="col">{esc(name)}</th>' for name, _, _ in columns)}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table></div>
{chr(10).join(notes)}
<p class="small">Ratios are rounded down to two decimals. Amounts show at most {numbers.MAX_SHOWN_DECIMALS} decimals
(… marks a cut; hover for every digit; report.json has them all).</p>
{held}<figure>{charts['ratios']}</figure>
<h2>History</h2>
<figure>{charts['ratio_history']}</figure>
<figure>{charts['usd_history']}</figure>
<div class="scroll"><table id="history">
<thead><tr>{''.join(f'<th scope="col">{esc(h)}</th>' for h in head)}</tr></thead>
<tbody>
{hist_rows}
</tbody>
</table></div>
<figure>{charts['liabilities']}</figure>
{_html_collateral(doc)}<h2>Reserves on chain</h2>
{chain_html}
<h2>Files</h2>
<ul id="files">{files}</ul>
<h2>Verify</h2>
<ol id="verify">{steps}</ol>
</body>
</html>
"""
    return page.encode()


def _html_roots(doc: Mapping[str, Any], version: int = 2) -> str:
    """The root line under the announced value (por-v1/v2), or the table of por-v3's per-asset trees (render
    version 3: a card per tree on a phone)."""
    esc = html.escape
    if not _is_v3(doc):
        return f'<p class="small">Liabilities root hash: <code id="root">{esc(doc["root"]["hash"])}</code></p>'
    decimals = {p["symbol"]: p["decimals"] for p in doc["assets"]}
    label = (lambda name: f' data-label="{name}"') if version >= 3 else (lambda name: "")
    rows = "\n".join(
        f'<tr data-symbol="{esc(t["asset"])}"><th scope="row">{esc(t["asset"])}</th><td{label("Root hash")}><code>'
        f'{esc(t["root"]["hash"])}</code></td><td{label("Owed to users")}>'
        f'{esc(numbers.amount(int(t["root"]["equity"]), decimals[t["asset"]]))}</td><td{label("Owed by users")}>'
        f'{esc(numbers.amount(int(t["root"]["debt"]), decimals[t["asset"]]))}</td></tr>' for t in doc["trees"])
    return ('<p class="small">One tree per asset; the announced value commits to each root and its sums:</p>\n'
            f'<div class="scroll"><table id="trees"{" class=cards" if version >= 3 else ""}>\n<thead><tr>'
            '<th scope="col">Asset</th><th scope="col">Root hash</th>'
            '<th scope="col">Owed to users</th><th scope="col">Owed by users</th></tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody>\n</table></div>")


def _html_held(doc: Mapping[str, Any]) -> str:
    """Render version 3: the table of the reserves held all month (``held``), or nothing."""
    if not doc.get("held"):
        return ""
    esc = html.escape
    rows = []
    for p in doc["assets"]:
        cells = _held_cells(doc, p)
        tds = "".join(f'<td class="{cls}" data-label="{esc(name)}"' + (f' title="{esc(cells[cls][1] or "")}"'
                                                                       if cells[cls][1] else "")
                      + f">{esc(cells[cls][0])}</td>" for name, cls, _ in HELD_COLUMNS)
        h = doc["held"][p["symbol"]]
        short = h["ratio_percent"] is not None and int(h["minimum"]) < int(p.get("net_liabilities", p["liabilities"]))
        flagged = ' class="flagged"' if short else ""
        rows.append(f'<tr data-symbol="{esc(p["symbol"])}"{flagged}><th scope="row">{esc(p["symbol"])}</th>{tds}</tr>')
    head = "".join(f'<th scope="col">{esc(name)}</th>' for name, _, _ in HELD_COLUMNS)
    return (f'<h2 id="held-heading">Held through the month</h2>\n<p class="small">{esc(_held_words(doc))}</p>\n'
            f'<div class="scroll"><table id="held" class="cards">\n<thead><tr><th scope="col">Asset</th>{head}</tr>'
            f'</thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table></div>\n")


def _html_collateral(doc: Mapping[str, Any]) -> str:
    if not _is_v3(doc):
        return ""
    lines = "\n".join(f'<p class="collateral">{_code_spans(html.escape(line))}</p>' for line in _collateral_lines(doc))
    return f'<h2 id="collateral">Collateral</h2>\n{lines}\n'


RENDERERS: dict[str, Any] = {}
"""Render version -> ``render_reports`` of that version (filled below; older versions stay)."""


def _render(doc: Mapping[str, Any], positions: Sequence[AssetPosition], version: int) -> dict[str, bytes]:
    """``{file name: bytes}`` for the three report files, as render ``version`` (2 or 3) writes the pages."""
    from .charts import (
        STYLES,
        liabilities_chart,
        ratio_chart,
        ratio_history_chart,
        usd_history_chart,
    )

    style = STYLES[version]
    decimals = {p.symbol: p.decimals for p in positions}
    flagged = set(doc["under_100_percent"])
    net = _is_v3(doc)
    charts = {"ratios": ratio_chart(positions, style, net),
              "ratio_history": ratio_history_chart(doc["history"], doc["period"], flagged, style, net),
              "usd_history": usd_history_chart(doc["history"], doc["period"], style),
              "liabilities": liabilities_chart(doc["history"], decimals, style)}
    return {REPORT_JSON: report_json(doc), REPORT_MD: render_markdown(doc, version),
            REPORT_HTML: render_html(doc, charts, version)}


def render_reports(doc: Mapping[str, Any], positions: Sequence[AssetPosition]) -> dict[str, bytes]:
    """``{file name: bytes}`` for the three report files (render version ``RENDER_VERSION``)."""
    return _render(doc, positions, int(RENDER_VERSION))


def render_reports_v2(doc: Mapping[str, Any], positions: Sequence[AssetPosition]) -> dict[str, bytes]:
    """Render version 2, kept so that every month it rendered re-renders byte for byte."""
    return _render(doc, positions, 2)


def render_reports_v1(doc: Mapping[str, Any], positions: Sequence[AssetPosition]) -> dict[str, bytes]:
    """Render version 1: por-v1 and por-v2 reports, exactly as version 2 renders them (both pinned by
    tests/test_report_render.py); it never rendered a por-v3 report, so it refuses one."""
    if _is_v3(doc):
        from ..errors import InputError

        raise InputError(f"render version 1 does not render {doc.get('version')} reports (render version 2 does)")
    return render_reports_v2(doc, positions)


RENDERERS["1"] = render_reports_v1
RENDERERS["2"] = render_reports_v2
RENDERERS[RENDER_VERSION] = render_reports
