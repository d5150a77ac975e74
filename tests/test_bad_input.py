"""Every bad input: exit 1, a clear message naming what and where, and no bundle."""

from __future__ import annotations

import os
from decimal import Decimal

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.support.snapshots import EXACT, write_assets, write_secret, write_table

pytestmark = pytest.mark.integration

A = {"BTC": 8, "ETH": 18}


def wide(ids, btc, eth, btc_type=pa.int64(), eth_type=pa.decimal128(38, 18)):
    return pa.table({"user_id": pa.array(ids, pa.string()), "BTC": pa.array(btc, btc_type), "ETH": pa.array(eth, eth_type)})


def ok_table(ids=("a", "b", "c")):
    n = len(ids)
    return wide(list(ids), [1] * n, [Decimal("0.5")] * n)


def case_negative_int(d):
    write_table(f"{d}/p.parquet", wide(["a", "b"], [1, -5], [Decimal(1), Decimal(1)]))


def case_negative_decimal(d):
    write_table(f"{d}/p.parquet", wide(["a", "b"], [1, 2], [Decimal(1), Decimal("-0.1")]))


def case_float(d):
    write_table(f"{d}/p.parquet", pa.table({"user_id": ["a"], "BTC": pa.array([1.5]), "ETH": pa.array([1], pa.int64())}))


def case_fraction_digits(d):
    write_table(f"{d}/p.parquet", wide(["a"], [Decimal("0.000000001")], [Decimal(1)], btc_type=pa.decimal128(20, 10)))


def case_null_amount(d):
    write_table(f"{d}/p.parquet", wide(["a", "b"], [1, None], [Decimal(1), Decimal(1)]))


def case_null_user(d):
    write_table(f"{d}/p.parquet", wide(["a", None], [1, 2], [Decimal(1), Decimal(1)]))


def case_empty_user(d):
    write_table(f"{d}/p.parquet", wide(["a", ""], [1, 2], [Decimal(1), Decimal(1)]))


def case_nul_user(d):
    write_table(f"{d}/p.parquet", wide(["a", "b\x00c"], [1, 2], [Decimal(1), Decimal(1)]))


def case_duplicate_in_file(d):
    write_table(f"{d}/p.parquet", ok_table(("alice", "bob", "alice")))


def case_duplicate_across_files(d):
    write_table(f"{d}/p1.parquet", ok_table(("alice", "bob")))
    write_table(f"{d}/sub/p2.parquet", ok_table(("carol", "bob")))


def case_undeclared_asset(d):
    t = ok_table().append_column("DOGE", pa.array([1, 2, 3], pa.int64()))
    write_table(f"{d}/p.parquet", t)


def case_declared_missing(d):
    write_table(f"{d}/p.parquet", ok_table().drop_columns(["ETH"]))


def case_schemas_disagree(d):
    write_table(f"{d}/p1.parquet", ok_table())
    write_table(f"{d}/p2.parquet", wide(["x"], [1], [Decimal(1)], btc_type=pa.int32()))


def case_empty_dir(d):
    os.makedirs(d, exist_ok=True)


def case_zero_rows(d):
    write_table(f"{d}/p.parquet", ok_table(()))


def case_corrupt(d):
    write_table(f"{d}/p1.parquet", ok_table())
    with open(f"{d}/p2.parquet", "wb") as f:
        f.write(b"this is not parquet at all")


def case_too_big(d):
    big = Decimal(1 << 128).scaleb(-18, EXACT)
    write_table(f"{d}/p.parquet", wide(["a"], [1], [big], eth_type=pa.decimal256(76, 18)))


def case_total_overflow(d):
    half = Decimal(1 << 127).scaleb(-18, EXACT)
    write_table(f"{d}/p.parquet", wide(["a", "b"], [1, 1], [half, half], eth_type=pa.decimal256(76, 18)))


def case_long_duplicate(d):
    write_table(f"{d}/p.parquet", pa.table({"user_id": ["a", "a", "b"], "asset": ["BTC", "BTC", "ETH"],
                                            "amount": pa.array([1, 2, 3], pa.int64())}))


def case_long_undeclared(d):
    write_table(f"{d}/p.parquet", pa.table({"user_id": ["a", "b"], "asset": ["BTC", "XRP"],
                                            "amount": pa.array([1, 2], pa.int64())}))


def case_long_missing_asset(d):
    write_table(f"{d}/p.parquet", pa.table({"user_id": ["a", "b"], "asset": ["BTC", "BTC"],
                                            "amount": pa.array([1, 2], pa.int64())}))


def case_other_suffixes(d):
    write_table(f"{d}/p.parquet", ok_table())
    for name in ("x.PARQUET", "y.parq", "z.parquet.gz"):
        write_table(f"{d}/{name}", ok_table(("q", "r", "s")))


def case_link_outside(d):
    write_table(f"{d}/p.parquet", ok_table())
    outside = os.path.join(os.path.dirname(d), "elsewhere.parquet")
    write_table(outside, ok_table(("q", "r", "s")))
    os.symlink(outside, f"{d}/linked.parquet")


def case_long_user_id(d):
    write_table(f"{d}/p.parquet", ok_table(("a", "u" * 257, "c")))


def case_not_nfc_user_id(d):
    write_table(f"{d}/p.parquet", ok_table(("a", "b", "cafe\u0301")))


def case_invisible_user_id(d):
    write_table(f"{d}/p.parquet", ok_table(("a", "b\u200b", "c")))


def case_control_user_id(d):
    write_table(f"{d}/p.parquet", ok_table(("a\n", "b", "c")))


CASES = [
    (case_other_suffixes, ["neither *.parquet or *.csv data nor hidden", "x.PARQUET", "y.parq", "z.parquet.gz"]),
    (case_link_outside, ["linked.parquet is a link to", "outside the snapshot"]),
    (case_long_user_id, ["'user_id'", "row 1", "257 bytes", "more than 256"]),
    (case_not_nfc_user_id, ["'user_id'", "row 2", "NFC"]),
    (case_invisible_user_id, ["'user_id'", "row 1", "invisible format character U+200B"]),
    (case_control_user_id, ["'user_id'", "row 0", "control character U+000A"]),
    (case_negative_int, ["p.parquet", "'BTC'", "row 1", "negative amount -5"]),
    (case_negative_decimal, ["'ETH'", "row 1", "negative amount -0.1"]),
    (case_float, ["'BTC'", "floating-point"]),
    (case_fraction_digits, ["'BTC'", "row 0", "fractional digits"]),
    (case_null_amount, ["'BTC'", "row 1", "null amount"]),
    (case_null_user, ["'user_id'", "row 1", "null user_id"]),
    (case_empty_user, ["'user_id'", "row 1", "empty user_id"]),
    (case_nul_user, ["'user_id'", "row 1", "NUL"]),
    (case_duplicate_in_file, ["1 duplicate user_id", "'alice'", "p.parquet row 0", "p.parquet row 2"]),
    (case_duplicate_across_files, ["duplicate user_id", "'bob'", "p1.parquet row 1", "p2.parquet row 1"]),
    (case_undeclared_asset, ["['DOGE']", "not declared"]),
    (case_declared_missing, ["['ETH']", "no column"]),
    (case_schemas_disagree, ["schemas disagree", "p2.parquet", "BTC"]),
    (case_empty_dir, ["no *.parquet or *.csv files", "empty snapshot"]),
    (case_zero_rows, ["no rows", "empty snapshot"]),
    (case_corrupt, ["p2.parquet", "not a readable Parquet file"]),
    (case_too_big, ["'ETH'", "row 0", "not below 2^128"]),
    (case_total_overflow, ["total of asset ETH overflows 2^128"]),
    (case_long_duplicate, ["duplicate (user_id, asset) rows", "'a'"]),
    (case_long_undeclared, ["'asset'", "row 1", "'XRP' is not declared"]),
    (case_long_missing_asset, ["['ETH']", "never appear"]),
]


def run_build(tmp_path, scheduler, snap, *extra, period="2026-11", secret=None):
    out = tmp_path / "bundle"
    secret = secret or write_secret(str(tmp_path))
    args = ["build", str(snap), "--period", period, "--secret-file", secret, "--out", str(out),
            "--scheduler", scheduler, *extra]
    return CliRunner().invoke(app, args), out


def assert_no_bundle(tmp_path, out):
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging, no scratch
    assert leftovers == []


@pytest.mark.parametrize("make, expected", CASES, ids=[c[0].__name__[5:] for c in CASES])
def test_bad_snapshot_is_refused(tmp_path, scheduler2, make, expected):
    snap = tmp_path / "snap"
    write_assets(str(snap), A)
    make(str(snap))
    # a negative amount is debt in por-v3 (tests/test_snapshot_debt_csv.py); por-v2 refuses it
    extra = ("--protocol", "por-v2") if make in (case_negative_int, case_negative_decimal) else ()
    result, out = run_build(tmp_path, scheduler2, snap, *extra)
    assert result.exit_code == 1, result.output
    for fragment in expected:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert "Traceback" not in result.output
    assert_no_bundle(tmp_path, out)


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "non-empty JSON object"),
        ('{"BTC": 8, "BTC": 9, "ETH": 18}', "declared twice"),
        ('{"BTC": 8.5, "ETH": 18}', "decimals of 'BTC'"),
        ('{"BTC": -1, "ETH": 18}', "decimals of 'BTC'"),
        ('{"B TC": 8, "ETH": 18}', "asset symbol 'B TC'"),
    ],
)
def test_malformed_assets_file(tmp_path, scheduler2, content, expected):
    snap = tmp_path / "snap"
    write_table(f"{snap}/p.parquet", ok_table())
    (snap / "assets.json").write_text(content)
    result, out = run_build(tmp_path, scheduler2, snap)
    assert result.exit_code == 1
    assert "assets.json" in result.stderr and expected in result.stderr, result.stderr
    assert_no_bundle(tmp_path, out)


def test_missing_assets_file(tmp_path, scheduler2):
    snap = tmp_path / "snap"
    write_table(f"{snap}/p.parquet", ok_table())
    result, out = run_build(tmp_path, scheduler2, snap)
    assert result.exit_code == 1 and "assets.json: not found" in result.stderr
    assert_no_bundle(tmp_path, out)


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-11", "2026-11-01", "2026/11", ""])
def test_bad_period(tmp_path, scheduler2, period):
    snap = tmp_path / "snap"
    write_assets(str(snap), A)
    write_table(f"{snap}/p.parquet", ok_table())
    result, out = run_build(tmp_path, scheduler2, snap, period=period)
    assert result.exit_code == 1 and "is not YYYY-MM" in result.stderr
    assert_no_bundle(tmp_path, out)


@pytest.mark.parametrize("value", ["ab" * 31, "ab" * 33, "zz" * 32, ""])
def test_bad_secret_file(tmp_path, scheduler2, value):
    snap = tmp_path / "snap"
    write_assets(str(snap), A)
    write_table(f"{snap}/p.parquet", ok_table())
    secret = tmp_path / "bad.secret"
    secret.write_text(value)
    secret.chmod(0o600)
    result, out = run_build(tmp_path, scheduler2, snap, secret=str(secret))
    assert result.exit_code == 1 and "must hold exactly 64 hex characters" in result.stderr
    if value:
        assert value not in result.output  # the secret's content never appears in an error
    assert_no_bundle(tmp_path, out)


def test_existing_output_refused_then_forced(tmp_path, scheduler2):
    snap = tmp_path / "snap"
    write_assets(str(snap), A)
    write_table(f"{snap}/p.parquet", ok_table())
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result, _ = run_build(tmp_path, scheduler2, snap)
    assert result.exit_code == 1 and "not empty" in result.stderr
    assert (out / "precious.txt").read_text() == "keep me"
    result, _ = run_build(tmp_path, scheduler2, snap, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists() and not (out / "precious.txt").exists()


def test_usage_errors_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["build", "snap", "--period", "2026-11"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["verify", "proof.json"])
    assert result.exit_code == 2


def test_hidden_names_are_passed_over_and_listed(tmp_path, scheduler2):
    snap = tmp_path / "snap"
    write_assets(str(snap), A)
    write_table(f"{snap}/p.parquet", ok_table())
    (snap / "_SUCCESS").write_text("")
    (snap / ".p.parquet.crc").write_text("")
    result, out = run_build(tmp_path, scheduler2, snap)
    assert result.exit_code == 0, result.output
    assert "passed over (hidden names): .p.parquet.crc, _SUCCESS" in result.stderr


def test_assets_file_given_elsewhere_makes_the_one_beside_the_snapshot_unread(tmp_path, scheduler2):
    snap = tmp_path / "snap"
    write_assets(str(snap), A)
    write_table(f"{snap}/p.parquet", ok_table())
    elsewhere = write_assets(str(tmp_path / "meta"), A)
    result, out = run_build(tmp_path, scheduler2, snap, "--assets", elsewhere)
    assert result.exit_code == 1 and "assets.json" in result.stderr and "neither" in result.stderr


def test_single_input_file_must_be_parquet(tmp_path):
    from pipeline.errors import InputError
    from pipeline.reserves.input import check_reserves

    path = tmp_path / "reserves.bin"
    write_table(str(path), pa.table({"x": [1]}))
    with pytest.raises(InputError, match=r"reserves .*reserves.bin: not a \*.parquet file"):
        check_reserves(str(path))
