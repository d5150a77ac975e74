"""`por reserves check-balances` against a real EVM node (anvil from npm, on 127.0.0.1) with an
ERC-20 deployed by the test, and against a STAND-IN Bitcoin Core JSON-RPC server (no Bitcoin node
can be installed from the registries here; see tests/support/bitcoind_standin.py)."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.ownership.evm import checksum_address
from tests.support.install import required

pytestmark = pytest.mark.integration


def por(*args: str):
    return CliRunner().invoke(app, list(args))


def write_reserves(path, rows, balance_type=pa.decimal128(38, 18)):
    """rows: (chain, address, asset, balance, height)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(pa.table({
        "chain": pa.array([r[0] for r in rows], pa.string()),
        "address": pa.array([r[1] for r in rows], pa.string()),
        "asset": pa.array([r[2] for r in rows], pa.string()),
        "balance": pa.array([r[3] for r in rows], balance_type),
        "height": pa.array([r[4] for r in rows], pa.int64()),
    }), path)


def results(path):
    return [json.loads(line) for line in open(path).read().splitlines()]


@pytest.fixture(scope="module")
def evm_chain():
    """anvil with an ERC-20; balances set before the snapshot block, then moved after it."""
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", Anvil)
    try:
        acc = node.accounts
        token = node.deploy_token(10**15)
        fresh = [checksum_address(os.urandom(20)) for _ in range(3)]
        node.send(acc[0], fresh[0], 5 * 10**18 + 1)
        node.send(acc[0], fresh[1], 12_345)
        node.transfer_token(token, acc[0], fresh[1], 777_000_000)
        node.transfer_token(token, acc[0], fresh[2], 1)
        snapshot = node.height()
        node.send(acc[1], fresh[0], 10**18)  # after the snapshot: the check must not see these
        node.transfer_token(token, acc[0], fresh[2], 5)
        node.rpc("evm_mine")
        assert int(node.rpc("eth_getBalance", fresh[0], "latest"), 16) != 5 * 10**18 + 1
        yield {"node": node, "token": token, "fresh": fresh, "height": snapshot}
    finally:
        node.close()


def evm_rows(c, eth0=Decimal("5.000000000000000001")):
    f, h = c["fresh"], c["height"]
    return [("ethereum", f[0], "ETH", eth0, h),
            ("ethereum", f[1].lower(), "ETH", Decimal("0.000000000000012345"), h),
            ("ETH", f[1], "USDT", Decimal("777"), h),
            ("ethereum", f[2], "USDT", Decimal("0.000001"), h),
            ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "BTC", Decimal("1"), 900_000)]


def test_evm_balances_match_at_the_snapshot_height(tmp_path, evm_chain, scheduler2):
    """Native coin and ERC-20 (decimals read from the contract) match at the snapshot block, though
    the balances moved after it; a chain without a node is unchecked, not a failure."""
    c = evm_chain
    write_reserves(str(tmp_path / "r" / "a.parquet"), evm_rows(c))
    out = tmp_path / "balances.jsonl"
    result = por("reserves", "check-balances", str(tmp_path / "r"), "--rpc", f"ethereum={c['node'].url}",
                 "--token", f"USDT@ethereum={c['token']}", "--out", str(out), "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output
    assert "5 rows: 4 match, 0 mismatch, 1 unchecked, 0 error" in result.output
    rows = results(out)
    assert [r["status"] for r in rows] == ["match"] * 4 + ["unchecked"]
    assert rows[0]["published"] == rows[0]["on-chain"] == str(5 * 10**18 + 1)
    assert rows[2]["published"] == rows[2]["on-chain"] == "777000000"
    assert all(r["height"] == c["height"] for r in rows[:4])
    assert "no node given for bitcoin" in rows[4]["reason"]
    assert "USDT: published 777.000001, checked 777.000001, matching 777.000001" in result.output
    assert set(rows[0]) == {"row", "file", "chain", "address", "asset", "height", "published", "on-chain", "status", "reason"}


def test_one_unit_more_is_a_mismatch_naming_the_row(tmp_path, evm_chain, scheduler2):
    c = evm_chain
    write_reserves(str(tmp_path / "r" / "a.parquet"), evm_rows(c, eth0=Decimal("5.000000000000000002")))
    out = tmp_path / "balances.parquet"
    result = por("reserves", "check-balances", str(tmp_path / "r"), "--rpc", f"ethereum={c['node'].url}",
                 "--token", f"USDT@ethereum={c['token']}", "--out", str(out), "--scheduler", scheduler2)
    assert result.exit_code == 1, result.output
    assert f"MISMATCH row 0 (file://{tmp_path}" in result.stderr and "published 5000000000000000002, on chain 5000000000000000001" in result.stderr
    table = pq.read_table(out).to_pylist()
    assert (table[0]["status"], table[0]["published"], table[0]["on-chain"]) == ("mismatch", "5000000000000000002", "5000000000000000001")
    assert [r["status"] for r in table[1:4]] == ["match"] * 3


def test_published_csv_layout_and_rows_that_cannot_be_checked(tmp_path, evm_chain, scheduler2):
    """The exchange CSV layout gives the same statuses; a height beyond the node's head, a row without
    height, a token without a contract, an address that does not decode: errors or unchecked, named."""
    c = evm_chain
    f, h = c["fresh"], c["height"]
    lines = ["coin,snapshot height,amount", f"ETH,{h},5.000000000000000001", "",
             "coin,network,snapshot height,address,amount,message,signature1,signature2,redeem script/ public key,eoa1,eoa2",
             f"ETH,ethereum,{h},{f[0]},5.000000000000000001,,,,,,",
             f"USDT,ethereum,{h},{f[1]},777,,,,,,",
             f"ETH,ethereum,{h + 1000},{f[1]},0.000000000000012345,,,,,,",
             f"ETH,ethereum,,{f[2]},0,,,,,,",
             f"USDC,ethereum,{h},{f[2]},1,,,,,,",
             f"ETH,ethereum,{h},0x{'zz' * 20},1,,,,,,"]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "b.jsonl"
    result = por("reserves", "check-balances", str(tmp_path / "r.csv"), "--format", "okx-csv",
                 "--rpc", f"ethereum={c['node'].url}", "--token", f"USDT@ethereum={c['token']}", "--out", str(out),
                 "--scheduler", scheduler2)
    assert result.exit_code == 1, result.output
    rows = results(out)
    assert [r["status"] for r in rows] == ["match", "match", "error", "error", "unchecked", "error"]
    assert "beyond the node's head" in rows[2]["reason"]
    assert "no snapshot height" in rows[3]["reason"]
    assert "--token USDC@ethereum=CONTRACT" in rows[4]["reason"]
    assert "does not decode" in rows[5]["reason"]
    assert rows[0]["file"] == "line 5"


def test_a_node_that_pruned_the_block_says_an_archive_node_is_needed(tmp_path, scheduler2):
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", lambda: Anvil("--prune-history"))
    try:
        target = checksum_address(os.urandom(20))
        node.send(node.accounts[0], target, 10)
        old = node.height()
        for _ in range(5):
            node.rpc("evm_mine")
        write_reserves(str(tmp_path / "r.parquet"), [("ethereum", target, "ETH", Decimal("0.00000000000000001"), old)])
        out = tmp_path / "b.jsonl"
        result = por("reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"ethereum={node.url}",
                     "--out", str(out), "--scheduler", scheduler2)
    finally:
        node.close()
    assert result.exit_code == 1, result.output
    (row,) = results(out)
    assert row["status"] == "error" and "archive node" in row["reason"] and f"block {old}" in row["reason"]


def test_bitcoin_scan_on_the_stand_in_node(tmp_path, scheduler2):
    """STAND-IN Bitcoin Core (tests/support/bitcoind_standin.py): outputs summed per address exactly,
    transient failures retried, and a scan at another height than the snapshot's refused with how to
    rewind the node."""
    from tests.support.bitcoind_standin import BitcoindStandIn

    node = BitcoindStandIn(height=900_000)
    try:
        legacy, segwit, empty = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
        node.utxos = {legacy: [150_000_000, 1], segwit: [2_100_000_000_000_000 - 1]}
        node.busy_first, node.unavailable_first = 1, 1
        rows = [("bitcoin", legacy, "BTC", 150_000_001, 900_000), ("bitcoin", segwit.upper(), "BTC", 2_099_999_999_999_999, 900_000),
                ("btc", empty, "BTC", 0, 900_000)]
        write_reserves(str(tmp_path / "r.parquet"), rows, pa.int64())
        out = tmp_path / "b.jsonl"
        args = ["reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"bitcoin={node.url}",
                "--scheduler", scheduler2, "--out"]
        result = por(*args, str(out))
        assert result.exit_code == 0, result.output
        assert [r["status"] for r in results(out)] == ["match"] * 3
        assert results(out)[1]["on-chain"] == "2099999999999999"
        assert node.scans == [sorted([legacy, segwit, empty])]  # one scan (the busy answer and the 503 were retried)
        assert "password" not in result.output
        node.height = 900_003  # the node moved on: its scan is not the snapshot's UTXO set
        result = por(*args, str(tmp_path / "b2.jsonl"))
        assert result.exit_code == 1
        reasons = {r["reason"] for r in results(tmp_path / "b2.jsonl")}
        assert len(reasons) == 1
        (reason,) = reasons
        assert "scanned its UTXO set at height 900003, but the snapshot is at height 900000" in reason
        assert "invalidateblock" in reason and "dumptxoutset" in reason
        assert "stand-in-password" not in result.output
    finally:
        node.close()


def test_usage_errors_exit_2(tmp_path):
    assert por("reserves", "check-balances", str(tmp_path)).exit_code == 2  # no --rpc
    assert por("reserves", "check-balances", str(tmp_path), "--rpc", "solana=http://127.0.0.1:1").exit_code == 2
    assert por("reserves", "check-balances", str(tmp_path), "--rpc", "nochain=http://127.0.0.1:1").exit_code == 2
    bad_token = por("reserves", "check-balances", str(tmp_path), "--rpc", "ethereum=http://127.0.0.1:1",
                    "--token", "USDT@ethereum=0xdAC17F958D2ee523a2206206994597C13D831eC7")
    assert bad_token.exit_code == 2 and "EIP-55" in bad_token.stderr


def test_publish_checks_balances_on_chain_and_records_them(tmp_path, evm_chain, scheduler2):
    """`por publish --rpc`: the month publishes when every balance matches (report.json says which
    chains were checked, at which heights); one unit off refuses the month, the archive unchanged."""
    from pipeline.synth import write_synth
    from tests.support.bitcoind_standin import BitcoindStandIn
    from tests.support.snapshots import write_secret

    c = evm_chain
    secret = write_secret(str(tmp_path))
    assert por("keygen", "--signing", str(tmp_path / "sign.key")).exit_code == 0
    snap = str(tmp_path / "snap")
    write_synth(snap, 300, asset_count=3, files=1, seed=3)  # BTC, ETH, USDT
    btc = BitcoindStandIn(height=870_000)
    try:
        btc.utxos = {"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2": [250_000_000]}
        f, h = c["fresh"], c["height"]
        rows = [("ethereum", f[0], "ETH", Decimal("5.000000000000000001"), h),
                ("ethereum", f[1], "USDT", Decimal("777"), h),
                ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "BTC", Decimal("2.5"), 870_000)]
        arch = str(tmp_path / "archive")
        args = ["publish", "--period", "2026-11", "--snapshot", snap, "--reserves", str(tmp_path / "res"),
                "--archive", arch, "--secret-file", secret, "--signing-key", str(tmp_path / "sign.key"),
                "--scheduler", scheduler2, "--rpc", f"ethereum={c['node'].url}", "--rpc", f"bitcoin={btc.url}",
                "--token", f"USDT@ethereum={c['token']}"]
        write_reserves(str(tmp_path / "bad" / "r.parquet"), [rows[0], rows[1], (*rows[2][:3], Decimal("2.50000001"), 870_000)])
        refused = por(*[a if a != str(tmp_path / "res") else str(tmp_path / "bad") for a in args])
        assert refused.exit_code == 1
        assert "1 reserve balance(s) do not match the chain: row 2 bitcoin" in refused.stderr
        assert "published 250000001, on chain 250000000" in refused.stderr
        assert not os.path.exists(arch) or not os.path.exists(os.path.join(arch, "index.json"))
        write_reserves(str(tmp_path / "res" / "r.parquet"), rows)
        result = por(*args)
        assert result.exit_code == 0, result.output + result.stderr
        assert "reserve balances on chain: 3 match, 0 mismatch, 0 unchecked, 0 error" in result.output
    finally:
        btc.close()
    report = json.load(open(os.path.join(arch, "2026-11", "public", "report.json")))
    from tests.test_vectors import schema_validator

    schema_validator("report.schema.json").validate(report)
    assert report["balances"]["result"] == "match"
    assert report["balances"]["chains"] == {
        "bitcoin": {"node": True, "heights": [870_000], "counts": {"match": 1, "mismatch": 0, "unchecked": 0, "error": 0}},
        "ethereum": {"node": True, "heights": [h], "counts": {"match": 2, "mismatch": 0, "unchecked": 0, "error": 0}}}
    assert "stand-in-password" not in json.dumps(report) and c["node"].url not in json.dumps(report)
    page = open(os.path.join(arch, "2026-11", "public", "report.html")).read()
    assert f"ethereum: 2 of 2 balances match the chain at height {h:,}." in page


def test_a_node_that_never_answers_gives_row_errors_without_its_credentials(tmp_path, scheduler2):
    """Connection refused on every attempt (retried with backoff): each row is an `error` naming the
    node by scheme, host and port only; the command exits 1; an asset whose decimals are unknown is
    not totalled (said so), never totalled as zero."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    address = checksum_address(os.urandom(20))
    write_reserves(str(tmp_path / "r.parquet"), [("ethereum", address, "ETH", Decimal("1"), 100),
                                                 ("ethereum", address, "USDT", Decimal("5"), 100)])
    out = tmp_path / "b.jsonl"
    result = por("reserves", "check-balances", str(tmp_path / "r.parquet"), "--out", str(out),
                 "--rpc", f"ethereum=http://user:hunter2@127.0.0.1:{port}/v3/KEY", "--scheduler", scheduler2)
    assert result.exit_code == 1
    rows = results(out)
    assert rows[0]["status"] == "error" and f"node http://127.0.0.1:{port} did not answer after 5 attempts" in rows[0]["reason"]
    assert rows[1]["status"] == "unchecked" and "--token USDT@ethereum=CONTRACT" in rows[1]["reason"]
    assert "hunter2" not in result.output + result.stderr and "KEY" not in result.output + result.stderr
    assert "USDT: not totalled" in result.output and "ETH: published 1, checked 0, matching 0" in result.output
