"""The report renderer is versioned (pipeline/publication/report.py RENDER_VERSION): every published
month names the version that wrote its report.md and report.html, and history verify / regenerate
re-render it with that version and compare byte for byte. So the current version's output is pinned
here: a change to what the pages show must bump RENDER_VERSION and keep the old renderer in RENDERERS,
or every month already published would stop verifying. The charts (matplotlib's SVG) are left out of
the pinned HTML: they follow matplotlib's version, which the renderer id records apart."""

from __future__ import annotations

import re

from pipeline.formats.canonical import digest
from pipeline.publication.report import RENDER_VERSION, RENDERERS, render_reports, report_doc, renderer_id
from pipeline.reserves.input import Reserves
from pipeline.reserves.ratios import positions

PINNED = {"1": ("7aa75b9ff60d91f007e7b082e4874a99d691506f67f6a0d41f3fb5a16e2ac2aa",
                "008ec1b1ae3da3a35b50ccc75b9c10f47657f4198425b64dd008d2d25c2c48fd")}
"""Render version -> blake3 of report.md and of report.html without its charts, for the document below."""
FIGURE = re.compile(rb"<figure>.*?</figure>", re.S)


def fixed_doc():
    manifest = {"version": "por-v2", "period": "2026-10",
                "assets": [{"symbol": "BTC", "decimals": 8}, {"symbol": "ETH", "decimals": 18}],
                "tree": {"bucket_bits": 2, "bucket_height": 8, "height": 10},
                "root": {"hash": "ab" * 32, "sums": ["123456789012", "5000000000000000001"]},
                "commitment": "cd" * 32, "previous": {"period": "2026-09", "manifest": "ef" * 32},
                "publication": {"revision": 1, "supersedes": None, "inputs": "01" * 32, "tool": "por-pipeline test"}}
    totals = {"BTC": 130000000000, "ETH": 4999999999999999999}
    pos = positions(manifest["assets"], manifest["root"]["sums"], totals)
    history = [{"period": "2026-09", "root": "12" * 32, "liabilities": {"BTC": "1", "ETH": "2"},
                "ratios": {"BTC": "101.00", "ETH": "99.00"}, "flagged": ["ETH"], "reserves_usd": "1000.00"},
               {"period": "2026-10", "root": "ab" * 32, "liabilities": {"BTC": "123456789012", "ETH": "5000000000000000001"},
                "ratios": {p.symbol: p.ratio for p in pos}, "flagged": [p.symbol for p in pos if p.flagged]}]
    doc = report_doc(manifest, pos, Reserves(totals, 3), history, None, None, None, "2026-11-01T06:00:00Z",
                     "Golden Exchange")
    doc["renderer"] = "fixed"
    return doc, pos


def test_the_current_render_version_renders_what_it_rendered_when_it_was_pinned():
    doc, pos = fixed_doc()
    out = render_reports(doc, pos)
    got = (digest(out["report.md"]), digest(FIGURE.sub(b"<figure/>", out["report.html"])))
    assert RENDER_VERSION in PINNED, f"pin render version {RENDER_VERSION}: {got}"
    assert got == PINNED[RENDER_VERSION], (
        f"the pages' output changed ({got}): bump RENDER_VERSION, keep the old renderer in RENDERERS, pin the new one")


def test_every_pinned_version_has_a_renderer_and_the_id_names_the_current_one():
    assert set(PINNED) <= set(RENDERERS) and RENDERERS[RENDER_VERSION] is render_reports
    assert renderer_id().startswith(f"por-report-render/{RENDER_VERSION} matplotlib/")


def test_rendering_ignores_the_order_of_json_objects():
    """A report read back from its canonical JSON (keys sorted) renders as the one built in memory."""
    import json

    from pipeline.formats.canonical import canonical_json

    doc, pos = fixed_doc()
    again = json.loads(canonical_json(doc))
    assert render_reports(again, pos) == render_reports(doc, pos)
