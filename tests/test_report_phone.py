"""The report page on a phone (issue 24, item 5), in a real headless Chromium at 400 CSS pixels: the ratio and
status of every asset are on screen without scrolling sideways, periods never wrap, and the charts' text is
readable. Render version 3 draws the page so; render version 2 (kept for the months it rendered) did not, and
the same checks fail on its page. And (item 6) a por-v3 month's ratio charts say "net liabilities"."""

from __future__ import annotations

import re

import pytest

from pipeline.publication.report import RENDERERS, render_reports
from tests.test_report_render import fixed_doc, fixed_doc_v3

WIDTH = 400
SMALLEST_TEXT_PX = 10.0
"""The smallest chart text a phone may show, in CSS pixels (the body text is 16)."""


def long_history(doc, months=13):
    """The fixed document with a year of earlier months in its history (charts and history table fill up)."""
    symbols = [p["symbol"] for p in doc["assets"]]
    earlier = [{"period": f"2025-{m:02d}", "root": "12" * 32, "liabilities": {s: str(10**9 * m) for s in symbols},
                "ratios": {s: f"{99 + m}.25" for s in symbols}, "flagged": [symbols[0]] if m < 3 else [],
                "reserves_usd": f"{1000 * m}.00"} for m in range(1, months)]
    return {**doc, "history": earlier + doc["history"]}


def with_held(doc):
    """A sampling record and the held figures, as publish --rpc writes them."""
    held = {p["symbol"]: {"snapshot": p["reserves"], "minimum": str(int(p["reserves"]) // 2), "not_sampled": "0",
                          "minimum_units": "1", "ratio_percent": "50.00"} for p in doc["assets"]}
    sampling = {"rule": "por-sample-heights-v1", "count": 8, "chains": {
        "ethereum": {"sampled": True, "seed": {"height": 306, "hash": "0x" + "ab" * 32, "timestamp": 1}, "first": 2,
                     "first_rule": "period-start", "last": 304, "heights": [25, 43, 84, 146, 171, 203, 258, 287],
                     "blocks": [], "assets": {}},
        "bitcoin": {"sampled": False, "why": "Bitcoin Core's scantxoutset reads the UTXO set at the node's tip only"}}}
    return {**doc, "held": held, "balances": {"chains": {}, "result": "match", "sampling": sampling}}


def pages(tmp_path):
    """(name, render version, path) of the pages checked: por-v2 and por-v3 months, a year of history."""
    out = []
    for fixed in (fixed_doc, fixed_doc_v3):
        doc, pos = fixed()
        doc = with_held(long_history(doc))
        for version in ("2", "3"):
            path = tmp_path / f"{doc['version']}-render-{version}.html"
            path.write_bytes(RENDERERS[version](doc, pos)["report.html"])
            out.append((doc["version"], version, path))
    return out


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    from tests.support.browser import chromium_driver
    from tests.support.install import required

    d = required("Chromium (headless browser)", lambda: chromium_driver(str(tmp_path_factory.mktemp("chromium-profile"))))
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": WIDTH, "height": 900, "deviceScaleFactor": 2, "mobile": True})
    yield d
    d.quit()


HIDDEN = """
const vw = document.documentElement.clientWidth;
const out = [];
for (const row of document.querySelectorAll('#assets tbody tr')) {
  for (const cell of row.querySelectorAll('td.ratio, td.ratio-bound, td.ratio-gross, td.status')) {
    window.scrollTo(0, cell.getBoundingClientRect().top + window.scrollY - 300);  // down to it, never sideways
    const r = cell.getBoundingClientRect();
    const hit = document.elementFromPoint(Math.min(r.left + r.width / 2, vw - 1), r.top + r.height / 2);
    const seen = r.width > 0 && r.left >= 0 && r.right <= vw + 0.5 && hit !== null && cell.contains(hit);
    if (!seen) out.push(row.dataset.symbol + ' ' + cell.className);
  }
}
window.scrollTo(0, 0);
return out;
"""

WRAPPED = """
const out = [];
for (const cell of document.querySelectorAll('#history tbody td:first-child, #history thead th:first-child')) {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
  if (lines.size > 1) out.push(cell.textContent);
}
return out;
"""

SMALLEST_TEXT = """
const out = {};
for (const svg of document.querySelectorAll('figure svg')) {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  let least = Infinity;
  for (const g of svg.querySelectorAll('g[id^="text_"] > g[transform]')) {
    const m = /scale\\(([0-9.]+)/.exec(g.getAttribute('transform'));
    if (m) least = Math.min(least, parseFloat(m[1]) * 100 * scale);
  }
  out[svg.id] = least;
}
return out;
"""


@pytest.mark.e2e
def test_on_a_phone_every_ratio_and_status_is_on_screen_periods_stay_whole_and_charts_are_readable(phone, tmp_path):
    failures_of_version_2 = []
    for protocol, version, path in pages(tmp_path):
        phone.get(f"file://{path}")
        assert phone.execute_script("return window.innerWidth") == WIDTH
        page_wider = phone.execute_script("return document.documentElement.scrollWidth > document.documentElement.clientWidth")
        hidden = phone.execute_script(HIDDEN)
        wrapped = phone.execute_script(WRAPPED)
        small = {k: round(v, 1) for k, v in phone.execute_script(SMALLEST_TEXT).items() if v < SMALLEST_TEXT_PX}
        if version == "3":
            assert not page_wider, f"{protocol}: the page scrolls sideways"
            assert hidden == [], f"{protocol}: off screen at {WIDTH} px: {hidden}"
            assert wrapped == [], f"{protocol}: periods wrapped: {wrapped}"
            assert small == {}, f"{protocol}: chart text below {SMALLEST_TEXT_PX} px: {small}"
            assert len(phone.execute_script("return document.querySelectorAll('figure svg')")) == 4
        else:
            failures_of_version_2.append((protocol, bool(hidden), bool(small)))
    # the page as render version 2 drew it: ratios and statuses off screen, chart text too small
    assert failures_of_version_2 == [("por-v2", True, True), ("por-v3", True, True)]


@pytest.mark.e2e
def test_on_a_phone_the_held_table_and_the_cards_name_every_figure(phone, tmp_path):
    from selenium.webdriver.common.by import By

    doc, pos = fixed_doc_v3()
    doc = with_held(doc)
    path = tmp_path / "held.html"
    path.write_bytes(render_reports(doc, pos)["report.html"])
    phone.get(f"file://{path}")
    first = phone.find_element(By.CSS_SELECTOR, "#assets tbody tr")
    labels = phone.execute_script("return Array.from(arguments[0].querySelectorAll('td')).sort((a, b) => "
                                  "a.getBoundingClientRect().top - b.getBoundingClientRect().top)"
                                  ".map(td => td.dataset.label)", first)
    assert labels[:4] == ["Ratio (bound)", "Ratio (net)", "Status", "Owed to users"]  # ratios and status first
    held = phone.execute_script("return Array.from(document.querySelectorAll('#held tbody tr')).map(r => "
                                "[r.dataset.symbol, r.querySelector('td').dataset.label, r.querySelector('td').textContent, "
                                "new Set(Array.from(r.querySelectorAll('td')).map(td => "
                                "Math.round(td.getBoundingClientRect().top))).size])")
    assert held[0] == ["BTC", "Ratio (minimum)", "50.00%", 4]  # a card: one line per figure
    short = phone.find_element(By.CSS_SELECTOR, '#held tr[data-symbol="BTC"]')  # a minimum below the net liabilities
    assert short.get_attribute("class") == "flagged"
    assert short.find_element(By.CSS_SELECTOR, "td.ratio-min").value_of_css_property("color") == "rgba(180, 35, 24, 1)"
    words = " ".join(p.text for p in phone.find_elements(By.CSS_SELECTOR, "p.sampling"))
    assert "ethereum: heights 25, 43, 84" in words and "bitcoin: not sampled" in words


def axis_labels(page: bytes) -> list[str]:
    """The text of the charts' axis labels (matplotlib writes each text as a comment before its glyphs)."""
    return re.findall(r"<!-- (reserves / [a-z ]+ \(%\)) -->", page.decode())


def test_a_por_v3_months_ratio_charts_say_net_liabilities():
    doc, pos = fixed_doc_v3()
    assert axis_labels(render_reports(doc, pos)["report.html"]) == ["reserves / net liabilities (%)"] * 2
    assert axis_labels(RENDERERS["2"](doc, pos)["report.html"]) == ["reserves / liabilities (%)"] * 2  # as published
    doc, pos = fixed_doc()
    assert axis_labels(render_reports(doc, pos)["report.html"]) == ["reserves / liabilities (%)"] * 2
