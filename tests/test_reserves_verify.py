"""`por reserves verify` and `por reserves challenge` on a real LocalCluster, on real Parquet files
and on the CSV layout a major exchange publishes; `por publish` with signed reserves end to end."""

from __future__ import annotations

import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from coincurve import PrivateKey
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.formats.assets import parse_assets
from pipeline.ownership import bitcoin as btc
from pipeline.testing import sign
from pipeline.ownership.chains import find_chain
from pipeline.ownership.challenge import challenge_text
from pipeline.testing.synth import snapshot_totals, write_synth, write_synth_reserves
from tests.support.snapshots import write_secret

pytestmark = pytest.mark.integration
EXCHANGE = "Test Exchange"
BTC = find_chain("bitcoin")


def por(*args: str):
    return CliRunner().invoke(app, list(args))


def write_rows(path, rows):
    cols = ("chain", "address", "asset", "balance", "signatures", "message")
    table = pa.table({
        "chain": pa.array([r[0] for r in rows], pa.string()),
        "address": pa.array([r[1] for r in rows], pa.string()),
        "asset": pa.array([r[2] for r in rows], pa.string()),
        "balance": pa.array([r[3] for r in rows], pa.int64()),
        "signatures": pa.array([r[4] for r in rows], pa.list_(pa.string())),
        "message": pa.array([r[5] if len(r) > 5 else None for r in rows], pa.string()),
    })
    assert table.column_names == list(cols)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path)


def test_one_wallet_spelled_five_ways_is_never_counted_twice(tmp_path, scheduler2):
    """The outside test: one 1.5 BTC wallet listed five times (upper case, a trailing space,
    `Bitcoin` vs `bitcoin`, a zero-width space): every copy after the first is invalid, named."""
    challenge = challenge_text(EXCHANGE, "2026-11", None)
    k = PrivateKey(b"\x07" * 32)
    address = sign.bitcoin_address(BTC, k, btc.P2WPKH)
    sig = sign.sign_bitcoin(BTC, k, challenge, btc.P2WPKH)
    spellings = [("bitcoin", address), ("bitcoin", address.upper()), ("bitcoin", address + " "),
                 ("Bitcoin", address), ("bitcoin", address[:4] + "\u200b" + address[4:])]
    write_rows(str(tmp_path / "res" / "r.parquet"), [(c, a, "BTC", 150_000_000, [sig]) for c, a in spellings])
    out = tmp_path / "results.jsonl"
    result = por("reserves", "verify", str(tmp_path / "res"), "--challenge", challenge, "--out", str(out),
                 "--scheduler", scheduler2)
    assert result.exit_code == 1, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["bound", "invalid", "invalid", "invalid", "invalid"]
    assert "the same wallet as row 0" in rows[1]["reason"] and "the same wallet as row 0" in rows[3]["reason"]
    assert "surrounding spaces" in rows[2]["reason"] and "U+200B" in rows[4]["reason"]
    assert "1 bound" in result.output and "INVALID row 1" in result.stderr


def test_statuses_counts_and_results_file_on_synth_reserves(tmp_path, scheduler2):
    from pipeline.formats.assets import Asset

    assets = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)]
    challenge = por("reserves", "challenge", "--period", "2026-11", "--exchange", EXCHANGE).stdout.strip()
    assert challenge == challenge_text(EXCHANGE, "2026-11", None)
    write_synth_reserves(str(tmp_path / "res" / "w.parquet"), assets, {a.symbol: 10 ** (a.decimals + 2) for a in assets},
                         {a.symbol: 10_000 for a in assets}, seed=3, challenge=challenge, fixed_sentence_rows=1,
                         showcase=True)
    out = tmp_path / "r.parquet"
    result = por("reserves", "verify", str(tmp_path / "res"), "--period", "2026-11", "--exchange", EXCHANGE,
                 "--out", str(out), "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output
    assert "9 rows: 6 bound, 1 unbound, 0 invalid, 1 missing, 1 unsupported" in result.output
    table = pq.read_table(out)
    assert table.column_names == ["row", "file", "chain", "address", "asset", "status", "reason", "note"]
    assert table.column("status").to_pylist().count("bound") == 6
    # another exchange's challenge binds nothing: the rows signed over ours are invalid for it
    other = por("reserves", "verify", str(tmp_path / "res"), "--period", "2026-11", "--exchange", "Other",
                "--scheduler", scheduler2)
    assert other.exit_code == 1 and "6 invalid" in other.output
    # usage errors exit 2
    assert por("reserves", "verify", str(tmp_path / "res"), "--period", "2026-11").exit_code == 2
    assert por("reserves", "verify", str(tmp_path / "res"), "--format", "xls").exit_code == 2
    assert por("reserves", "verify", str(tmp_path / "res"), "--out", "x.csv").exit_code == 2
    assert por("reserves", "verify", str(tmp_path / "res"), "--challenge", "x", "--period", "2026-11",
               "--exchange", "E").exit_code == 2
    # the results file is never overwritten
    again = por("reserves", "verify", str(tmp_path / "res"), "--out", str(out), "--scheduler", scheduler2)
    assert again.exit_code == 1 and "already exists" in again.output


OKX_TON_ROW = ("USDT-TON,TON,43716515,UQB1CKrUWm7qf41Z1GeEE6AgVVj5cH6y6x1aRmWe6q4mj1fn,170.479995,I am an OKX address,"
               "0x6c5b3b11b8d4a7b356cb4e4e4a960e476d05b52824a62ef961054617b401f157ef6c01c537f3751c22ba018f97b067d508b455f6cb"
               "df757a64ca2571e76dc004,,6711ba8eaa47855b01d73e3849cd93861b1c11d7a86ae5fb8f96bb63d9be5a6b,,\n")
"""A row of the example file a major exchange publishes with its verifier (okx/proof-of-reserves,
example/okx_por_example.csv): a highload v3 wallet's key signing its fixed sentence over its framing."""


def test_okx_csv_layout_with_totals_block(tmp_path, scheduler2):
    k = PrivateKey(b"\x09" * 32)
    eth = sign.evm_address(k)
    fixed = "I am an OKX address"
    sig = sign.sign_evm(k, fixed, variant="keccak")
    btc_key = PrivateKey(b"\x0a" * 32)
    btc_address = sign.bitcoin_address(BTC, btc_key, btc.P2PKH)
    btc_sig = sign.sign_bitcoin(BTC, btc_key, fixed)
    body = ("coin,snapshot height,amount\nETH(ALL),-,1.5\nETH,20914735, 1.5000\nBTC,763861,2.0\n\n"
            "coin,Network,Snapshot Height,address,amount,message,signature1,signature2,redeem script/ public key, eoa1, eoa2\n"
            f"ETH,ETH,20914735,{eth},1.5,{fixed},{sig},,,,\n"
            f"BTC,BTC,763861,{btc_address},2.0,{fixed},{btc_sig},,,,\n"
            "USDT-NEAR,NEAR,43716515,okx-reserve.near,170.479995,I am an OKX address,"
            "0x6c,,6711,,\n" + OKX_TON_ROW)
    path = tmp_path / "okx.csv"
    path.write_text(body)
    result = por("reserves", "verify", str(path), "--format", "okx-csv", "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output
    assert "4 rows: 0 bound, 3 unbound, 0 invalid, 0 missing, 1 unsupported" in result.output
    assert "TOTALS DISAGREE" not in result.stderr
    path.write_text(body.replace("BTC,763861,2.0\n\n", "BTC,763861,2.5\n\n"))
    off = por("reserves", "verify", str(path), "--format", "okx-csv", "--scheduler", scheduler2)
    assert "TOTALS DISAGREE: totals block line 4: BTC is 2.5, the rows add up to 2.0" in off.stderr
    # with a type column after coin
    typed = body.replace("coin,Network", "coin,type,Network").replace("ETH,ETH,", "ETH,hot,ETH,").replace(
        "BTC,BTC,", "BTC,cold,BTC,").replace("USDT-NEAR,NEAR", "USDT-NEAR,hot,NEAR").replace("USDT-TON,TON", "USDT-TON,hot,TON")
    path.write_text(typed)
    assert "3 unbound" in por("reserves", "verify", str(path), "--format", "okx-csv", "--scheduler", scheduler2).output
    # a malformed file is refused by line
    path.write_text(body.replace(f"{eth},1.5,", f"{eth},1.5e3,"))
    bad = por("reserves", "verify", str(path), "--format", "okx-csv", "--scheduler", scheduler2)
    assert bad.exit_code == 1 and "line 7" in bad.output and "1.5e3" in bad.output


def test_publish_with_signed_reserves(tmp_path, scheduler2):
    """A month with bound reserves publishes them (public CSV and Parquet in the manifest, both ratios
    labelled); `por reserves verify` on the published CSV gives the same statuses; a month with one
    flipped signature is refused with the archive unchanged."""
    secret = write_secret(str(tmp_path))
    assert por("keygen", "--signing", str(tmp_path / "sign.key")).exit_code == 0
    snap = str(tmp_path / "snap")
    write_synth(snap, 400, asset_count=3, files=1, seed=5)
    assets = parse_assets(open(os.path.join(snap, "assets.json")).read(), "assets.json")
    challenge = challenge_text(EXCHANGE, "2026-11", None)
    write_synth_reserves(str(tmp_path / "res" / "w.parquet"), assets, snapshot_totals(snap),
                         {a.symbol: 10_500 for a in assets}, seed=1, challenge=challenge, fixed_sentence_rows=1)
    arch = str(tmp_path / "archive")
    args = ["publish", "--period", "2026-11", "--snapshot", snap, "--reserves", str(tmp_path / "res"), "--archive", arch,
            "--secret-file", secret, "--signing-key", str(tmp_path / "sign.key"), "--scheduler", scheduler2,
            "--exchange", EXCHANGE]
    result = por(*args)
    assert result.exit_code == 0, result.output
    assert "reserve ownership: 8 bound, 1 unbound, 0 invalid" in result.output
    public = os.path.join(arch, "2026-11", "public")
    manifest = json.load(open(os.path.join(public, "manifest.json")))
    assert {"reserves.csv", "reserves.parquet"} <= set(manifest["files"])
    report = json.load(open(os.path.join(public, "report.json")))
    assert report["ownership"]["counts"]["bound"] == 8 and report["ownership"]["challenge"] == challenge
    assert set(report["bound_ratios"]) == {a.symbol for a in assets}
    assert any(report["bound_ratios"][p["symbol"]] != p["ratio_percent"] for p in report["assets"])
    assert "Ratio (bound)" in open(os.path.join(public, "report.md")).read()
    published = pq.read_table(os.path.join(public, "reserves.parquet")).column("status").to_pylist()
    out = tmp_path / "again.jsonl"
    again = por("reserves", "verify", os.path.join(public, "reserves.csv"), "--format", "okx-csv",
                "--period", "2026-11", "--exchange", EXCHANGE, "--archive", arch, "--out", str(out),
                "--scheduler", scheduler2)
    assert again.exit_code == 0, again.output
    assert [json.loads(line)["status"] for line in out.read_text().splitlines()] == published
    assert por("history", "verify", arch, "--public-key", str(tmp_path / "sign.key.pub")).exit_code == 0
    regen = ["regenerate", "--period", "2026-11", "--secret-file", secret, "--scheduler", scheduler2, "--archive"]
    same = por(*regen, arch)
    assert same.exit_code == 0 and "MATCH" in same.output, same.output
    # a copy whose public address list was altered: history verify names the file; regenerate
    # re-verifies every row and names the statuses that differ from the published ones
    tampered = str(tmp_path / "tampered")
    shutil.copytree(arch, tampered)
    csv_path = os.path.join(tampered, "2026-11", "public", "reserves.csv")
    text = open(csv_path).read()
    open(csv_path, "w").write("".join(text.splitlines(keepends=True)[:-1]))  # one address dropped
    hv = por("history", "verify", tampered, "--public-key", str(tmp_path / "sign.key.pub"))
    assert hv.exit_code == 1 and "reserves.csv" in hv.output, hv.output
    pq_path = os.path.join(tampered, "2026-11", "public", "reserves.parquet")
    statuses = pq.read_table(pq_path)
    flipped = ["unbound" if i == 2 else s for i, s in enumerate(statuses.column("status").to_pylist())]
    assert flipped != statuses.column("status").to_pylist()
    pq.write_table(statuses.set_column(statuses.column_names.index("status"), "status", pa.array(flipped)), pq_path)
    differ = por(*regen, tampered)
    assert differ.exit_code == 1 and "MISMATCH" in differ.output, differ.output
    assert "reserves.parquet: 1 row(s) differ from the re-verification (row 2: status published [\"unbound\"], " \
           "re-verified [\"bound\"])" in differ.output, differ.output
    # next month: one flipped signature refuses the publication, archive unchanged
    before = sorted(os.listdir(arch)), open(os.path.join(arch, "index.json")).read()
    snap2 = str(tmp_path / "snap2")
    write_synth(snap2, 400, asset_count=3, files=1, seed=6)
    head = json.load(open(os.path.join(arch, "index.json")))["publications"][-1]["manifest"]
    next_challenge = challenge_text(EXCHANGE, "2026-12", head)
    assert por("reserves", "challenge", "--period", "2026-12", "--exchange", EXCHANGE, "--archive", arch
               ).stdout.strip() == next_challenge
    write_synth_reserves(str(tmp_path / "res2" / "w.parquet"), assets, snapshot_totals(snap2),
                         {a.symbol: 10_500 for a in assets}, seed=2, challenge=next_challenge)
    table = pq.read_table(str(tmp_path / "res2" / "w.parquet"))
    sigs = table.column("signatures").to_pylist()
    sigs[0] = [sigs[0][0][:-6] + ("AAAAA=" if not sigs[0][0].endswith("AAAAA=") else "BBBBB=")]
    table = table.set_column(table.column_names.index("signatures"), "signatures", pa.array(sigs, pa.list_(pa.string())))
    pq.write_table(table, str(tmp_path / "res2" / "w.parquet"))
    refused = por(*[a if a not in (snap, str(tmp_path / "res"), "2026-11") else
                    {snap: snap2, str(tmp_path / "res"): str(tmp_path / "res2"), "2026-11": "2026-12"}[a] for a in args],
                  "--allow-open-period")
    assert refused.exit_code == 1 and "invalid ownership proof: row 0" in refused.output
    assert (sorted(os.listdir(arch)), open(os.path.join(arch, "index.json")).read()) == before


def test_chunks_of_one_row_group_give_the_same_results_as_one_chunk(tmp_path, client2):
    """A file of one row group is split into slices across tasks: same records, same order."""
    from pipeline.cluster import client_mapper
    from pipeline.formats.assets import Asset
    from pipeline.reserves.ownership import verify_reserves

    assets = [Asset("BTC", 8), Asset("ETH", 18)]
    challenge = challenge_text(EXCHANGE, "2026-11", None)
    write_synth_reserves(str(tmp_path / "r.parquet"), assets, {a.symbol: 10 ** 20 for a in assets},
                         {a.symbol: 10_000 for a in assets}, addresses_per_asset=7, seed=4, challenge=challenge)
    mapper = client_mapper(client2)
    whole = verify_reserves(mapper, str(tmp_path / "r.parquet"), challenge, chunk_rows=1_000)
    sliced = verify_reserves(mapper, str(tmp_path / "r.parquet"), challenge, chunk_rows=3)
    assert [r["row"] for r in sliced.records] == list(range(14))
    assert sliced.records == whole.records and whole.counts()["bound"] == 14
