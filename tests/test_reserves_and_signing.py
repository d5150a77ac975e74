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


# ------------------------------------------------------------------------------------------------------
# Strict Ed25519 on the manifest signature (schemas/archive.md; schemas/reserves.md, "Ed25519")

def test_keyless_manifest_signatures_are_refused_naming_the_rule():
    """``verify_manifest_signature`` applies ``ownership.ed25519.check_strict`` before OpenSSL: each keyless
    forgery (a small-order or non-canonical A, R the identity or another small-order point, S = 0) that OpenSSL
    alone accepts, S + L, and a small-order or non-canonical R are ``VerificationError('signature')`` naming the
    rule broken; the real signature still verifies. The key objects here come straight from the raw bytes, past
    the rule ``load_public_key`` applies, so it is this check that refuses them."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from tests.test_differential import openssl_accepts, strict_signature_cases

    _, cases = strict_signature_cases()
    for c in cases:
        public_raw = bytes.fromhex(c["signature"]["public_key"])
        public = Ed25519PublicKey.from_public_bytes(public_raw)
        if c["forged"]:
            assert openssl_accepts(public_raw, bytes.fromhex(c["signature"]["signature"]), c["manifest"]), c["name"]
        if c["rule"] is None:
            verify_manifest_signature(public, c["manifest"], c["signature"], "signature.json")
            continue
        with pytest.raises(VerificationError) as err:
            verify_manifest_signature(public, c["manifest"], c["signature"], "month/signature.json")
        assert err.value.check == "signature", c["name"]
        message = str(err.value)
        assert message.startswith("signature: month/signature.json: ") and c["rule"] in message, (c["name"], message)
        assert "strict Ed25519, schemas/reserves.md" in message


def test_a_public_key_file_that_breaks_the_rule_is_refused_when_read(tmp_path):
    """``load_public_key`` (every ``--public-key``) refuses a small-order or non-canonical key with the check the
    other verifiers name (``signature``), naming the file and the rule (``por verify``: tests/test_differential.py);
    a command that reads the key outside a verification (``history verify``) exits 1 with that one line."""
    from pipeline.ownership.ed25519 import SMALL_ORDER
    from tests.test_differential import ED25519_P, IDENTITY, spki_pem

    bad = {f"small-order {p.hex()[:8]}": (p, "a small-order Ed25519 point") for p in sorted(SMALL_ORDER)}
    bad["y = p + 1"] = ((ED25519_P + 1).to_bytes(32, "little"), "not a canonical Ed25519 point encoding (y >= p)")
    bad["negative zero"] = (IDENTITY[:31] + b"\x80", "not a canonical Ed25519 point encoding (negative zero)")
    paths = {}
    for name, (raw, rule) in bad.items():
        path = paths[name] = tmp_path / f"{name.replace(' ', '-')}.pem"
        path.write_text(spki_pem(raw))
        with pytest.raises(VerificationError) as err:
            load_public_key(str(path))
        assert err.value.check == "signature", name
        assert f"public key {path}: the public key is {rule}" in str(err.value), (name, str(err.value))
    key = paths[f"small-order {IDENTITY.hex()[:8]}"]
    result = runner.invoke(app, ["history", "verify", str(tmp_path / "archive"), "--public-key", str(key)])
    assert result.exit_code == 1 and "the public key is a small-order Ed25519 point" in result.output, result.output
    assert len(result.output.splitlines()) == 1 and str(key) in result.output


def test_keygen_signing_keys_keep_the_strict_rule(tmp_path):
    """``por keygen --signing`` cannot write a key the rule refuses (A = s·B with a clamped s has the group's large
    prime order): every key it writes loads through ``load_public_key`` and its signatures pass ``check_strict``."""
    from pipeline.ownership.ed25519 import check_strict
    from pipeline.publication.signing import RAW

    manifest = {"period": "2026-01", "root": {"hash": "00" * 32, "sums": ["1"]}}
    for i in range(16):
        path = str(tmp_path / f"k{i}")
        assert runner.invoke(app, ["keygen", "--signing", path]).exit_code == 0
        public = load_public_key(path + ".pub")
        signature = sign_manifest(load_signing_key(path), manifest)
        check_strict(public.public_bytes(*RAW), bytes.fromhex(signature["signature"]))
        verify_manifest_signature(public, manifest, signature, path)


def test_the_strict_signature_check_needs_no_exchange_extra(tmp_path):
    """The light install (no ``base58``, no build stack) checks manifest signatures strictly too:
    ``publication.signing`` imports the rule from ``ownership.ed25519`` without the address codecs."""
    import subprocess
    import sys

    from tests.test_differential import strict_signature_cases

    _, cases = strict_signature_cases()
    (tmp_path / "cases.json").write_text(json.dumps([{k: c[k] for k in ("manifest", "signature", "pem", "rule")}
                                                     for c in cases]))
    script = """
import json, sys
BLOCKED = {"base58", "numpy", "pyarrow", "pandas", "dask", "distributed", "fsspec", "coincurve", "embit", "bip322"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked in this test: " + name)
        return None
sys.meta_path.insert(0, Block())
from pipeline.errors import VerificationError
from pipeline.publication.signing import public_key_from_pem, verify_manifest_signature
for c in json.load(open(sys.argv[1])):
    try:
        verify_manifest_signature(public_key_from_pem(c["pem"].encode(), "pem"), c["manifest"], c["signature"], "sig")
        print("valid")
    except VerificationError as exc:
        print(exc.check, c["rule"] in str(exc))
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "cases.json")], capture_output=True, text=True,
                          cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["valid" if c["rule"] is None else "signature True" for c in cases]
