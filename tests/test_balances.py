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
from pipeline.errors import InputError
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


END_2026_11 = 1_796_083_200
"""2026-12-01T00:00:00Z: the snapshot time of period 2026-11."""


def _evm_chain(*extra):
    """anvil with an ERC-20; balances set before the snapshot block, then moved after it."""
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", lambda: Anvil(*extra))
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


@pytest.fixture(scope="module")
def evm_chain():
    yield from _evm_chain()


@pytest.fixture(scope="module")
def evm_chain_2026_11():
    """The same, its blocks timed two hours before the end of 2026-11 (in the snapshot window)."""
    yield from _evm_chain("--timestamp", str(END_2026_11 - 7_200))


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
    """The exchange CSV layout gives the same statuses (a row without a height takes its coin's height
    from the totals block); a height beyond the node's head, a row without any height, a token
    without a contract, an address that does not decode: errors or unchecked, named."""
    c = evm_chain
    f, h = c["fresh"], c["height"]
    lines = ["coin,snapshot height,amount", f"ETH,{h},5.000000000000000001", "",
             "coin,network,snapshot height,address,amount,message,signature1,signature2,redeem script/ public key,eoa1,eoa2",
             f"ETH,ethereum,{h},{f[0]},5.000000000000000001,,,,,,",
             f"USDT,ethereum,{h},{f[1]},777,,,,,,",
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
    assert [r["status"] for r in rows] == ["match", "match", "match", "unchecked", "error"]
    assert rows[2]["height"] == h  # no height on the row: the totals block declares ETH's
    assert "--token USDC@ethereum=CONTRACT" in rows[3]["reason"]
    assert "does not decode" in rows[4]["reason"]
    assert rows[0]["file"] == "line 5"
    # a declared height beyond the node's head; a row without any height (no declaration for it)
    write_reserves(str(tmp_path / "ahead.parquet"), [("ethereum", f[1], "ETH", Decimal("1"), h + 1000)])
    ahead = por("reserves", "check-balances", str(tmp_path / "ahead.parquet"), "--rpc", f"ethereum={c['node'].url}",
                "--out", str(tmp_path / "ahead.jsonl"), "--scheduler", scheduler2)
    assert ahead.exit_code == 1 and "beyond the node's head" in results(tmp_path / "ahead.jsonl")[0]["reason"]
    write_reserves(str(tmp_path / "none.parquet"), [("ethereum", f[1], "ETH", Decimal("1"), None)])
    none = por("reserves", "check-balances", str(tmp_path / "none.parquet"), "--rpc", f"ethereum={c['node'].url}",
               "--out", str(tmp_path / "none.jsonl"), "--scheduler", scheduler2)
    assert none.exit_code == 1 and "no snapshot height" in results(tmp_path / "none.jsonl")[0]["reason"]


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


def test_publish_checks_balances_on_chain_and_records_them(tmp_path, evm_chain_2026_11, scheduler2):
    """`por publish --rpc`: the month publishes when every balance matches (report.json says which
    chains were checked: the height, the block's hash and time, the node's chain id); one unit off
    refuses the month, the archive unchanged."""
    from pipeline.testing.synth import write_synth
    from tests.support.bitcoind_standin import BitcoindStandIn
    from tests.support.snapshots import write_secret

    c = evm_chain_2026_11
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
    block = c["node"].block(h)
    assert report["balances"]["chains"] == {
        "bitcoin": {"node": True, "heights": [870_000], "counts": {"match": 1, "mismatch": 0, "unchecked": 0, "error": 0},
                    "height": 870_000, "chain_id": "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
                    "block": {"hash": btc.block_hash(870_000), "timestamp": END_2026_11 - 3_600, "time": "2026-11-30T23:00:00Z"}},
        "ethereum": {"node": True, "heights": [h], "counts": {"match": 2, "mismatch": 0, "unchecked": 0, "error": 0},
                     "height": h, "chain_id": "1",
                     "block": {"hash": block["hash"], "timestamp": int(block["timestamp"], 16),
                               "time": report["balances"]["chains"]["ethereum"]["block"]["time"]}}}
    assert END_2026_11 - 6 * 3600 <= int(block["timestamp"], 16) <= END_2026_11
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


# ---------------------------------------------------------------- issue 20: what a malicious exchange would try

def test_a_coin_moved_between_two_blocks_is_counted_once(tmp_path, evm_chain, scheduler2):
    """A holds 1 ETH at h1, then sends it to B; listed as A at h1 and B at h2, both rows would match
    (2 ETH confirmed). One height per chain: refused, naming the file and the row, in check-balances,
    reserves verify and publish's validation; the declaration in heights.json is held too."""
    node = evm_chain["node"]
    a, b = checksum_address(os.urandom(20)), checksum_address(os.urandom(20))
    node.send(node.accounts[2], a, 10**18)
    h1 = node.height()
    node.rpc("anvil_impersonateAccount", a)
    node.send(a, b, 10**18 - 21_000 * int(node.rpc("eth_gasPrice"), 16))  # gas paid at the same price: all of it moves
    node.rpc("anvil_stopImpersonatingAccount", a)
    h2 = node.height()
    moved = int(node.rpc("eth_getBalance", b, hex(h2)), 16)
    assert int(node.rpc("eth_getBalance", a, hex(h1)), 16) == 10**18 and moved > 0
    rows = [("ethereum", a, "ETH", Decimal(10**18).scaleb(-18), h1), ("ethereum", b, "ETH", Decimal(moved).scaleb(-18), h2)]
    write_reserves(str(tmp_path / "r" / "a.parquet"), rows)
    args = ["--rpc", f"ethereum={node.url}", "--scheduler", scheduler2]
    result = por("reserves", "check-balances", str(tmp_path / "r"), *args)
    assert result.exit_code == 1, result.output
    assert f"a.parquet, row 1: ethereum at height {h2}, but" in result.output + result.stderr
    assert f"puts ethereum at height {h1}" in result.output + result.stderr
    verify = por("reserves", "verify", str(tmp_path / "r"), "--scheduler", scheduler2)
    assert verify.exit_code == 1 and f"row 1: ethereum at height {h2}" in verify.output + verify.stderr
    # the declaration: a row at another height than heights.json's is refused, whichever row it is
    (tmp_path / "r" / "heights.json").write_text(json.dumps({"eth": h2}))
    declared = por("reserves", "check-balances", str(tmp_path / "r"), *args)
    assert declared.exit_code == 1
    assert f"row 0: ethereum at height {h1}, but {tmp_path / 'r'}/heights.json puts ethereum at height {h2}" in declared.output + declared.stderr
    from pipeline.reserves.input import load_reserves
    from pipeline.formats.assets import Asset

    with pytest.raises(InputError, match=f"a.parquet, row 0: ethereum at height {h1}"):
        load_reserves(str(tmp_path / "r"), [Asset("ETH", 18)])
    # honest: both rows at one height (h2), where only B holds the coin
    write_reserves(str(tmp_path / "r" / "a.parquet"), [(*rows[0][:3], Decimal(0), h2), rows[1]])
    out = tmp_path / "honest.jsonl"
    honest = por("reserves", "check-balances", str(tmp_path / "r"), *args, "--out", str(out))
    assert honest.exit_code == 0, honest.output + honest.stderr
    assert [r["height"] for r in results(out)] == [h2, h2]


def test_a_node_on_another_chain_is_an_error_naming_the_chain(tmp_path, scheduler2):
    """A test chain (anvil's default id 31337) answers balances for any address: never a match for
    ethereum. A Bitcoin Cash node (same genesis as Bitcoin) is not a bitcoin node either."""
    from tests.support.anvil import Anvil
    from tests.support.bitcoind_standin import BitcoindStandIn

    node = required("anvil (EVM node from npm)", lambda: Anvil("--chain-id", "31337"))
    try:
        target = checksum_address(os.urandom(20))
        node.send(node.accounts[0], target, 10)
        write_reserves(str(tmp_path / "e.parquet"), [("ethereum", target, "ETH", Decimal("0.00000000000000001"), node.height())])
        out = tmp_path / "e.jsonl"
        result = por("reserves", "check-balances", str(tmp_path / "e.parquet"), "--rpc", f"ethereum={node.url}",
                     "--out", str(out), "--scheduler", scheduler2)
    finally:
        node.close()
    assert result.exit_code == 1
    (row,) = results(out)
    assert row["status"] == "error" and row["on-chain"] is None
    assert "the node given for ethereum is on chain id 31337, not ethereum's 1" in row["reason"]
    bch = BitcoindStandIn(900_000, forks={478_559: "000000000000000000651ef99cb9fcbe0dadde1d424bd9f15ff20136191a5eec"})
    try:
        bch.utxos = {"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2": [100]}
        write_reserves(str(tmp_path / "b.parquet"), [("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "BTC", 100, 900_000)],
                       pa.int64())
        result = por("reserves", "check-balances", str(tmp_path / "b.parquet"), "--rpc", f"bitcoin={bch.url}",
                     "--out", str(tmp_path / "b.jsonl"), "--scheduler", scheduler2)
        assert bch.scans == []  # nothing was read from it
    finally:
        bch.close()
    assert result.exit_code == 1
    (row,) = results(tmp_path / "b.jsonl")
    assert row["status"] == "error" and "the node given for bitcoin is on another chain: its block 478559" in row["reason"]


def test_the_snapshot_block_must_be_in_the_window_before_the_periods_end(tmp_path, scheduler2):
    """--period 2026-11: a block of 2026-11-30 19:00 UTC is the month's snapshot; one 7 hours before
    the end, or one after it, refuses the month, naming both times."""
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", lambda: Anvil("--timestamp", str(END_2026_11 - 7 * 3600)))
    try:
        target = checksum_address(os.urandom(20))
        node.send(node.accounts[0], target, 10)
        early = node.height()  # about 7 hours before the end
        node.rpc("evm_setNextBlockTimestamp", END_2026_11 - 5 * 3600)
        node.rpc("evm_mine")
        inside = node.height()
        node.rpc("evm_setNextBlockTimestamp", END_2026_11 + 60)
        node.rpc("evm_mine")
        late = node.height()

        def check(height, period="2026-11"):
            write_reserves(str(tmp_path / f"{height}.parquet"), [("ethereum", target, "ETH", Decimal("0.00000000000000001"), height)])
            out = tmp_path / f"{height}-{period}.jsonl"
            result = por("reserves", "check-balances", str(tmp_path / f"{height}.parquet"), "--rpc", f"ethereum={node.url}",
                         "--period", period, "--out", str(out), "--scheduler", scheduler2)
            return result, results(out)[0]

        result, row = check(inside)
        assert result.exit_code == 0 and row["status"] == "match", row
        assert "2026-11-30T19:00:00Z" in result.output  # the block's time is shown
        result, row = check(early)
        assert result.exit_code == 1 and row["status"] == "error"
        assert "more than 6 hours before the period 2026-11's snapshot time 2026-12-01T00:00:00Z" in row["reason"]
        assert "timestamp 2026-11-30T1" in row["reason"]
        result, row = check(late)
        assert result.exit_code == 1 and "timestamp 2026-12-01T00:01:00Z, after the period 2026-11's snapshot time" in row["reason"]
        result, row = check(inside, "2026-10")
        assert result.exit_code == 1 and "after the period 2026-10's snapshot time 2026-11-01T00:00:00Z" in row["reason"]
        assert por("reserves", "check-balances", str(tmp_path / f"{inside}.parquet"), "--rpc", f"ethereum={node.url}",
                   "--period", "2026-13").exit_code == 2
    finally:
        node.close()


def test_one_wallet_spelled_twice_is_checked_once(tmp_path, evm_chain, scheduler2):
    """The same address in checksum and lower case (or ETH and its alias `eth`): the later row is an
    error naming the first, never a second match; the same for a bech32 address in two cases."""
    from tests.support.bitcoind_standin import BitcoindStandIn

    c = evm_chain
    f, h = c["fresh"], c["height"]
    write_reserves(str(tmp_path / "r.parquet"), [("ethereum", f[0], "ETH", Decimal("5.000000000000000001"), h),
                                                 ("eth", f[0].lower(), "ETH", Decimal("5.000000000000000001"), h)])
    out = tmp_path / "b.jsonl"
    result = por("reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"ethereum={c['node'].url}",
                 "--out", str(out), "--scheduler", scheduler2)
    assert result.exit_code == 1
    rows = results(out)
    assert [r["status"] for r in rows] == ["match", "error"]
    assert "the same wallet as row 0" in rows[1]["reason"] and "one address, one row" in rows[1]["reason"]
    node = BitcoindStandIn(900_000)
    try:
        segwit = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        node.utxos = {segwit: [7]}
        write_reserves(str(tmp_path / "b.parquet"), [("bitcoin", segwit, "BTC", 7, 900_000),
                                                     ("btc", segwit.upper(), "BTC", 7, 900_000)], pa.int64())
        result = por("reserves", "check-balances", str(tmp_path / "b.parquet"), "--rpc", f"bitcoin={node.url}",
                     "--out", str(tmp_path / "bb.jsonl"), "--scheduler", scheduler2)
    finally:
        node.close()
    assert result.exit_code == 1
    assert [r["status"] for r in results(tmp_path / "bb.jsonl")] == ["match", "error"]


@pytest.mark.parametrize("tamper, why", [("outpoint twice", "twice: one coin counted twice"),
                                         ("total", "but its total_amount says")])
def test_a_scan_that_is_not_one_honest_answer_is_an_error(tmp_path, scheduler2, tamper, why):
    from tests.support.bitcoind_standin import BitcoindStandIn

    node = BitcoindStandIn(900_000)
    try:
        legacy = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
        node.utxos = {legacy: [150_000_000]}
        node.tamper = tamper
        doubled = 300_000_000 if tamper == "outpoint twice" else 150_000_000
        write_reserves(str(tmp_path / "r.parquet"), [("bitcoin", legacy, "BTC", doubled, 900_000)], pa.int64())
        out = tmp_path / "b.jsonl"
        result = por("reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"bitcoin={node.url}",
                     "--out", str(out), "--scheduler", scheduler2)
    finally:
        node.close()
    assert result.exit_code == 1
    (row,) = results(out)
    assert row["status"] == "error" and why in row["reason"]


@pytest.mark.parametrize("url", ["htp://user:hunter2@127.0.0.1:8545/APIKEY123", "http://[::1",
                                 "http://user:hunter2@host:notaport/APIKEY123?key=QQQ", "http://host:99999/APIKEY123"])
def test_a_mistyped_node_url_is_a_usage_error_that_shows_no_secret(tmp_path, url):
    for command in (["reserves", "check-balances", str(tmp_path)], ["reserves", "verify", str(tmp_path)]):
        result = por(*command, "--rpc", f"ethereum={url}")
        assert result.exit_code == 2, result.output
        text = result.output + result.stderr
        assert "ethereum" in text and "hunter2" not in text and "APIKEY123" not in text and "QQQ" not in text
