"""The prices input and the dollar figures: strict validation, exact arithmetic, one rounding."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.formats import numbers
from pipeline.formats.prices import cents, exact_usd, parse_prices, usd_section

SYMBOLS = ["BTC", "ETH", "USDT"]
GOOD = {"format": "por-prices-v1", "source": "exchange index, daily close", "timestamp": "2026-11-30T23:59:59Z",
        "prices": {"BTC": "91234.56", "ETH": "3021.4", "USDT": "1"}}


def doc(**change) -> bytes:
    return json.dumps({**GOOD, **change}).encode()


def test_a_good_file_parses_to_exact_decimals():
    p = parse_prices(doc(), "prices.json", SYMBOLS)
    assert p.prices == {"BTC": Decimal("91234.56"), "ETH": Decimal("3021.4"), "USDT": Decimal(1)}
    assert p.source == "exchange index, daily close" and p.timestamp == "2026-11-30T23:59:59Z"


@pytest.mark.parametrize("data,words", [
    (doc(prices={"BTC": "91234.56", "ETH": "3021.4"}), "no price for USDT"),
    (doc(prices={**GOOD["prices"], "ETH": "-3021.4"}), "prices.ETH = '-3021.4' is not a non-negative decimal string"),
    (doc(prices={**GOOD["prices"], "ETH": "3,021.40"}), "prices.ETH = '3,021.40' is not a non-negative decimal string"),
    (doc(prices={**GOOD["prices"], "ETH": "3e3"}), "prices.ETH = '3e3'"),
    (doc(prices={**GOOD["prices"], "ETH": "NaN"}), "prices.ETH = 'NaN'"),
    (b'{"format": "por-prices-v1", "source": "x", "timestamp": "2026-11-30T23:59:59Z", '
     b'"prices": {"BTC": 91234.56, "ETH": "1", "USDT": "1"}}', "prices.BTC is the JSON number 91234.56"),
    (doc(prices={**GOOD["prices"], "DOGE": "0.2"}), "prices.DOGE: not an asset of the asset file"),
    (doc(timestamp="2026-11-30 23:59"), "has no UTC offset"),
    (doc(timestamp="yesterday"), "is not ISO 8601"),
    (doc(source=""), "'source' must name where the prices come from"),
    (doc(format="v0"), "format is 'v0'"),
    (doc(extra=1), "unknown field(s) ['extra']"),
    (b"[1, 2]", "expected a JSON object"),
    (b"{not json", "not a JSON document"),
    (b'{"format": "por-prices-v1", "source": "x", "timestamp": "2026-11-30T23:59:59Z", '
     b'"prices": {"BTC": "1", "ETH": "1", "USDT": "1", "BTC": "90000"}}', "'BTC' is given twice"),
])
def test_bad_prices_are_refused_naming_the_file_and_the_field(data, words):
    with pytest.raises(InputError) as info:
        parse_prices(data, "inputs/prices.json", SYMBOLS)
    assert str(info.value).startswith("inputs/prices.json: ") and words in str(info.value)


@given(units=st.integers(0, 2**128 - 1), decimals=st.integers(0, 38),
       price=st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False))
def test_dollars_are_the_exact_product_rounded_once_half_to_even(units, decimals, price):
    exact = Fraction(units, 10**decimals) * Fraction(price)
    assert Fraction(exact_usd(units, decimals, price)) == exact
    shown = Decimal(cents(exact_usd(units, decimals, price)))
    assert abs(Fraction(shown) - exact) <= Fraction(1, 200)
    ctx = Context(prec=200)
    assert shown == ctx.divide(Decimal(exact.numerator), Decimal(exact.denominator)).quantize(
        Decimal("0.01"), ROUND_HALF_EVEN, ctx)


def test_totals_are_the_rounded_sum_of_exact_values():
    p = parse_prices(json.dumps({**GOOD, "prices": {"A": "0.005", "B": "0.005"}}).encode(), "p", ["A", "B"])
    section = usd_section(p, {"A": 0, "B": 0}, {"A": 1, "B": 1}, {"A": 1, "B": 1})
    assert section["assets"]["A"]["reserves"] == "0.00" and section["assets"]["B"]["reserves"] == "0.00"  # half to even
    assert section["total"]["reserves"] == "0.01"  # 0.005 + 0.005, rounded once
    assert "half to even" in section["rounding"]


def test_readable_numbers():
    assert numbers.amount(123456789012345678901, 18) == "123.45678901…"
    assert numbers.amount(150_000_000, 8) == "1.5" and numbers.amount(10**15, 6) == "1,000,000,000"
    assert numbers.usd("1234567.5") == "$1,234,567.50" and numbers.usd("0") == "$0.00"
    assert numbers.ratio(None) == "n/a" and numbers.ratio("99.99") == "99.99%"


@pytest.mark.integration
def test_publish_refuses_bad_prices_with_the_archive_unchanged(tmp_path, scheduler2):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.formats.assets import parse_assets
    from pipeline.testing.synth import snapshot_totals, write_synth, write_synth_reserves
    from tests.support.snapshots import write_secret

    secret = write_secret(str(tmp_path))
    assert CliRunner().invoke(app, ["keygen", "--signing", str(tmp_path / "k")]).exit_code == 0
    snap = str(tmp_path / "snap")
    write_synth(snap, 200, asset_count=3, files=1, seed=2)
    assets = parse_assets(open(f"{snap}/assets.json").read(), "assets.json")
    write_synth_reserves(str(tmp_path / "res" / "r.parquet"), assets, snapshot_totals(snap), {"BTC": 10_100})
    (tmp_path / "prices.json").write_text(json.dumps({**GOOD, "prices": {"BTC": "91234.56", "ETH": "-1", "USDT": "1"}}))
    arch = tmp_path / "archive"
    result = CliRunner().invoke(app, [
        "publish", "--period", "2026-11", "--snapshot", snap, "--reserves", str(tmp_path / "res"), "--archive", str(arch),
        "--secret-file", secret, "--signing-key", str(tmp_path / "k"), "--scheduler", scheduler2,
        "--prices", str(tmp_path / "prices.json")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'prices.json'}: prices.ETH = '-1' is not a non-negative decimal string" in result.stderr
    assert not arch.exists() or sorted(p.name for p in arch.iterdir()) == []


def test_a_report_whose_dollars_do_not_follow_from_its_prices_is_named():
    from pipeline.formats.prices import report_usd_problems

    rows = [{"symbol": "BTC", "decimals": 8, "liabilities": "150000000", "reserves": "160000000"},
            {"symbol": "ETH", "decimals": 18, "liabilities": str(10**18), "reserves": "0"},
            {"symbol": "USDT", "decimals": 6, "liabilities": "1", "reserves": "1"}]
    p = parse_prices(doc(), "p", SYMBOLS)
    good = usd_section(p, {r["symbol"]: r["decimals"] for r in rows}, {r["symbol"]: int(r["liabilities"]) for r in rows},
                       {r["symbol"]: int(r["reserves"]) for r in rows})
    assert good["assets"]["BTC"] == {"price": "91234.56", "liabilities": "136851.84", "reserves": "145975.30"}
    assert report_usd_problems(good, rows, None) == []
    inflated = {**good, "total": {**good["total"], "reserves": "999999999.00"}}
    assert report_usd_problems(inflated, rows, None) == [
        f"usd.total differs from the figures recomputed from the report's own prices and amounts "
        f"(report {inflated['total']}, recomputed {good['total']})"]
