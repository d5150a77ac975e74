"""The period's report: ``report.json`` (the numbers), ``report.md`` and ``report.html``.

``report.json`` is the source of every figure; the Markdown and HTML render it.
The HTML page is one self-contained file: inline CSS and inline SVG charts, a
Content-Security-Policy that forbids every network request, no scripts.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping, Sequence

from ..formats.canonical import canonical_json
from ..formats.layout import MANIFEST, SIGNATURE, TOP_TREE
from ..formats.verifier_page import PAGE_NAME
from ..reserves.input import Reserves
from ..reserves.ratios import LIABILITIES_ONLY, RESERVES_ONLY, AssetPosition

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
        "files": {"csv": "reserves.csv", "parquet": "reserves.parquet"},
        "ratios": RATIO_WORDS,
    }


def report_doc(manifest: Mapping[str, Any], positions: Sequence[AssetPosition], reserves: Reserves,
               history: Sequence[Mapping[str, Any]], ownership: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The machine-readable report.

    Preconditions: ``manifest`` is the publication manifest without its ``files``
    (the report is one of them); ``history`` lists ``{"period", "root",
    "liabilities": {symbol: decimal string}}`` for every published period up to
    and including this one, oldest first.
    """
    return {
        "format": REPORT_FORMAT,
        "period": manifest["period"],
        "version": manifest["version"],
        "revision": manifest["publication"]["revision"],
        "root": manifest["root"],
        "tree": manifest["tree"],
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
        "history": list(history),
        "links": {"manifest": MANIFEST, "signature": SIGNATURE, "top_tree": TOP_TREE, "verifier": PAGE_NAME,
                  "report_markdown": REPORT_MD, "report_html": REPORT_HTML},
    }


def _bound_ratio(p: AssetPosition, ownership: Mapping[str, Any] | None) -> str | None:
    from ..reserves.public import bound_ratio

    per = (ownership or {}).get("by_asset", {}).get(p.symbol)
    return bound_ratio(p.liabilities, {k: int(v) for k, v in per.items()} if per else None)


def _ownership_lines(doc: Mapping[str, Any]) -> list[str]:
    """Plain-language lines on the reserves' ownership proofs (Markdown and HTML share them)."""
    src, own = doc["reserves_source"], doc.get("ownership")
    if not own:
        return [f"Reserves are drawn from {src['addresses']} address balances; their ownership proofs were not verified."]
    c = own["counts"]
    lines = [f"Reserves are drawn from {src['addresses']} addresses, each checked offline: {c['bound']} bound "
             f"(signed this period's challenge), {c['unbound']} unbound (a valid signature over another text: "
             f"replayable), {c['missing']} without a proof, {c['unsupported']} not checkable by this tool."]
    lines.append("Ratio (bound) counts only bound reserves; Ratio (declared) counts every listed address.")
    if own.get("challenge"):
        lines.append(f"Challenge signed this period: \"{own['challenge']}\"")
    lines.append("Every address, balance and proof: reserves.csv and reserves.parquet beside this report "
                 "(re-check them with `por reserves verify reserves.parquet --period P --exchange NAME --archive URL`).")
    return lines


def report_json(doc: Mapping[str, Any]) -> bytes:
    return canonical_json(doc)


VERIFY_STEPS = [
    "Get your proof file from your account page (it is yours alone: it holds your balances).",
    "Open verifier.html, published beside this report, in any browser: it works offline. Choose your "
    "proof and this period's manifest.json; every check must pass and the root must equal the one above.",
    "Or, with the por-pipeline Python package (it needs only blake3): "
    "`python -m pipeline.verify PROOF --manifest manifest.json`.",
    "Check that the manifest is the one the exchange signed: `por verify PROOF --manifest manifest.json "
    "--public-key exchange.pub` (Ed25519 signature in signature.json).",
]


def _status_text(p: Mapping[str, Any]) -> str:
    return {"ok": "ok", "under-collateralised": "UNDER 100%", "liabilities-only": "NO RESERVES",
            "reserves-only": "no liabilities", "neither": "none"}[p["status"]]


def render_markdown(doc: Mapping[str, Any]) -> bytes:
    rows = ["| Asset | Liabilities | Reserves | Ratio (bound) | Ratio (declared) | Status |",
            "|---|---:|---:|---:|---:|---|"]
    for p in doc["assets"]:
        ratio = f"{p['ratio_percent']}%" if p["ratio_percent"] is not None else "n/a"
        bound = doc.get("bound_ratios", {}).get(p["symbol"])
        rows.append(f"| {p['symbol']} | {p['liabilities_units']} | {p['reserves_units']} | "
                    f"{bound + '%' if bound is not None else 'n/a'} | {ratio} | {_status_text(p)} |")
    lines = [
        f"# Proof of reserves: {doc['period']}" + (f" (revision {doc['revision']})" if doc["revision"] > 1 else ""),
        "",
        f"Liabilities root (protocol {doc['version']}): `{doc['root']['hash']}`",
        "",
    ]
    if doc["previous"]:
        lines += [f"Previous month: {doc['previous']['period']}, manifest blake3 `{doc['previous']['manifest']}`", ""]
    lines += rows + [""]
    if doc["under_100_percent"]:
        lines += [f"**Under 100%:** {', '.join(doc['under_100_percent'])}.", ""]
    if doc["liabilities_only"]:
        lines += [f"Liabilities without any reserves: {', '.join(doc['liabilities_only'])}.", ""]
    if doc["reserves_only"]:
        lines += [f"Reserves without liabilities: {', '.join(doc['reserves_only'])}.", ""]
    for line in _ownership_lines(doc):
        lines += [line, ""]
    lines += ["## Verify your balance", ""] + [f"{i}. {s}" for i, s in enumerate(VERIFY_STEPS, 1)] + [""]
    lines += ["## Liabilities across published periods", "", "| Period | Root |", "|---|---|"]
    lines += [f"| {h['period']} | `{h['root']}` |" for h in doc["history"]] + [""]
    return "\n".join(lines).encode()


def _code_spans(escaped: str) -> str:
    """Markdown-style `code` spans of already escaped text as <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def render_html(doc: Mapping[str, Any], ratio_svg: str, liabilities_svg: str) -> bytes:
    esc = html.escape
    rows = []
    for p in doc["assets"]:
        ratio = f"{p['ratio_percent']}%" if p["ratio_percent"] is not None else "n/a"
        bound = doc.get("bound_ratios", {}).get(p["symbol"])
        cls = ' class="flagged"' if p["flagged"] else ""
        rows.append(
            f'<tr data-symbol="{esc(p["symbol"])}"{cls}><th scope="row">{esc(p["symbol"])}</th>'
            f'<td class="liabilities">{esc(p["liabilities_units"])}</td>'
            f'<td class="reserves">{esc(p["reserves_units"])}</td>'
            f'<td class="ratio-bound">{esc(bound + "%" if bound is not None else "n/a")}</td>'
            f'<td class="ratio">{esc(ratio)}</td><td class="status">{esc(_status_text(p))}</td></tr>')
    notes = []
    if doc["under_100_percent"]:
        notes.append(f'<p class="alert" id="under">Under 100%: {esc(", ".join(doc["under_100_percent"]))}</p>')
    if doc["liabilities_only"]:
        notes.append(f"<p>Liabilities without any reserves: {esc(', '.join(doc['liabilities_only']))}</p>")
    if doc["reserves_only"]:
        notes.append(f"<p>Reserves without liabilities: {esc(', '.join(doc['reserves_only']))}</p>")
    previous = ""
    if doc["previous"]:
        previous = (f"<p>Previous month: {esc(doc['previous']['period'])}, manifest blake3 "
                    f"<code>{esc(doc['previous']['manifest'])}</code></p>")
    ownership_html = "\n".join(f'<p class="ownership">{_code_spans(esc(line))}</p>' for line in _ownership_lines(doc))
    steps = "".join(f"<li>{_code_spans(esc(s))}</li>" for s in VERIFY_STEPS)
    revision = f" (revision {doc['revision']})" if doc["revision"] > 1 else ""
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Proof of reserves {esc(doc['period'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; color: #101828; }}
code {{ word-break: break-all; font-size: 0.9em; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #d0d5dd; padding: 0.35rem 0.5rem; text-align: right; }}
th:first-child, td.status {{ text-align: left; }}
tr.flagged {{ background: #fef3f2; }}
.alert {{ color: #b42318; font-weight: 600; }}
figure {{ margin: 1rem 0; overflow-x: auto; }}
svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>Proof of reserves: {esc(doc['period'])}{revision}</h1>
<p>Liabilities root (protocol {esc(doc['version'])}): <code id="root">{esc(doc['root']['hash'])}</code></p>
{previous}
<table id="assets">
<thead><tr><th scope="col">Asset</th><th scope="col">Liabilities</th><th scope="col">Reserves</th>
<th scope="col">Ratio (bound)</th><th scope="col">Ratio (declared)</th><th scope="col">Status</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{chr(10).join(notes)}
{ownership_html}
<p>Ratios are rounded down to two decimals.</p>
<figure>{ratio_svg}</figure>
<figure>{liabilities_svg}</figure>
<h2>Verify your balance</h2>
<ol>{steps}</ol>
</body>
</html>
"""
    return page.encode()


def render_reports(doc: Mapping[str, Any], positions: Sequence[AssetPosition]) -> dict[str, bytes]:
    """``{file name: bytes}`` for the three report files."""
    from .charts import liabilities_chart, ratio_chart

    decimals = {p.symbol: p.decimals for p in positions}
    html_page = render_html(doc, ratio_chart(positions), liabilities_chart(doc["history"], decimals))
    return {REPORT_JSON: report_json(doc), REPORT_MD: render_markdown(doc), REPORT_HTML: html_page}
