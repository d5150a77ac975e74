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
                "008ec1b1ae3da3a35b50ccc75b9c10f47657f4198425b64dd008d2d25c2c48fd"),
          "2": ("7aa75b9ff60d91f007e7b082e4874a99d691506f67f6a0d41f3fb5a16e2ac2aa",
                "008ec1b1ae3da3a35b50ccc75b9c10f47657f4198425b64dd008d2d25c2c48fd")}
"""Render version -> blake3 of report.md and of report.html without its charts, for the por-v2 document
below (version 2 renders por-v1/v2 reports exactly as version 1 did)."""
PINNED["3"] = ("7aa75b9ff60d91f007e7b082e4874a99d691506f67f6a0d41f3fb5a16e2ac2aa",
               "b8c39533eb37152185c1aaf3dcfe16500d8f653b26ed60204e6bf6dc87c86d6f")
PINNED_V3 = {"2": ("f89e36969f8e9220f9612d61412fef6c9d828b125c4b4bb6feeaf6d2a59e6243",
                   "061d1cb64056a75a503c9166177506126bc3feaa17546e459d57f8c2e3399a8f"),
             "3": ("f89e36969f8e9220f9612d61412fef6c9d828b125c4b4bb6feeaf6d2a59e6243",
                   "002cc64c9576f3ad7c2b7954c72f5ad8b9a98564d61af342d3972aff592905d3")}
"""Render version -> the same, for the por-v3 document below (version 1 refuses por-v3 reports). Version 3
changed the HTML only (a phone's layout); these two documents have no sampled heights, so their Markdown stayed."""
PINNED_SAMPLED = {"3": ("bda35a2b463481891b4f97f9465b63d0751f48b21656aac928ea79a6640b484a",
                        "b5fa5a054ed2b6477ec4548b284e8762e63a9848fd56f8369092d5af95e43f1b")}
"""Render version -> the same, for the por-v3 document with sampled heights and ``held`` (version 3 first
rendered them)."""
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


def fixed_doc_v3():
    """A por-v3 month: BTC owed and partly borrowed, ETH borrowed more than held (net below zero), USDT
    short of its net liabilities; prices, haircuts, a bound-ownership section."""
    from decimal import Decimal

    from pipeline.formats.haircuts import Haircuts
    from pipeline.formats.prices import Prices
    from pipeline.protocol import v3
    from pipeline.publication.report import collateral_section, usd_figures

    assets = [("BTC", 8), ("ETH", 18), ("USDT", 6)]
    roots = [("11" * 32, 300_000_000_000, 100_000_000_000), ("22" * 32, 5 * 10**18, 7 * 10**18 + 1),
             ("33" * 32, 9_000_000_000_000, 1_000_000_000_000)]
    shapes = [(2, 13), (0, 12), (3, 14)]
    params = v3.Parameters()
    c = v3.commitment("2026-11", params, assets, [v3.TreeRoot(k, h, bytes.fromhex(r), e, d)
                                                 for (k, h), (r, e, d) in zip(shapes, roots, strict=True)])
    manifest = {"version": "por-v3", "period": "2026-11", "hash": "blake3",
                "assets": [{"symbol": s, "decimals": d} for s, d in assets], "parameters": params.as_json(),
                "trees": [{"asset": s, "bucket_bits": k, "bucket_height": h, "height": k + h,
                           "root": {"hash": r, "equity": str(e), "debt": str(d)}}
                          for (s, _), (k, h), (r, e, d) in zip(assets, shapes, roots, strict=True)],
                "commitment": c.hex(), "previous": {"period": "2026-10", "manifest": "ef" * 32},
                "publication": {"revision": 2, "supersedes": "aa" * 32, "inputs": "01" * 32, "tool": "por-pipeline test"}}
    totals = {"BTC": 200_000_000_000, "ETH": 1, "USDT": 7_999_999_999_999}
    pos = positions(manifest["assets"], [e for _, e, _ in roots], totals, [d for _, _, d in roots])
    prices = Prices("fixed prices", "2026-11-30T23:59:59Z",
                    {"BTC": Decimal("91234.56"), "ETH": Decimal("3021.4"), "USDT": Decimal("1")})
    usd = usd_figures(prices, pos, totals, None)
    history = [{"period": "2026-10", "root": "12" * 32, "liabilities": {"BTC": "1", "ETH": "2", "USDT": "3"},
                "ratios": {"BTC": "101.00", "ETH": "99.00", "USDT": "100.00"}, "flagged": ["ETH"], "reserves_usd": "1000.00"},
               {"period": "2026-11", "root": c.hex(), "liabilities": {p.symbol: str(p.liabilities) for p in pos},
                "debt": {p.symbol: str(p.debt) for p in pos},
                "ratios": {p.symbol: p.ratio for p in pos}, "flagged": [p.symbol for p in pos if p.flagged],
                "reserves_usd": usd["total"]["reserves"]}]
    haircuts = Haircuts({"BTC": Decimal("0.9"), "ETH": Decimal("0.85"), "USDT": Decimal("0.95")})
    doc = report_doc(manifest, pos, Reserves(totals, 4), history, None, usd, None, "2026-12-01T06:00:00Z",
                     "Golden Exchange", collateral_section(haircuts))
    doc["renderer"] = "fixed"
    return doc, pos


SAMPLING = {"rule": "por-sample-heights-v1", "count": 8, "chains": {
    "ethereum": {"sampled": True, "seed": {"height": 306, "hash": "0x" + "ab" * 32, "timestamp": 1_796_079_600},
                 "first": 2, "first_rule": "period-start", "last": 304, "heights": [25, 43, 84, 146, 171, 203, 258, 287],
                 "blocks": [], "assets": {"BTC": {"snapshot": "150000000000", "minimum": "90000000000", "at": []},
                                          "USDT": {"snapshot": "7999999999999", "minimum": "7999999999999", "at": []}}},
    "bitcoin": {"sampled": False, "why": "Bitcoin Core's scantxoutset reads the UTXO set at the node's tip only"}}}


def fixed_doc_sampled():
    """The por-v3 month with sampled heights on one chain (BTC partly sampled, USDT held all month) and a
    chain that cannot be sampled: ``held`` as report_doc derives it."""
    from pipeline.publication.report import held_section

    doc, pos = fixed_doc_v3()
    balances = {"chains": {}, "result": "match", "sampling": SAMPLING}
    return {**doc, "balances": balances, "held": held_section(pos, balances)}, pos


def pages(out):
    return digest(out["report.md"]), digest(FIGURE.sub(b"<figure/>", out["report.html"]))


def test_the_current_render_version_renders_what_it_rendered_when_it_was_pinned():
    for fixed, pinned in ((fixed_doc, PINNED), (fixed_doc_v3, PINNED_V3), (fixed_doc_sampled, PINNED_SAMPLED)):
        doc, pos = fixed()
        got = pages(render_reports(doc, pos))
        assert RENDER_VERSION in pinned, f"pin render version {RENDER_VERSION} of {doc['version']}: {got}"
        assert got == pinned[RENDER_VERSION], (
            f"the pages' output of {doc['version']} changed ({got}): bump RENDER_VERSION, keep the old renderer in "
            "RENDERERS, pin the new one")


def test_every_pinned_version_still_renders_what_it_rendered():
    for fixed, pinned in ((fixed_doc, PINNED), (fixed_doc_v3, PINNED_V3), (fixed_doc_sampled, PINNED_SAMPLED)):
        doc, pos = fixed()
        for version, want in pinned.items():
            assert pages(RENDERERS[version](doc, pos)) == want, (doc["version"], version)


def test_render_version_1_refuses_a_por_v3_report():
    import pytest

    from pipeline.errors import InputError

    doc, pos = fixed_doc_v3()
    with pytest.raises(InputError, match="render version 1 does not render por-v3"):
        RENDERERS["1"](doc, pos)


def test_every_pinned_version_has_a_renderer_and_the_id_names_the_current_one():
    assert set(PINNED) | set(PINNED_V3) | set(PINNED_SAMPLED) <= set(RENDERERS)
    assert RENDERERS[RENDER_VERSION] is render_reports
    assert renderer_id().startswith(f"por-report-render/{RENDER_VERSION} matplotlib/")


def test_rendering_ignores_the_order_of_json_objects():
    """A report read back from its canonical JSON (keys sorted) renders as the one built in memory."""
    import json

    from pipeline.formats.canonical import canonical_json

    for fixed in (fixed_doc, fixed_doc_v3, fixed_doc_sampled):
        doc, pos = fixed()
        again = json.loads(canonical_json(doc))
        assert render_reports(again, pos) == render_reports(doc, pos)
