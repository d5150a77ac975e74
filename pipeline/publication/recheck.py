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

What cannot be re-derived offline, and is therefore compared only for its form: ``published_at``
and the per-chain node answers under ``balances`` (``por reserves check-balances`` re-derives those
against a node).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping, Sequence

from ..errors import InputError, PorError
from ..formats.assets import Asset
from ..formats.prices import Prices
from ..ownership.challenge import challenge_text
from ..ownership.chains import find_chain
from ..ownership.check import BOUND, OWNERS_NOT_CHECKED, STATUSES, UNBOUND
from ..reserves.input import load_reserves
from ..reserves.ownership import verify_reserves
from ..reserves.public import PARQUET_NAME
from ..reserves.ratios import LEGACY_STATUS, AssetPosition, positions
from .report import REPORT_HTML, REPORT_JSON, REPORT_MD, render_reports, renderer_id, report_doc, reserves_status

Mapper = Callable[[Callable[..., Any], Sequence[Any]], list[Any]]
LATER_KEYS = frozenset({"announced_value", "master_secret", "exchange", "published_at", "snapshot_time", "bound_ratios", "usd", "balances", "links",
                        "liabilities_only", "reserves_only", "renderer", "under_100_percent"})
"""Report keys that reports of earlier tool versions may lack: absent, they are not compared (present,
they are). Every other key must be there and equal."""


def local_mapper(fn: Callable[..., Any], items: Sequence[Any]) -> list[Any]:
    """The ``Mapper`` seam run in this process (history verify needs no cluster)."""
    return [fn(x) for x in items]


@dataclass(frozen=True)
class Month:
    """One publication's signed public documents, as far as the re-derivation needs them."""

    label: str
    """How problems name the month (``2026-10 revision 1 (2026-10)``)."""
    manifest: Mapping[str, Any]
    report: Mapping[str, Any]
    reserves_url: str | None
    """``public/reserves.parquet`` (None when the month published none)."""
    markdown: bytes | None = None
    html: bytes | None = None
    previous_secret: str | None = None
    """The master secret id of the previous month's manifest (None: none recorded, or no previous month)."""


@dataclass
class Derived:
    doc: dict[str, Any]
    positions: list[AssetPosition]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was accepted without being re-derivable offline (contract wallets bound on a node's answer)."""


def history_row(manifest: Mapping[str, Any], report: Mapping[str, Any] | None) -> dict[str, Any]:
    """A month's row in later months' history: from its signed manifest and its signed report."""
    row: dict[str, Any] = {"period": manifest["period"], "root": manifest["root"]["hash"],
                           "liabilities": {x["symbol"]: s for x, s in zip(manifest["assets"], manifest["root"]["sums"],
                                                                          strict=True)}}
    if report is not None:
        row["ratios"] = {r["symbol"]: r["ratio_percent"] for r in report["assets"]}
        row["flagged"] = [r["symbol"] for r in report["assets"] if r["flagged"]]
        if report.get("usd"):
            row["reserves_usd"] = report["usd"]["total"]["reserves"]
    return row


def report_prices(report: Mapping[str, Any]) -> Prices | None:
    """The prices a report states it used (its ``usd`` section), or None."""
    usd = report.get("usd")
    if not usd:
        return None
    return Prices(usd["source"], usd["timestamp"], {k: Decimal(v["price"]) for k, v in usd["assets"].items()})


def derive(month: Month, earlier: Sequence[Mapping[str, Any]], prices: Prices | None,
           mapper: Mapper = local_mapper, storage_options: Mapping[str, Any] | None = None) -> Derived:
    """The report ``month`` must carry, re-derived. ``earlier``: the history rows of every other
    period that was current when this month was published (``history_row``), in any order;
    ``prices``: the prices to recompute the dollar figures with (None: the month has none)."""
    manifest, archived = month.manifest, month.report
    assets = [Asset(x["symbol"], x["decimals"]) for x in manifest["assets"]]
    own_doc = archived.get("ownership")
    exchange = (own_doc or {}).get("exchange") if own_doc else archived.get("exchange")
    previous = manifest.get("previous")
    problems: list[str] = []
    if month.reserves_url is None:
        reserves_totals: dict[str, int] = {}
        from ..reserves.input import Reserves

        reserves = Reserves({}, int(archived.get("reserves_source", {}).get("addresses", 0)))
        ownership_section = None
        by_status: dict[str, dict[str, int]] = {}
        if own_doc:
            problems.append(f"{REPORT_JSON} has an ownership section but the month publishes no {PARQUET_NAME}")
    else:
        reserves = load_reserves(month.reserves_url, assets, storage_options)
        reserves_totals = reserves.totals
        challenge = None
        if exchange is not None:
            try:
                challenge = challenge_text(exchange, manifest["period"], previous["manifest"] if previous else None)
            except InputError as exc:
                problems.append(f"{REPORT_JSON} ownership.exchange {exchange!r}: {exc}")
        ownership = verify_reserves(mapper, month.reserves_url, challenge, "parquet", storage_options)
        notes = _owners_on_node(ownership.records, month.reserves_url, archived, storage_options)
        by_status = {}
        for (symbol, amount), record in zip(reserves.amounts, ownership.records, strict=True):
            by_status.setdefault(symbol, dict.fromkeys(STATUSES, 0))[record["status"]] += amount
        ownership_section = reserves_status(ownership, by_status, exchange, challenge) if own_doc is not None else None
        problems += _published_statuses(month.reserves_url, ownership.records, storage_options)
    pos = positions(manifest["assets"], manifest["root"]["sums"], reserves_totals)
    this = {"period": manifest["period"], "root": manifest["root"]["hash"],
            "liabilities": {p.symbol: str(p.liabilities) for p in pos},
            "ratios": {p.symbol: p.ratio for p in pos}, "flagged": [p.symbol for p in pos if p.flagged]}
    usd = None
    if prices is not None:
        from ..formats.prices import usd_section

        bound = ({s: per.get(BOUND, 0) for s, per in by_status.items()}
                 if ownership_section and ownership_section.get("challenge") else None)
        usd = usd_section(prices, {a.symbol: a.decimals for a in assets}, {p.symbol: p.liabilities for p in pos},
                          reserves_totals, bound)
        this["reserves_usd"] = usd["total"]["reserves"]
    history = sorted([*[h for h in earlier if h["period"] != manifest["period"]], this], key=lambda h: h["period"])
    doc = report_doc(manifest, pos, reserves, history, ownership_section, usd, archived.get("balances"),
                     archived.get("published_at"), archived.get("exchange"))
    if month.reserves_url is None:
        notes = []
    problems += _published_at_problems(archived.get("published_at"), manifest["period"])
    if "renderer" in archived:
        doc["renderer"] = archived["renderer"]
    this_secret = (manifest.get("publication") or {}).get("secret")
    if this_secret is not None:
        doc["master_secret"] = {"id": this_secret,
                                "changed": month.previous_secret is not None and month.previous_secret != this_secret}
    if prices is not None:
        from ..formats.prices import prices_time_problem, zero_price_problems

        late = prices_time_problem(prices, manifest["period"])
        problems += [f"usd: {late}"] if late else []
        problems += [f"usd: {z}" for z in zero_price_problems(
            prices, {p.symbol: p.liabilities + p.reserves for p in pos})]
    return Derived(doc, pos, problems, notes)


def _published_at_problems(published_at: Any, period: str) -> list[str]:
    """``published_at`` is carried, not derivable; but a month cannot have been published before it ended."""
    import datetime as dt

    from ..protocol.period import snapshot_time

    if published_at is None:
        return []
    try:
        when = dt.datetime.fromisoformat(str(published_at).replace("Z", "+00:00"))
    except ValueError:
        return [f"published_at {published_at!r} is not an ISO 8601 time"]
    if when.tzinfo is None:
        return [f"published_at {published_at!r} has no UTC offset"]
    end = snapshot_time(period)
    if when < end:
        return [f"published_at {published_at} is before the period ended ({end:%Y-%m-%dT%H:%M:%SZ})"]
    return []


def _owners_on_node(records: list[dict[str, Any]], url: str, archived: Mapping[str, Any],
                    storage_options: Mapping[str, Any] | None) -> list[str]:
    """Contract-wallet rows published ``bound`` on a node's ``getOwners()``/``getThreshold()``
    answer: offline they re-verify as ``unbound`` (owners not confirmed). Taken as published (and
    said so in a note) only where the month's report records a node check of that chain at its
    snapshot block and the row's published reason is that confirmation; otherwise the statuses differ."""
    chains = (archived.get("balances") or {}).get("chains") or {}
    checked = {c for c, v in chains.items() if isinstance(v, Mapping) and v.get("node") and v.get("block")}
    pending = [r for r in records if r["status"] == UNBOUND and r.get("note") == OWNERS_NOT_CHECKED]
    if not pending or not checked:
        return []
    published = _published_column(url, ("status", "reason"), storage_options)
    taken: dict[str, int] = {}
    for r in pending:
        pub = published[r["row"]] if r["row"] < len(published) else {}
        chain = find_chain(r["chain"])
        name = chain.name if chain is not None else r["chain"]
        if (pub.get("status") == BOUND and name in checked
                and f"confirmed with getOwners()/getThreshold() at {name} block" in (pub.get("reason") or "")):
            r["status"], r["reason"], r["note"] = BOUND, pub["reason"], ""
            taken[name] = taken.get(name, 0) + 1
    return [f"{n} contract-wallet row(s) on {name} are bound on the answer of the node the exchange used "
            f"(getOwners()/getThreshold() at the snapshot block), which cannot be re-derived offline: check them with "
            f"`por reserves verify {PARQUET_NAME} --rpc {name}=URL` on a node of your own" for name, n in sorted(taken.items())]


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
    """The statuses ``reserves.parquet`` was published with, against the re-verified ones."""
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
    shown = ", ".join(f"row {i}: published {published[i]!r}, re-verified {now[i]!r}" for i in bad[:5])
    return [f"{PARQUET_NAME}: {len(bad)} ownership status(es) differ from the re-verified ones ({shown})"]


def _normalise(report: Mapping[str, Any]) -> dict[str, Any]:
    """Old spellings read as today's (``under-collateralised`` is ``under-100-percent``)."""
    out = dict(report)
    if isinstance(out.get("assets"), list):
        out["assets"] = [{**r, "status": LEGACY_STATUS.get(r.get("status"), r.get("status"))}
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


def figure_differences(archived: Mapping[str, Any], derived: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(field, archived, re-derived)`` for every figure of ``report.json`` that differs."""
    got = _normalise(archived)
    want = {k: v for k, v in derived.items() if k in got or k not in LATER_KEYS}
    out: list[tuple[str, Any, Any]] = []
    _diff("", got, want, out)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def check_month(month: Month, earlier: Sequence[Mapping[str, Any]], prices: Prices | None,
                mapper: Mapper = local_mapper, storage_options: Mapping[str, Any] | None = None,
                notes: list[str] | None = None) -> list[str]:
    """Every problem with ``month``'s figures and rendered pages, each naming the month, the field
    and both values. Empty when everything it shows is what its public files say. ``notes`` (when
    given) receives what was accepted without being re-derivable offline."""
    try:
        derived = derive(month, earlier, prices, mapper, storage_options)
    except (PorError, KeyError, TypeError, ValueError, InvalidOperation) as exc:
        return [f"{month.label}: {REPORT_JSON} cannot be re-derived ({type(exc).__name__}: {exc})"]
    if notes is not None:
        notes += [f"{month.label}: {n}" for n in derived.notes]
    problems = [f"{month.label}: {p}" for p in derived.problems]
    problems += [f"{month.label}: {REPORT_JSON} {name}: signed {_short(got)}, re-derived {_short(want)}"
                 for name, got, want in figure_differences(month.report, derived.doc)]
    problems += [f"{month.label}: {p}" for p in rendered_differences(month, derived)]
    return problems


# ---------------------------------------------------------------- the rendered pages

def rendered_differences(month: Month, derived: Derived) -> list[str]:
    """``report.md`` and ``report.html`` against ``report.json``: byte for byte when this renderer
    wrote them, else the figures each page shows read back and compared."""
    if month.markdown is None and month.html is None:
        return []
    report = month.report
    if report.get("renderer") == renderer_id():
        fresh = render_reports(report, derived.positions)
        return [f"{name} is not the rendering of {REPORT_JSON} (re-rendered by the same renderer, the bytes differ)"
                for name, data in ((REPORT_MD, month.markdown), (REPORT_HTML, month.html))
                if data is not None and data != fresh[name]]
    out: list[str] = []
    if month.markdown is not None:
        out += _shown_figures(REPORT_MD, _markdown_rows(month.markdown), report)
    if month.html is not None:
        out += _shown_figures(REPORT_HTML, _html_rows(month.html), report)
    return out


_MD_ROW = re.compile(r"^\| (?P<cells>.+) \|$")
_HTML_ROW = re.compile(r'<tr data-symbol="(?P<symbol>[^"]*)"[^>]*>(?P<body>.*?)</tr>', re.S)
_CELL = re.compile(r'<td class="(?P<cls>[^"]*)"[^>]*>(?P<text>.*?)</td>', re.S)
_MD_COLUMNS = {"Liabilities": "liabilities", "Reserves": "reserves", "Ratio (bound)": "ratio-bound",
               "Ratio (declared)": "ratio", "Ratio": "ratio"}
"""The asset table's column headings (and the HTML cells' classes) -> the figure they show."""


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
    start = page.find('<table id="assets">')
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


def _agrees(shown: str, exact: str | None) -> bool:
    """A shown figure agrees with the exact one: equal, or (marked as cut) the exact one cut toward zero."""
    n = _number(shown)
    if exact is None:
        return n is None
    if n is None:
        return False
    value, cut = n
    want = Decimal(exact)
    if not cut:
        return value == want
    places = -value.as_tuple().exponent if isinstance(value.as_tuple().exponent, int) else 0
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
                out.append(f"{name} {p['symbol']} {what}: shows {cells[what]!r}, {REPORT_JSON} says {exact!r}")
    extra = sorted(set(rows) - {p["symbol"] for p in report.get("assets", [])})
    if extra:
        out.append(f"{name} shows rows for assets {REPORT_JSON} does not have: {extra}")
    return out
