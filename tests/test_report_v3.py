"""por-v3's publication side: the haircuts input, the per-user collateral rule (exact, against a plain
Fraction implementation), the report's equity / debt / net figures and both ratios, their
re-derivation by ``history verify`` and ``regenerate``, and ``por publish`` refusing a month in which a
user's collateral does not cover their debt."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import AuditError, BundleError, InputError
from pipeline.formats.haircuts import FORMAT, parse_haircuts
from pipeline.liabilities.collateral import (
    CollateralResult,
    check_table,
    check_users,
    collateral_terms,
    held_matrix,
    usd_text,
)
from pipeline.reserves.ratios import AssetPosition

SYMBOLS = ["BTC", "ETH", "USDT"]


def haircuts_file(haircuts, **extra) -> bytes:
    return json.dumps({"format": FORMAT, "haircuts": haircuts, **extra}).encode()


# ------------------------------------------------------------------ the haircuts file


def test_a_haircuts_file_is_read_exactly():
    h = parse_haircuts(haircuts_file({"BTC": "0.9", "ETH": "1", "USDT": "0.000000000000000001"}), "h.json", SYMBOLS)
    assert h.haircuts == {"BTC": Decimal("0.9"), "ETH": Decimal(1), "USDT": Decimal("1e-18")}
    assert h.fraction("USDT") == Fraction(1, 10**18) and h.fraction("BTC") == Fraction(9, 10)
    assert parse_haircuts(json.dumps(h.as_json()).encode(), "again", SYMBOLS) == h
    assert parse_haircuts(haircuts_file({"BTC": "0", "ETH": "1.000", "USDT": "0.95"}), "h", SYMBOLS).haircuts["ETH"] == 1


@pytest.mark.parametrize("data, words", [
    (haircuts_file({"BTC": 0.9, "ETH": "1", "USDT": "1"}), "is the JSON number 0.9"),
    (haircuts_file({"BTC": 1, "ETH": "1", "USDT": "1"}), "is the JSON number 1"),
    (haircuts_file({"BTC": "1.5", "ETH": "1", "USDT": "1"}), "haircuts.BTC = '1.5' is not a decimal string in [0, 1]"),
    (haircuts_file({"BTC": "1.0000000000000000001", "ETH": "1", "USDT": "1"}), "haircuts.BTC"),
    (haircuts_file({"BTC": "-0", "ETH": "1", "USDT": "1"}), "haircuts.BTC = '-0'"),
    (haircuts_file({"BTC": "9e-1", "ETH": "1", "USDT": "1"}), "haircuts.BTC = '9e-1'"),
    (haircuts_file({"BTC": ".9", "ETH": "1", "USDT": "1"}), "haircuts.BTC = '.9'"),
    (haircuts_file({"BTC": " 0.9", "ETH": "1", "USDT": "1"}), "haircuts.BTC"),
    (haircuts_file({"BTC": "0.9"}), "no haircut for ETH, USDT"),
    (haircuts_file({"BTC": "0.9", "ETH": "1", "USDT": "1", "DOGE": "0"}), "haircuts.DOGE: not an asset"),
    (haircuts_file({"BTC": "0.9", "ETH": "1", "USDT": "1"}, note="x"), "unknown field(s) ['note']"),
    (json.dumps({"format": "por-haircuts-v2", "haircuts": {}}).encode(), "format is 'por-haircuts-v2'"),
    (b'{"format": "por-haircuts-v1", "haircuts": {"BTC": "0.9", "BTC": "1", "ETH": "1", "USDT": "1"}}',
     "'BTC' is given twice"),
    (b'{"format": "por-haircuts-v1", "format": "por-haircuts-v1", "haircuts": {}}', "'format' is given twice"),
    (b'{"format": "por-haircuts-v1", "haircuts": {"BTC": NaN, "ETH": "1", "USDT": "1"}}', "JSON number NaN"),
    (b'{"format": "por-haircuts-v1", "haircuts": ["0.9"]}', "'haircuts' must be an object"),
    (b'["por-haircuts-v1"]', "expected a JSON object"),
    (b'\xff{}', "not a JSON document"),
    (b'{"format": "por-haircuts-v1", "haircuts": {}} x', "not a JSON document"),
])
def test_a_bad_haircuts_file_is_refused_naming_the_field(data, words):
    with pytest.raises(InputError) as err:
        parse_haircuts(data, "h.json", SYMBOLS)
    assert "h.json" in str(err.value) and words in str(err.value)


def test_the_schema_describes_the_file():
    import jsonschema

    with open("schemas/haircuts.schema.json", encoding="utf-8") as f:
        schema = json.load(f)
    good = {"format": FORMAT, "haircuts": {"BTC": "0.9", "ETH": "1.00", "USDT": "0"}}
    jsonschema.validate(good, schema)
    parse_haircuts(json.dumps(good).encode(), "good", SYMBOLS)
    for bad in ({"format": FORMAT, "haircuts": {"BTC": "1.01"}}, {"format": FORMAT, "haircuts": {"BTC": 0.5}},
                {"format": FORMAT}, {"format": FORMAT, "haircuts": {"BTC": "0.5"}, "x": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


# ------------------------------------------------------------------ the collateral rule


def amount_row(equity: int, debt: int) -> np.ndarray:
    return np.frombuffer(equity.to_bytes(16, "big") + debt.to_bytes(16, "big"), dtype=np.uint8)


def arrays(users: list[dict[int, tuple[int, int]]], m: int) -> tuple[np.ndarray, np.ndarray]:
    """The user file's arrays for ``users`` (asset index -> (equity, debt); (0, 0) holdings absent)."""
    held = np.zeros((len(users), m), dtype=bool)
    rows = []
    for i, holdings in enumerate(users):
        for j in sorted(holdings):
            held[i, j] = True
            rows.append(amount_row(*holdings[j]))
    return held, (np.stack(rows) if rows else np.zeros((0, 32), np.uint8))


def mask_bytes(held: np.ndarray) -> np.ndarray:
    return np.packbits(held, axis=1, bitorder="little")


def reference(users, assets, prices, haircuts) -> list[Fraction]:
    """Per user: debt side − collateral side in US dollars, with Fractions, straight from the rule."""
    out = []
    for holdings in users:
        collateral = sum((Fraction(e, 10 ** assets[j][1]) * Fraction(prices[assets[j][0]]) * Fraction(haircuts[assets[j][0]])
                          for j, (e, _) in holdings.items()), Fraction(0))
        debt = sum((Fraction(d, 10 ** assets[j][1]) * Fraction(prices[assets[j][0]]) for j, (_, d) in holdings.items()),
                   Fraction(0))
        out.append(debt - collateral)
    return out


ASSETS = [("BTC", 8), ("ETH", 18), ("USDT", 6), ("ZERO", 0)]
PRICES = {"BTC": Decimal("91234.56"), "ETH": Decimal("3021.4"), "USDT": Decimal("1"), "ZERO": Decimal("7")}
HAIRCUTS = {"BTC": Decimal("0.9"), "ETH": Decimal("0.85"), "USDT": Decimal("0.95"), "ZERO": Decimal("0")}


def test_exactly_equal_passes_and_one_smallest_unit_more_debt_fails():
    terms = collateral_terms(ASSETS, PRICES, HAIRCUTS)
    # 1 BTC at $91234.56 with a haircut of 0.9 covers exactly $82111.104: 82111104000 USDT smallest units
    covered = Fraction(10**8, 10**8) * Fraction("91234.56") * Fraction("0.9")
    units = covered * 10**6
    assert units.denominator == 1
    equal = [{0: (10**8, 0), 2: (0, int(units))}]
    short = [{0: (10**8, 0), 2: (0, int(units) + 1)}]
    assert check_users(*arrays(equal, 4), terms) == CollateralResult(1, 1, 0, ())
    result = check_users(*arrays(short, 4), terms)
    assert (result.users_checked, result.users_with_debt, result.failures) == (1, 1, 1)
    assert result.first_failures[0].row == 0 and result.first_failures[0].shortfall == Fraction(1, 10**6)
    assert usd_text(result.first_failures[0].shortfall) == "0.000001"
    # one smallest unit of the collateral less fails too (ETH: 18 decimals)
    eth = Fraction("3021.4") * Fraction("0.85")
    eth_equal = [{1: (10**18, 0), 2: (0, int(eth * 10**6))}]
    assert (eth * 10**6).denominator == 1 and check_users(*arrays(eth_equal, 4), terms).ok
    eth_short = [{1: (10**18 - 1, 0), 2: (0, int(eth * 10**6))}]
    assert check_users(*arrays(eth_short, 4), terms).failures == 1


def test_debt_in_an_asset_against_its_own_equity_with_a_haircut():
    terms = collateral_terms(ASSETS, PRICES, HAIRCUTS)
    # 10 BTC equity and 9 BTC debt in one holding: 10 * 0.9 = 9 covers exactly
    assert check_users(*arrays([{0: (10 * 10**8, 9 * 10**8)}], 4), terms).ok
    assert not check_users(*arrays([{0: (10 * 10**8, 9 * 10**8 + 1)}], 4), terms).ok


def test_a_haircut_of_zero_counts_nothing_and_a_user_without_debt_always_passes():
    terms = collateral_terms(ASSETS, PRICES, HAIRCUTS)
    users = [{3: (10**30, 0)}, {3: (10**30, 0), 2: (0, 1)}, {3: (0, 0)}, {}, {0: (2**128 - 1, 0)}]
    result = check_users(*arrays(users, 4), terms)
    assert (result.users_checked, result.users_with_debt, result.failures) == (5, 1, 1)
    assert result.first_failures[0].row == 1 and result.first_failures[0].shortfall == Fraction(1, 10**6)


def test_a_zero_price_makes_a_debt_worthless_so_publication_refuses_it_before_the_rule():
    """The rule itself accepts a zero price (an asset nobody holds): a debt in it then costs nothing.
    That is why a zero price of an asset owed or held refuses the month upstream (zero_price_problems)."""
    from pipeline.formats.prices import Prices, zero_price_problems

    terms = collateral_terms(ASSETS, {**PRICES, "ETH": Decimal(0)}, HAIRCUTS)
    assert check_users(*arrays([{1: (0, 10**24)}], 4), terms).ok
    prices = Prices("test", "2026-11-30T23:59:59Z", {**PRICES, "ETH": Decimal(0)})
    assert zero_price_problems(prices, {"ETH": 10**24}) == [
        "ETH is priced at 0 US dollars but 1000000000000000000000000 smallest units of it are owed or held"]


def test_the_terms_refuse_what_is_not_an_exact_price_or_haircut():
    for prices, haircuts, words in (
            ({**PRICES, "BTC": 91234.56}, HAIRCUTS, "not float"),
            (PRICES, {**HAIRCUTS, "ETH": 0.85}, "not float"),
            (PRICES, {**HAIRCUTS, "ETH": Decimal("1.01")}, "outside [0, 1]"),
            (PRICES, {**HAIRCUTS, "ETH": Decimal("-0.1")}, "outside [0, 1]"),
            ({**PRICES, "USDT": Decimal(-1)}, HAIRCUTS, "negative"),
            ({**PRICES, "USDT": Decimal("NaN")}, HAIRCUTS, "not a number"),
            ({k: v for k, v in PRICES.items() if k != "ETH"}, HAIRCUTS, "no price for ETH"),
            (PRICES, {k: v for k, v in HAIRCUTS.items() if k != "USDT"}, "no haircut for USDT")):
        with pytest.raises(InputError) as err:
            collateral_terms(ASSETS, prices, haircuts)
        assert words in str(err.value)


def test_malformed_arrays_are_refused_not_misread():
    terms = collateral_terms(ASSETS, PRICES, HAIRCUTS)
    held, amounts = arrays([{0: (1, 0), 2: (0, 1)}], 4)
    with pytest.raises(AuditError, match="1 entries for 2 held assets"):
        check_users(held, amounts[:1], terms)
    two = np.vstack([held, held])
    with pytest.raises(AuditError, match="row 0: 1 amounts for 2 held assets"):
        check_users(two, np.vstack([amounts, amounts]), terms, starts=np.array([0, 1, 4]))
    with pytest.raises(AuditError, match="beyond the 4 assets"):
        check_users(np.array([[0b00010001]], dtype=np.uint8), amounts, terms)
    with pytest.raises(AuditError, match="columns for 4 assets"):
        check_users(held[:, :3], amounts, terms)
    assert held_matrix(mask_bytes(held), 4).tolist() == held.tolist()


PRICE = st.decimals(min_value=0, max_value=Decimal("1e12"), places=6, allow_nan=False, allow_infinity=False)
HAIRCUT = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
AMOUNT = st.one_of(st.just(0), st.integers(0, 10**6), st.integers(0, 2**128 - 1))


@st.composite
def months(draw):
    m = draw(st.integers(1, 10))
    assets = [(f"A{j:02d}", draw(st.integers(0, 38))) for j in range(m)]
    prices = {s: draw(PRICE) for s, _ in assets}
    haircuts = {s: draw(HAIRCUT) for s, _ in assets}
    users = draw(st.lists(st.dictionaries(st.integers(0, m - 1), st.tuples(AMOUNT, AMOUNT), max_size=m), max_size=25))
    users = [{j: ed for j, ed in u.items() if ed != (0, 0)} for u in users]
    return assets, prices, haircuts, users


@given(months(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_the_check_is_the_rule_computed_with_fractions(month, as_mask):
    assets, prices, haircuts, users = month
    terms = collateral_terms(assets, prices, haircuts)
    held, amounts = arrays(users, len(assets))
    result = check_users(mask_bytes(held) if as_mask else held, amounts, terms, first=3)
    excess = reference(users, assets, prices, haircuts)
    failing = [i for i, x in enumerate(excess) if x > 0]
    assert result.users_checked == len(users)
    assert result.users_with_debt == sum(1 for u in users if any(d for _, d in u.values()))
    assert result.failures == len(failing)
    assert [(f.row, f.shortfall) for f in result.first_failures] == [(i, excess[i]) for i in failing[:3]]
    # the shortfall is written exactly, every digit
    for f in result.first_failures:
        assert Fraction(usd_text(f.shortfall)) == f.shortfall


@given(months(), st.integers(1, 4))
@settings(max_examples=100, deadline=None)
def test_a_file_split_anywhere_gives_the_same_result_combined(month, parts):
    assets, prices, haircuts, users = month
    terms = collateral_terms(assets, prices, haircuts)
    whole = check_users(*arrays(users, len(assets)), terms)
    cuts = sorted({0, len(users), *[len(users) * k // parts for k in range(parts)]})
    pieces = [check_users(*arrays(users[a:b], len(assets)), terms) for a, b in zip(cuts, cuts[1:], strict=False)]
    combined = CollateralResult.combine(pieces)
    assert (combined.users_checked, combined.users_with_debt, combined.failures) == (
        whole.users_checked, whole.users_with_debt, whole.failures)
    assert [f.shortfall for f in combined.first_failures] == [f.shortfall for f in whole.first_failures]


def user_table(users, m: int, fixed: bool = True) -> pa.Table:
    held, amounts = arrays(users, m)
    masks = [bytes(r) for r in mask_bytes(held)]
    lists, k = [], 0
    for row in held:
        n = int(row.sum())
        lists.append([bytes(amounts[k + i]) for i in range(n)])
        k += n
    width = (m + 7) // 8
    return pa.table({"uk": pa.array([bytes([i]) * 32 for i in range(len(users))], pa.binary(32)),
                     "held": pa.array(masks, pa.binary(width) if fixed else pa.binary()),
                     "amounts": pa.array(lists, pa.list_(pa.binary(32) if fixed else pa.binary()))})


@pytest.mark.parametrize("fixed", [True, False])
def test_a_user_table_is_read_as_the_spec_lays_it_out(fixed, tmp_path):
    import pyarrow.parquet as pq

    from pipeline.liabilities.collateral import check_user_file

    m = 9  # two mask bytes
    assets = [(f"A{j}", j) for j in range(m)]
    prices = {s: Decimal(j + 1) for j, (s, _) in enumerate(assets)}
    haircuts = {s: Decimal("0.5") for s, _ in assets}
    users = [{0: (10, 0)}, {8: (0, 1)}, {0: (20, 0), 8: (0, 1)}, {}, {3: (2000, 0), 8: (0, 100)}]
    terms = collateral_terms(assets, prices, haircuts)
    excess = reference(users, assets, prices, haircuts)
    table = user_table(users, m, fixed)
    result = check_table(table.slice(1), terms, file="g00001")  # a slice: offsets not at zero
    assert (result.users_checked, result.users_with_debt) == (4, 3)
    assert [(f.row, f.shortfall, f.file) for f in result.first_failures] == [
        (i - 1, excess[i], "g00001") for i in range(1, 5) if excess[i] > 0]
    # a user file as the build writes it (formats.users_file), read by its own reader
    from pipeline.formats.users_file import encode_users

    held, amounts = arrays(users, m)
    starts = np.r_[0, np.cumsum(held.sum(axis=1))]
    uks = np.frombuffer(b"".join(bytes([i]) * 32 for i in range(len(users))), np.uint8).reshape(-1, 32)
    path = tmp_path / "g00000.parquet"
    path.write_bytes(encode_users(uks, mask_bytes(held), starts, amounts, {"group": 0}))
    from_file = check_user_file(str(path), terms)
    assert from_file.failures == sum(1 for x in excess if x > 0) and from_file.first_failures[0].file == str(path)
    assert [f.row for f in from_file.first_failures] == [i for i in range(5) if excess[i] > 0]
    pq.write_table(table, tmp_path / "other.parquet")  # not the build's file (no metadata): refused, not misread
    with pytest.raises(BundleError, match="not a valid user file"):
        check_user_file(str(tmp_path / "other.parquet"), terms)


def test_a_user_table_whose_lists_disagree_with_its_mask_is_refused():
    terms = collateral_terms([("A", 0), ("B", 0)], {"A": 1, "B": 1}, {"A": 1, "B": 1})
    table = user_table([{0: (1, 0)}, {0: (1, 0), 1: (0, 1)}], 2)
    lying = table.set_column(1, "held", pa.array([b"\x03", b"\x03"], pa.binary(1)))
    with pytest.raises(AuditError, match="row 0: 1 amounts for 2 held assets"):
        check_table(lying, terms)
    short = table.set_column(2, "amounts", pa.array([[b"\x00" * 32], [b"\x00" * 32, b"\x00" * 31]],
                                                    pa.list_(pa.binary())))
    with pytest.raises(AuditError, match="not 32 bytes"):
        check_table(short, terms)
    with pytest.raises(AuditError, match="no amounts column"):
        check_table(table.drop_columns(["amounts"]), terms)


# ------------------------------------------------------------------ positions: net liabilities, both ratios


def test_net_liabilities_and_both_ratios_are_exact():
    p = AssetPosition("BTC", 8, liabilities=300, reserves=200, debt=100)
    assert (p.net, p.ratio, p.gross_ratio, p.flagged, p.status) == (200, "100.00", "66.66", False, "ok")
    p = AssetPosition("BTC", 8, liabilities=300, reserves=199, debt=100)
    assert (p.ratio, p.gross_ratio, p.flagged, p.status) == ("99.50", "66.33", True, "under-100-percent")
    p = AssetPosition("BTC", 8, liabilities=2**128 - 1, reserves=2**128 - 3, debt=1)  # net 2^128 - 2
    assert (p.ratio, p.flagged) == ("99.99", True)
    assert AssetPosition("X", 0, 3, 2, 0).as_json()["ratio_percent"] == AssetPosition("X", 0, 3, 2).ratio == "66.66"


@pytest.mark.parametrize("equity, debt, reserves, status", [
    (100, 100, 0, "net-debt"), (100, 150, 7, "net-debt"), (0, 5, 0, "net-debt"),
    (0, 0, 5, "reserves-only"), (0, 0, 0, "neither"), (10, 4, 0, "liabilities-only")])
def test_net_liabilities_of_zero_or_below_have_no_net_ratio(equity, debt, reserves, status):
    p = AssetPosition("ETH", 18, equity, reserves, debt)
    doc = p.as_json()
    assert doc["status"] == status and doc["net_liabilities"] == str(equity - debt)
    if equity - debt <= 0:
        assert doc["ratio_percent"] is None and not doc["flagged"]
    assert doc["gross_ratio_percent"] == (None if equity == 0 else f"{reserves * 10_000 // equity // 100}."
                                          f"{reserves * 10_000 // equity % 100:02d}")
    assert doc["net_liabilities_units"] == ("-" if equity < debt else "") + f"0.{abs(equity - debt):018d}"


def test_a_por_v2_position_is_written_as_before():
    assert set(AssetPosition("X", 0, 3, 2).as_json()) == {
        "symbol", "decimals", "liabilities", "reserves", "liabilities_units", "reserves_units", "ratio_percent",
        "status", "flagged"}


# ------------------------------------------------------------------ report.json and its re-derivation (unit level)


from blake3 import blake3  # noqa: E402

from pipeline.formats.canonical import canonical_json  # noqa: E402
from pipeline.formats.haircuts import Haircuts  # noqa: E402
from pipeline.formats.prices import Prices  # noqa: E402
from pipeline.protocol.keys import SecretKey  # noqa: E402
from pipeline.publication import recheck  # noqa: E402
from pipeline.publication.history import refold_top_tree  # noqa: E402
from pipeline.publication.report import (  # noqa: E402
    RENDER_VERSION,
    collateral_section,
    render_reports,
    renderer_id,
    report_doc,
    usd_figures,
)
from pipeline.reserves.input import Reserves  # noqa: E402
from pipeline.reserves.ratios import manifest_positions  # noqa: E402
from tests.support.ref_v3 import build_v3  # noqa: E402

SECRET = SecretKey(blake3(b"por-v3 report tests: a public test secret").digest())
MONTH_ASSETS = [("BTC", 8), ("ETH", 18), ("USDT", 6)]
MONTH_PRICES = Prices("test prices", "2026-11-30T23:59:59Z",
                      {"BTC": Decimal("91234.56"), "ETH": Decimal("3021.4"), "USDT": Decimal("1")})
MONTH_HAIRCUTS = Haircuts({"BTC": Decimal("0.9"), "ETH": Decimal("0.85"), "USDT": Decimal("0.95")})
SNAPSHOT = {"alice": {"BTC": (150_000_000, 0), "USDT": (0, 50_000_000_000)},
            "bob": {"ETH": (0, 2 * 10**18), "USDT": (10_000_000_000, 0)},
            "carol": {"ETH": (10**18, 0), "BTC": (0, 1)}, "dave": {}}


def v3_month(snapshot=SNAPSHOT, prices=MONTH_PRICES, haircuts=MONTH_HAIRCUTS) -> recheck.Month:
    """A por-v3 month as ``por publish`` writes it (no reserves file): the reference builder's manifest with
    the publication fields, the report, its pages."""
    build = build_v3(snapshot, MONTH_ASSETS, SECRET, "2026-11")
    manifest = {**build.manifest, "previous": None,
                "publication": {"revision": 1, "supersedes": None, "inputs": "01" * 32, "tool": "test",
                                "secret": "ab" * 16, "verifier": "cd" * 32}}
    bare = {k: v for k, v in manifest.items() if k != "files"}
    pos = manifest_positions(bare, {})
    usd = usd_figures(prices, pos, {}, None) if prices else None
    row = {**recheck.history_row(manifest, None), "ratios": {p.symbol: p.ratio for p in pos},
           "flagged": [p.symbol for p in pos if p.flagged], **({"reserves_usd": usd["total"]["reserves"]} if usd else {})}
    doc = report_doc(bare, pos, Reserves({}, 0), [row], None, usd, None, "2026-12-01T06:00:00Z", None,
                     collateral_section(haircuts))
    doc["master_secret"] = {"id": "ab" * 16, "changed": False}
    doc["renderer"] = renderer_id()
    doc = json.loads(canonical_json(doc))
    pages = render_reports(doc, pos)
    return recheck.Month("2026-11 revision 1 (2026-11)", manifest, doc, None, pages["report.md"], pages["report.html"])


def problems_of(month: recheck.Month, **kw) -> list[str]:
    return recheck.check_month(month, [], stated_prices=True, **kw)


def test_a_por_v3_report_carries_equity_debt_net_and_both_ratios_exactly():
    month = v3_month()
    assert problems_of(month) == []
    assert recheck.check_month(month, [], MONTH_PRICES, haircuts=MONTH_HAIRCUTS) == []
    rows = {r["symbol"]: r for r in month.report["assets"]}
    assert rows["BTC"] == {**rows["BTC"], "liabilities": "150000000", "debt": "1", "net_liabilities": "149999999",
                           "net_liabilities_units": "1.49999999", "ratio_percent": "0.00", "gross_ratio_percent": "0.00",
                           "status": "liabilities-only", "flagged": True}
    assert rows["ETH"]["net_liabilities"] == str(10**18 - 2 * 10**18) and rows["ETH"]["status"] == "net-debt"
    assert rows["ETH"]["ratio_percent"] is None and not rows["ETH"]["flagged"]
    assert rows["ETH"]["net_liabilities_units"] == "-1.000000000000000000"
    assert rows["USDT"]["net_liabilities"] == str(10_000_000_000 - 50_000_000_000)
    assert month.report["net_debt"] == ["ETH", "USDT"] and month.report["under_100_percent"] == ["BTC"]
    trees = {t["asset"]: t["root"] for t in month.manifest["trees"]}
    for symbol, row in rows.items():  # the figures are the trees' root sums
        assert (row["liabilities"], row["debt"]) == (trees[symbol]["equity"], trees[symbol]["debt"])
        assert int(row["net_liabilities"]) == int(row["liabilities"]) - int(row["debt"])
    usd = month.report["usd"]
    net = sum(Fraction(int(rows[s]["net_liabilities"]), 10 ** d) * Fraction(MONTH_PRICES.prices[s]) for s, d in MONTH_ASSETS)
    assert Fraction(usd["total"]["net"]) == round(net, 2)  # the exact net in dollars, rounded once
    assert usd["assets"]["USDT"]["net"] == "-40000.00" and usd["total"]["debt"] == "56042.80"  # 50000 + 2 x 3021.4 + 0.0009…
    assert month.report["collateral"]["haircuts"] == {"BTC": "0.9", "ETH": "0.85", "USDT": "0.95"}
    assert month.report["announced_value"] == month.manifest["commitment"]
    assert month.report["history"][0]["root"] == month.manifest["commitment"]
    assert month.report["history"][0]["debt"] == {s: trees[s]["debt"] for s in trees}
    assert "root" not in month.report and "tree" not in month.report
    md = month.markdown.decode()
    assert "| BTC | 1.5 | 0.00000001 | 1.49999999 | 0 |" in md and "| ETH | 1 | 2 | -1 | 0 |" in md
    assert "It is not checked by each user, and cannot be" in md and "(BTC 0.9, ETH 0.85, USDT 0.95)" in md


def test_the_report_schema_describes_a_por_v3_report():
    from tests.test_vectors import schema_validator

    validator = schema_validator("report.schema.json")
    month = v3_month()
    validator.validate(month.report)
    validator.validate(v3_month(prices=None, haircuts=None).report)
    for edit in (lambda d: d["assets"][0].__setitem__("net_liabilities", "-0"),
                 lambda d: d.pop("collateral"),
                 lambda d: d["assets"][1].pop("gross_ratio_percent"),
                 lambda d: d.__setitem__("root", {"hash": "00" * 32, "sums": ["0"]}),
                 lambda d: d["collateral"].__setitem__("haircuts", {"BTC": "1.5"}),
                 lambda d: d["usd"]["total"].__setitem__("net", "-1")):
        bad = json.loads(canonical_json(month.report))
        edit(bad)
        assert not validator.is_valid(bad)


@pytest.mark.parametrize("field, value", [
    (("assets", 0, "debt"), "0"),
    (("assets", 0, "net_liabilities"), "150000000"),
    (("assets", 2, "net_liabilities_units"), "40000.000000"),
    (("assets", 0, "gross_ratio_percent"), "100.00"),
    (("assets", 1, "status"), "ok"),
    (("net_debt",), ["ETH"]),
    (("usd", "total", "net"), "1.00"),
    (("usd", "assets", "ETH", "debt"), "0.00"),
    (("history", 0, "debt", "ETH"), "0"),
    (("trees", 0, "root", "debt"), "0"),
    (("collateral", "rule"), "checked by every user"),
    (("announced_value",), "00" * 32),
])
def test_every_por_v3_figure_is_re_derived(field, value):
    month = v3_month()
    doc = json.loads(canonical_json(month.report))
    target = doc
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    tampered = recheck.Month(month.label, month.manifest, doc, None, month.markdown, month.html)
    problems = problems_of(tampered)
    assert problems and any("signed" in p and "re-derived" in p for p in problems), problems


@pytest.mark.parametrize("haircuts, words", [
    ({"BTC": "1.5", "ETH": "0.85", "USDT": "0.95"}, "haircuts.BTC = '1.5' is not a decimal string in [0, 1]"),
    ({"BTC": "0.9", "ETH": "0.85"}, "no haircut for USDT"),
    ({"BTC": 0.9, "ETH": "0.85", "USDT": "0.95"}, "is the JSON number 0.9"),
    (None, "users owe BTC, ETH, USDT but the report states no haircuts"),
])
def test_stated_haircuts_are_held_to_the_haircuts_file_rules(haircuts, words):
    month = v3_month()
    doc = json.loads(canonical_json(month.report))
    doc["collateral"]["haircuts"] = haircuts
    problems = problems_of(recheck.Month(month.label, month.manifest, doc, None, month.markdown, month.html))
    assert any(words in p for p in problems), problems


def test_a_month_with_debt_and_no_prices_is_a_problem_and_one_without_debt_needs_no_haircuts():
    no_prices = v3_month(prices=None)
    assert any("states no prices" in p for p in problems_of(no_prices))
    owed_nothing = {u: {s: (e, 0) for s, (e, _) in h.items() if e} for u, h in SNAPSHOT.items()}
    plain = v3_month(owed_nothing, prices=None, haircuts=None)
    assert problems_of(plain) == [] and plain.report["collateral"]["haircuts"] is None
    assert "No user owes the exchange anything this month" in plain.markdown.decode()


def test_the_pages_of_a_por_v3_month_must_be_its_rendering():
    month = v3_month()
    md = month.markdown.replace(b"| ETH | 1 | 2 | -1 |", b"| ETH | 1 | 0 | 1 |")
    problems = problems_of(recheck.Month(month.label, month.manifest, month.report, None, md, month.html))
    assert problems == [f"{month.label}: report.md is not the rendering of report.json (re-rendered with render "
                        f"version {RENDER_VERSION}, the bytes differ)"]


def test_a_por_v3_top_tree_refolds_to_every_root_and_a_changed_node_is_named():
    build = build_v3(SNAPSHOT, MONTH_ASSETS, SECRET, "2026-11", bucket_bits=2)
    top, manifest = build.top_tree, build.manifest
    assert refold_top_tree(top, manifest) == []

    def changed(edit):
        doc = json.loads(canonical_json(top))
        edit(doc)
        return refold_top_tree(doc, manifest)

    def bucket(doc, key, value):
        doc["trees"][2]["levels"][0][1][key] = value

    sums = changed(lambda d: bucket(d, "debt", str(int(d["trees"][2]["levels"][0][1]["debt"]) + 1)))
    assert sums and sums[0].startswith("top-tree.json USDT level") and "its sums are not its children's sums" in sums[0]
    rehashed = changed(lambda d: d["trees"][0]["levels"][-1][0].__setitem__("hash", "00" * 32))
    assert rehashed == ["top-tree.json BTC level 13 node 0 is not the hash of its children"]  # k = 2, h = 11
    other_root = json.loads(canonical_json(manifest))
    other_root["trees"][1]["root"]["debt"] = "0"
    folded = refold_top_tree(top, other_root)
    assert folded and folded[0].startswith("top-tree.json ETH folds to")
    swapped = changed(lambda d: d["trees"].reverse())
    assert swapped and "labelled" in swapped[0]
    assert "levels of" in changed(lambda d: d["trees"][0]["levels"][0].pop())[0]
    assert "cannot be re-folded" in changed(lambda d: bucket(d, "debt", "-1"))[0]
    assert "cannot be re-folded" in changed(lambda d: bucket(d, "debt", str(2**128)))[0]
    assert "cannot be re-folded" in changed(lambda d: bucket(d, "equity", "01"))[0]


# ------------------------------------------------------------------ por publish of por-v3 months, end to end

import os  # noqa: E402
import shutil  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from pipeline.cli import app  # noqa: E402

V3_MONTHS = ("2026-10", "2026-11")
HAIRCUT_TABLE = {"BTC": "0.5", "ETH": "0.75", "USDT": "0.9"}
runner = CliRunner()


def por(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def snapshot_sums(snap: str) -> tuple[dict[str, int], dict[str, int]]:
    """(equity, debt) per asset in smallest units, read straight from the snapshot's Parquet files with
    pyarrow (positive amounts are equity, negative ones debt), independently of the pipeline's reader."""
    import pyarrow.parquet as pq

    assets = json.load(open(os.path.join(snap, "assets.json")))
    equity, debt = dict.fromkeys(assets, 0), dict.fromkeys(assets, 0)
    for name in sorted(os.listdir(snap)):
        if not name.endswith(".parquet"):
            continue
        table = pq.read_table(os.path.join(snap, name))
        for symbol, decimals in assets.items():
            for value in table.column(symbol).to_pylist():
                if value is None:
                    continue
                units = int(value * 10**decimals) if isinstance(value, Decimal) else int(value)
                if isinstance(value, Decimal):
                    assert Decimal(units) == value * 10**decimals  # exact
                equity[symbol] += max(units, 0)
                debt[symbol] += max(-units, 0)
    return equity, debt


def write_haircuts(path, table=HAIRCUT_TABLE) -> str:
    with open(path, "w") as f:
        json.dump({"format": FORMAT, "haircuts": table}, f)
    return str(path)


@pytest.fixture(scope="module")
def v3_inputs(tmp_path_factory):
    from pipeline.formats.assets import parse_assets
    from pipeline.testing.synth import write_synth, write_synth_prices, write_synth_reserves
    from tests.support.snapshots import write_secret

    d = tmp_path_factory.mktemp("v3-inputs")
    secret = write_secret(str(d))
    assert por("keygen", "--signing", str(d / "sign.key")).exit_code == 0
    expected = {}
    for i, month in enumerate(V3_MONTHS):
        snap = str(d / f"snap-{month}")
        write_synth(snap, 500 + 100 * i, asset_count=3, files=2, seed=90 + i, debt_per_mille=300)
        assets = parse_assets(open(os.path.join(snap, "assets.json")).read(), "assets.json")
        equity, debt = snapshot_sums(snap)
        assert all(debt.values()) or sum(debt.values())  # users owe something
        net = {s: max(equity[s] - debt[s], 1) for s in equity}
        # reserves against the net liabilities: one asset above, one just short
        symbols = [a.symbol for a in assets]
        reserves = write_synth_reserves(str(d / f"reserves-{month}" / "wallets.parquet"), assets, net,
                                        {symbols[0]: 10_300, symbols[1]: 9_990, symbols[2]: 12_000}, seed=i)
        write_synth_prices(str(d / f"prices-{month}.json"), assets, month)
        haircuts = write_haircuts(d / f"haircuts-{month}.json", {a.symbol: ("0.5", "0.75", "0.9")[j]
                                                                  for j, a in enumerate(assets)})
        expected[month] = (equity, debt, reserves, haircuts)
    return {"dir": d, "secret": secret, "key": str(d / "sign.key"), "pub": str(d / "sign.key.pub"), "expected": expected}


def v3_publish_args(inputs, month: str, arch: str, scheduler: str, *extra: str) -> list[str]:
    d = inputs["dir"]
    return ["publish", "--period", month, "--snapshot", str(d / f"snap-{month}"), "--reserves", str(d / f"reserves-{month}"),
            "--archive", arch, "--secret-file", inputs["secret"], "--signing-key", inputs["key"], "--scheduler", scheduler,
            "--prices", str(d / f"prices-{month}.json"), "--haircuts", inputs["expected"][month][3], *extra]


@pytest.fixture(scope="module")
def v3_archive(v3_inputs, scheduler2, tmp_path_factory):
    arch = str(tmp_path_factory.mktemp("v3-archive") / "archive")
    for month in V3_MONTHS:
        result = por(*v3_publish_args(v3_inputs, month, arch, scheduler2))
        assert result.exit_code == 0, result.output
        assert "collateral OK" in result.output and f"published {month} revision 1" in result.output
    return arch


@pytest.fixture()
def v3_copy(v3_archive, tmp_path):
    target = str(tmp_path / "archive")
    shutil.copytree(v3_archive, target)
    return target


def read_doc(*parts: str):
    with open(os.path.join(*parts), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.integration
def test_a_por_v3_month_with_debt_is_published_with_exact_figures(v3_archive, v3_inputs):
    index = read_doc(v3_archive, "index.json")
    for e in index["publications"]:
        equity, debt, reserves, _ = v3_inputs["expected"][e["period"]]
        manifest = read_doc(v3_archive, e["directory"], "public", "manifest.json")
        report = read_doc(v3_archive, e["directory"], "public", "report.json")
        assert manifest["version"] == report["version"] == e["protocol"] == "por-v3"
        assert e["root"] == manifest["commitment"] == report["announced_value"]
        prices = json.load(open(v3_inputs["dir"] / f"prices-{e['period']}.json"))["prices"]
        total_net = Fraction(0)
        for row, tree in zip(report["assets"], manifest["trees"], strict=True):
            s = row["symbol"]
            assert (int(tree["root"]["equity"]), int(tree["root"]["debt"])) == (equity[s], debt[s])
            assert (int(row["liabilities"]), int(row["debt"]), int(row["reserves"])) == (equity[s], debt[s], reserves[s])
            net = equity[s] - debt[s]
            assert int(row["net_liabilities"]) == net
            assert row["ratio_percent"] == (None if net <= 0 else f"{reserves[s] * 10_000 // net // 100}."
                                                                   f"{reserves[s] * 10_000 // net % 100:02d}")
            assert row["gross_ratio_percent"] == f"{reserves[s] * 10_000 // equity[s] // 100}." \
                                                 f"{reserves[s] * 10_000 // equity[s] % 100:02d}"
            assert row["flagged"] == (reserves[s] < net)
            assert e["ratios"][s] == row["ratio_percent"] and e["liabilities"][s] == str(equity[s])
            total_net += Fraction(net, 10 ** row["decimals"]) * Fraction(prices[s])
        assert Fraction(report["usd"]["total"]["net"]) == round(total_net, 2)
        assert report["collateral"]["haircuts"] == json.load(open(v3_inputs["expected"][e["period"]][3]))["haircuts"]
        assert [h["period"] for h in report["history"]] == [m for m in V3_MONTHS if m <= e["period"]]
        assert all("debt" in h for h in report["history"])
        archived = read_doc(v3_archive, e["directory"], "inputs", "inputs.json")
        assert list(archived["haircuts"]["files"]) == ["inputs/haircuts.json"]
        md = open(os.path.join(v3_archive, e["directory"], "public", "report.md"), encoding="utf-8").read()
        assert "## Collateral" in md and "It is not checked by each user, and cannot be" in md
    assert any(r["flagged"] for r in report["assets"]) and any(not r["flagged"] for r in report["assets"])
    result = por("history", "verify", v3_archive, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 0, result.output
    assert "announced value" in result.output


@pytest.mark.integration
def test_por_v3_archive_documents_match_their_json_schemas(v3_archive):
    from tests.test_vectors import schema_validator

    index = read_doc(v3_archive, "index.json")
    schema_validator("index.schema.json").validate(index)
    for e in index["publications"]:
        for schema, parts in (("manifest-v3.schema.json", ("public", "manifest.json")),
                              ("report.schema.json", ("public", "report.json")),
                              ("inputs.schema.json", ("inputs", "inputs.json")),
                              ("haircuts.schema.json", ("inputs", "haircuts.json"))):
            schema_validator(schema).validate(read_doc(v3_archive, e["directory"], *parts))


@pytest.mark.integration
def test_a_por_v3_month_regenerates_and_every_figure_is_re_derived(v3_archive, v3_inputs, scheduler2):
    from jobs.regenerate import BUILDERS

    if "por-v3" not in BUILDERS:
        pytest.skip("jobs.regenerate.BUILDERS has no por-v3 rebuild yet (the build's part)")
    result = por("regenerate", "--all", "--archive", v3_archive, "--secret-file", v3_inputs["secret"],
                 "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output
    assert result.output.count("MATCH ") == len(V3_MONTHS) and "MISMATCH" not in result.output


def failing_snapshot(d, debtor: str) -> str:
    """A 2026-12 snapshot (and its prices) of three users: ``debtor`` owes 1 000 000.000007 USDT against
    0.01 BTC (at a haircut of 0.5: short), one debtor owes 1 000 USDT against 1 BTC (covered), one owes
    nothing."""
    from pipeline.formats.assets import Asset
    from pipeline.testing.synth import write_synth_prices
    from tests.support.snapshots import amount_array, write_assets, write_wide

    snap = str(d / "snap-failing")
    write_assets(snap, {"BTC": 8, "ETH": 18, "USDT": 6})
    ids = ["U_PLAIN_001", "U_COVERED_02", debtor]
    write_wide(os.path.join(snap, "part-00000.parquet"), ids, {
        "BTC": amount_array([10**8, 10**8, 10**6], 8, "int64"),
        "ETH": amount_array([0, 0, 0], 18, "dec128"),
        "USDT": amount_array([5 * 10**6, -10**9, -(10**12 + 7)], 6, "int64")})
    write_synth_prices(str(d / "prices-2026-12.json"), [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)], "2026-12")
    return snap


@pytest.mark.integration
def test_a_month_in_which_a_user_fails_the_collateral_rule_is_refused(v3_copy, v3_inputs, scheduler2, tmp_path):
    from tests.test_publish import tree_state

    debtor = "U_SHORT_77777"
    snap = failing_snapshot(tmp_path, debtor)
    d = v3_inputs["dir"]
    before = tree_state(v3_copy)
    args = ["publish", "--period", "2026-12", "--snapshot", snap, "--reserves", str(d / "reserves-2026-11"),
            "--archive", v3_copy, "--secret-file", v3_inputs["secret"], "--signing-key", v3_inputs["key"],
            "--scheduler", scheduler2, "--prices", str(tmp_path / "prices-2026-12.json"),
            "--haircuts", write_haircuts(tmp_path / "h.json"), "--allow-open-period"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "1 of 2 user(s) with debt fail the collateral rule" in result.output
    assert "failed at step 'audit'" in result.output and "is unchanged" in result.output
    # nothing private on the terminal: no user id, no balance, no shortfall
    for secret_text in (debtor, "U_COVERED", "1000000000007", "10000.0", "99999"):
        assert secret_text not in result.output
    after = tree_state(v3_copy)
    logs = [k for k in after if k.startswith(".logs/") and not k.endswith("/")]
    assert {k: v for k, v in after.items() if not k.startswith(".logs")} == before and len(logs) == 1
    assert logs[0].rsplit("/", 1)[-1] in result.output  # the terminal says where the log is
    path = os.path.join(v3_copy, logs[0])
    assert os.stat(path).st_mode & 0o077 == 0 and os.stat(os.path.dirname(path)).st_mode & 0o077 == 0
    log = json.load(open(path))
    assert log["period"] == "2026-12" and log["collateral"]["failures"] == 1
    assert log["collateral"]["users_with_debt"] == 2 and log["collateral"]["users_checked"] == 3
    (failure,) = log["collateral"]["first_failures"]
    assert failure["file"].startswith("private/users/") and isinstance(failure["row"], int)
    prices = json.load(open(tmp_path / "prices-2026-12.json"))["prices"]
    shortfall = Fraction(10**12 + 7, 10**6) * Fraction(prices["USDT"]) - Fraction(10**6, 10**8) * Fraction(
        prices["BTC"]) * Fraction("0.5")
    assert Fraction(failure["shortfall_usd"]) == shortfall
    # a history verify of the archive is untouched by the log
    assert por("history", "verify", v3_copy, "--public-key", v3_inputs["pub"]).exit_code == 0


@pytest.mark.integration
def test_a_month_with_debt_needs_haircuts_and_a_downgrade_is_refused(v3_copy, v3_inputs, scheduler2, tmp_path):
    from tests.test_publish import tree_state

    snap = failing_snapshot(tmp_path, "U_X")
    d = v3_inputs["dir"]
    base = ["publish", "--period", "2026-12", "--snapshot", snap, "--reserves", str(d / "reserves-2026-11"),
            "--archive", v3_copy, "--secret-file", v3_inputs["secret"], "--signing-key", v3_inputs["key"],
            "--scheduler", scheduler2, "--prices", str(tmp_path / "prices-2026-12.json"), "--allow-open-period"]
    before = tree_state(v3_copy)
    result = runner.invoke(app, base)
    assert result.exit_code == 1 and "--haircuts: is needed: users owe USDT" in result.output, result.output
    result = runner.invoke(app, [*base, "--haircuts", write_haircuts(tmp_path / "h.json", {"BTC": "0.5", "USDT": "1"})])
    assert result.exit_code == 1 and "no haircut for ETH" in result.output and "step 'validate'" in result.output
    result = runner.invoke(app, [*base, "--protocol", "por-v2"])
    assert result.exit_code == 1 and "--protocol por-v2: is older than por-v3" in result.output, result.output
    assert tree_state(v3_copy) == before


def resign_report(arch: str, month: str, key: str, change) -> None:
    """What a publisher holding the signing key can do: change the report, render its pages again, sign."""
    from tests.test_recheck import resign

    doc = read_doc(arch, month, "public", "report.json")
    change(doc)
    pos = [AssetPosition(r["symbol"], r["decimals"], int(r["liabilities"]), int(r["reserves"]), int(r["debt"]))
           for r in doc["assets"]]
    files = render_reports(json.loads(canonical_json(doc)), pos)
    resign({"archive": arch, "key": key}, month, {name: (lambda _, data=data: data) for name, data in files.items()})


@pytest.mark.integration
def test_tampered_haircuts_are_caught(v3_copy, v3_inputs, scheduler2, tmp_path):
    month = V3_MONTHS[-1]
    # 1. the archived input changed: history verify (the archive holds the inputs) and regenerate say so
    path = os.path.join(v3_copy, month, "inputs", "haircuts.json")
    os.chmod(path, 0o600)
    write_haircuts(path, {**HAIRCUT_TABLE, "BTC": "0.99"})
    result = por("history", "verify", v3_copy, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 1 and "inputs/haircuts.json: blake3" in result.output and "differs from the recorded" \
        in result.output, result.output
    from jobs.regenerate import BUILDERS

    if "por-v3" in BUILDERS:  # the inputs are checked before any rebuild
        result = por("regenerate", "--period", month, "--archive", v3_copy, "--secret-file", v3_inputs["secret"],
                     "--scheduler", scheduler2)
        assert result.exit_code == 1 and "MISMATCH" in result.output and "inputs/haircuts.json" in result.output


@pytest.mark.integration
def test_re_signed_haircuts_are_caught(v3_copy, v3_inputs, scheduler2, tmp_path):
    month = V3_MONTHS[-1]
    # 2. a publisher holding the key re-signs the report with a kinder table: the archived input says otherwise
    symbols = list(HAIRCUT_TABLE)
    resign_report(v3_copy, month, v3_inputs["key"],
                  lambda doc: doc["collateral"].__setitem__("haircuts", dict.fromkeys(symbols, "1")))
    result = por("history", "verify", v3_copy, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 1 and "the report's haircuts (collateral.haircuts) are not the archived " \
        "inputs/haircuts.json's" in result.output, result.output
    # a public mirror (public/ only) cannot know the table was another; an impossible table it refuses
    mirror = str(tmp_path / "mirror")
    shutil.copytree(v3_copy, mirror, ignore=shutil.ignore_patterns("inputs", "private"))
    assert por("history", "verify", mirror, "--public-key", v3_inputs["pub"]).exit_code == 0
    resign_report(mirror, month, v3_inputs["key"],
                  lambda doc: doc["collateral"].__setitem__("haircuts", dict.fromkeys(symbols, "1.25")))
    result = por("history", "verify", mirror, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 1 and "= '1.25' is not a decimal string in [0, 1]" in result.output, result.output
    resign_report(mirror, month, v3_inputs["key"], lambda doc: doc["collateral"].__setitem__("haircuts", None))
    result = por("history", "verify", mirror, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 1 and "the report states no haircuts" in result.output, result.output


@pytest.mark.integration
def test_re_signed_por_v3_figures_are_named(v3_copy, v3_inputs):
    month = V3_MONTHS[-1]

    def kinder(doc):
        row = doc["assets"][1]
        row["net_liabilities"] = str(int(row["net_liabilities"]) // 2)
        row["flagged"] = False

    resign_report(v3_copy, month, v3_inputs["key"], kinder)
    result = por("history", "verify", v3_copy, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 1, result.output
    symbol = read_doc(v3_copy, month, "public", "report.json")["assets"][1]["symbol"]
    assert f"report.json assets[{symbol}].net_liabilities: signed" in result.output
    assert f"report.json assets[{symbol}].flagged: signed false, re-derived true" in result.output


@pytest.mark.integration
def test_a_re_signed_por_v3_manifest_whose_commitment_is_not_its_fields_is_named(v3_copy, v3_inputs):
    from tests.test_recheck import resign

    month = V3_MONTHS[-1]

    def inflate(manifest):  # more debt owed by users in BTC: more net assets; C left as it was
        tree = manifest["trees"][0]
        tree["root"]["debt"] = str(int(tree["root"]["debt"]) + 10**8)

    resign({"archive": v3_copy, "key": v3_inputs["key"]}, month, {}, inflate)
    result = por("history", "verify", v3_copy, "--public-key", v3_inputs["pub"])
    assert result.exit_code == 1, result.output
    assert "is not the value of its own fields" in result.output
    assert "top-tree.json BTC folds to" in result.output


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from tests.support.browser import chromium_driver
    from tests.support.install import required

    d = required("Chromium (headless browser)", lambda: chromium_driver(str(tmp_path_factory.mktemp("chromium-profile"))))
    yield d
    d.quit()


@pytest.mark.integration
@pytest.mark.e2e
def test_the_por_v3_report_page_in_headless_chromium(v3_archive, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from pipeline.formats import numbers

    directory = os.path.join(v3_archive, V3_MONTHS[-1], "public")
    report = read_doc(directory, "report.json")
    driver.get(f"file://{os.path.join(directory, 'report.html')}")
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert driver.find_element(By.ID, "announced").text == report["announced_value"]
    heads = [h.text.replace("\n", " ") for h in driver.find_elements(By.CSS_SELECTOR, "#assets thead th")]
    assert heads[:8] == ["Asset", "Owed to users", "Owed by users", "Net liabilities", "Reserves", "Ratio (bound)",
                         "Ratio (net)", "Ratio (gross)"]

    def signed(value: str, decimals: int) -> str:
        v = int(value)
        return f"-{numbers.amount(-v, decimals)}" if v < 0 else numbers.amount(v, decimals)

    shown = [(r.get_attribute("data-symbol"), *(r.find_element(By.CSS_SELECTOR, f"td.{c}").text
                                                for c in ("liabilities", "debt", "net", "ratio", "ratio-gross")),
              "flagged" in (r.get_attribute("class") or ""))
             for r in driver.find_elements(By.CSS_SELECTOR, "#assets tbody tr")]
    assert shown == [(a["symbol"], numbers.amount(int(a["liabilities"]), a["decimals"]),
                      numbers.amount(int(a["debt"]), a["decimals"]), signed(a["net_liabilities"], a["decimals"]),
                      numbers.ratio(a["ratio_percent"]), numbers.ratio(a["gross_ratio_percent"]), a["flagged"])
                     for a in report["assets"]]
    # every digit on hover
    cell = driver.find_element(By.CSS_SELECTOR, "#assets tbody tr td.net")
    assert cell.get_attribute("title") == report["assets"][0]["net_liabilities_units"]
    trees = driver.find_elements(By.CSS_SELECTOR, "#trees tbody tr")
    assert [r.get_attribute("data-symbol") for r in trees] == [t["asset"] for t in report["trees"]]
    assert [r.find_element(By.TAG_NAME, "code").text for r in trees] == [t["root"]["hash"] for t in report["trees"]]
    words = " ".join(p.text for p in driver.find_elements(By.CSS_SELECTOR, "p.collateral"))
    assert "checked this rule for every user" in words and "It is not checked by each user" in words
    for symbol, cut in report["collateral"]["haircuts"].items():
        assert f"{symbol} {cut}" in words
    assert "of net liabilities" in driver.find_element(By.ID, "headline").text
