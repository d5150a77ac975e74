"""Reserves input, exact ratios, and Ed25519 signing keys and signatures (real files, real crypto)."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import InputError, VerificationError
from pipeline.formats.assets import Asset
from pipeline.formats.canonical import canonical_json
from pipeline.publication.signing import (
    load_public_key,
    load_signing_key,
    sign_manifest,
    verify_manifest_signature,
)
from pipeline.reserves.input import load_reserves
from pipeline.reserves.ratios import AssetPosition, positions
from tests.support.snapshots import EXACT

pytestmark = pytest.mark.integration

ASSETS = [Asset("BTC", 8), Asset("ETH", 18)]
runner = CliRunner()


def write(path, **columns):
    pq.write_table(pa.table(columns), str(path))
    return str(path)


def rows(chains, addresses, assets, balance):
    return {"chain": pa.array(chains, pa.string()), "address": pa.array(addresses, pa.string()),
            "asset": pa.array(assets, pa.string()), "balance": balance}


def test_integer_and_decimal_balances_are_exact(tmp_path):
    d = tmp_path / "reserves"
    d.mkdir()
    write(d / "a.parquet", **rows(["bitcoin", "bitcoin"], ["bc1q", "bc1r"], ["BTC", "BTC"],
                                  pa.array([1, 2**62], pa.uint64())))
    big = Decimal("123456789012345678.123456789012345678")  # 36 significant digits: a float would lose them
    write(d / "b.parquet", **rows(["ethereum"], ["0xabc"], ["ETH"], pa.array([big], pa.decimal128(38, 18))),
          signatures=pa.array([["0xsig"]], pa.list_(pa.string())), message=pa.array(["I own 0xabc"], pa.string()))
    r = load_reserves(str(d), ASSETS)
    assert r.totals == {"BTC": 1 + 2**62, "ETH": 123456789012345678123456789012345678}
    assert (r.addresses, r.per_asset_addresses) == (3, {"BTC": 2, "ETH": 1})
    assert r.amounts == [("BTC", 1), ("BTC", 2**62), ("ETH", 123456789012345678123456789012345678)]


@pytest.mark.parametrize("case, columns, message", [
    ("float", rows(["btc"], ["a"], ["BTC"], pa.array([1.5], pa.float64())), "floating-point type double"),
    ("duplicate", rows(["btc", "btc"], ["a", "a"], ["BTC", "BTC"], pa.array([1, 2], pa.int64())),
     "row 1: duplicate (chain, address, asset) = ('btc', 'a', 'BTC'); first seen at"),
    ("undeclared", rows(["sol"], ["a"], ["SOL"], pa.array([1], pa.int64())), "row 0: asset 'SOL' is not in the asset file"),
    ("negative", rows(["btc", "btc"], ["a", "b"], ["BTC", "BTC"], pa.array([1, -5], pa.int64())),
     "row 1: balance of BTC: negative amount -5"),
    ("null", rows(["btc", "btc"], ["a", None], ["BTC", "BTC"], pa.array([1, 1], pa.int64())), "row 1: null address"),
    ("empty", rows(["btc"], [" "], ["BTC"], pa.array([1], pa.int64())), "row 0: empty chain or address"),
    ("precision", rows(["eth"], ["a"], ["BTC"], pa.array([Decimal("0.000000001")], pa.decimal128(20, 9))),
     "more fractional digits than the asset's 8"),
    ("missing", {"chain": pa.array(["btc"]), "asset": pa.array(["BTC"]), "balance": pa.array([1])},
     "need column(s) ['address']"),
    ("unknown", {**rows(["btc"], ["a"], ["BTC"], pa.array([1])), "balanace": pa.array([1])},
     "unknown reserves column(s) ['balanace']"),
])
def test_bad_reserves_name_file_row_and_value(tmp_path, case, columns, message):
    path = write(tmp_path / f"{case}.parquet", **columns)
    with pytest.raises(InputError) as err:
        load_reserves(path, ASSETS)
    assert message in str(err.value) and path in str(err.value)


def test_total_overflow(tmp_path):
    path = write(tmp_path / "r.parquet", **rows(["btc", "btc"], ["a", "b"], ["BTC", "BTC"],
                                                 pa.array([Decimal(2**127).scaleb(-8, EXACT)] * 2, pa.decimal256(76, 8))))
    with pytest.raises(InputError, match="total of BTC overflows 2\\^128"):
        load_reserves(path, ASSETS)


def test_ratios_round_down_and_flag_exactly():
    assert AssetPosition("X", 0, 3, 2).ratio == "66.66"  # 66.666… rounded down
    assert AssetPosition("X", 0, 3, 1).ratio == "33.33"
    assert AssetPosition("X", 0, 10**30, 10**30 - 1).ratio == "99.99" and AssetPosition("X", 0, 10**30, 10**30 - 1).flagged
    assert AssetPosition("X", 0, 7, 7).ratio == "100.00" and AssetPosition("X", 0, 7, 7).status == "ok"
    assert AssetPosition("X", 0, 2**127, 2**128 - 1).ratio == "199.99"
    assert AssetPosition("X", 0, 5, 0).status == "liabilities-only" and AssetPosition("X", 0, 5, 0).flagged
    only = AssetPosition("X", 0, 0, 5)
    assert (only.ratio, only.status, only.flagged) == (None, "reserves-only", False)
    assert AssetPosition("X", 0, 0, 0).status == "neither"
    ps = positions([{"symbol": "A", "decimals": 2}, {"symbol": "B", "decimals": 0}], ["150", "0"], {"A": 100, "B": 3})
    assert [p.as_json() for p in ps] == [
        {"symbol": "A", "decimals": 2, "liabilities": "150", "reserves": "100", "liabilities_units": "1.50",
         "reserves_units": "1.00", "ratio_percent": "66.66", "status": "under-100-percent", "flagged": True},
        {"symbol": "B", "decimals": 0, "liabilities": "0", "reserves": "3", "liabilities_units": "0",
         "reserves_units": "3", "ratio_percent": None, "status": "reserves-only", "flagged": False}]


# --------------------------------------------------------------- signing


def test_keygen_signing_writes_a_key_pair_and_refuses_to_overwrite(tmp_path):
    key = str(tmp_path / "sign.key")
    result = runner.invoke(app, ["keygen", "--signing", key])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    private, public = load_signing_key(key), load_public_key(key + ".pub")
    manifest = {"period": "2026-01", "root": {"hash": "00" * 32, "sums": ["1"]}}
    verify_manifest_signature(public, manifest, sign_manifest(private, manifest), "test")
    before = open(key, "rb").read()
    again = runner.invoke(app, ["keygen", "--signing", key])
    assert again.exit_code == 1 and "already exists; refusing to overwrite" in again.output
    assert open(key, "rb").read() == before
    usage = runner.invoke(app, ["keygen", str(tmp_path / "s"), "--signing", str(tmp_path / "k")])
    assert usage.exit_code == 2
    # the key file's content never appears in errors
    with open(tmp_path / "not-a-key", "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InputError) as err:
        load_signing_key(str(tmp_path / "not-a-key"))
    assert "SECRETSECRET" not in str(err.value) and "not-a-key" in str(err.value)


def test_signature_covers_every_byte_of_the_canonical_manifest(tmp_path):
    runner.invoke(app, ["keygen", "--signing", str(tmp_path / "k")])
    private, public = load_signing_key(str(tmp_path / "k")), load_public_key(str(tmp_path / "k.pub"))
    manifest = {"period": "2026-01", "root": {"hash": "ab" * 32, "sums": ["10", "20"]}, "b": [1, 2]}
    sig = sign_manifest(private, manifest)
    reordered = json.loads(json.dumps(dict(reversed(list(manifest.items())))))
    verify_manifest_signature(public, reordered, sig, "same content, other key order")  # RFC 8785
    for changed in ({**manifest, "period": "2026-02"}, {**manifest, "root": {"hash": "ab" * 32, "sums": ["10", "21"]}}):
        with pytest.raises(VerificationError, match="signature does not match"):
            verify_manifest_signature(public, changed, sig, "x")
    with pytest.raises(VerificationError, match="signature does not match|small-order"):  # all zeros: R is small-order
        verify_manifest_signature(public, manifest, {**sig, "signature": "00" * 64}, "x")
    assert canonical_json(manifest) == b'{"b":[1,2],"period":"2026-01","root":{"hash":"' + b"ab" * 32 + b'","sums":["10","20"]}}'
