"""Issue 20: a contract wallet is `bound` only when the chain confirms its owners, never on their
word. On a real EVM node (anvil from npm) with a Safe-compatible contract compiled by the tests
(tests/support/evm/Safe.sol): owners that are and are not on the contract, a threshold met and not
met, an EOA and a contract that is not a Safe listed with owners, one owner's signature twice,
owners changed after the snapshot block; and `por publish`, whose public files and report carry
the confirmed statuses."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from coincurve import PrivateKey
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.testing import sign
from pipeline.ownership.challenge import challenge_text
from pipeline.ownership.evm import checksum_address
from tests.support.install import required

pytestmark = pytest.mark.integration
END_2026_11 = 1_796_083_200
CHALLENGE = challenge_text("Example Exchange", "2026-11", None)


def por(*args: str):
    return CliRunner().invoke(app, list(args))


def owner(i: int) -> PrivateKey:
    return PrivateKey(bytes([i]) * 32)


def write(directory, rows, height):
    """rows: (address, owner keys that sign, balance in wei); heights.json declares ethereum's height."""
    os.makedirs(directory, exist_ok=True)
    pq.write_table(pa.table({
        "chain": pa.array(["ethereum"] * len(rows), pa.string()),
        "address": pa.array([r[0] for r in rows], pa.string()),
        "asset": pa.array(["ETH"] * len(rows), pa.string()),
        "balance": pa.array([r[2] for r in rows], pa.int64()),
        "signatures": pa.array([[sign.sign_evm(k, CHALLENGE) for k in r[1]] for r in rows], pa.list_(pa.string())),
        "owners": pa.array([[sign.evm_address(k) for k in r[1]] for r in rows], pa.list_(pa.string())),
    }), os.path.join(directory, "wallets.parquet"))
    with open(os.path.join(directory, "heights.json"), "w") as f:
        json.dump({"ethereum": height}, f)


@pytest.fixture(scope="module")
def wallets():
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", lambda: Anvil("--timestamp", str(END_2026_11 - 7_200)))
    try:
        o = [sign.evm_address(owner(i)) for i in (1, 2, 3)]
        safe = node.deploy_safe(o, 2)  # 2 of 3
        strict = node.deploy_safe(o, 3)  # 3 of 3
        later = node.deploy_safe([sign.evm_address(owner(9))], 1)  # its owners change after the snapshot
        one = node.deploy_safe(o, 1)  # 1 of 3
        again = node.deploy_safe(o, 2)
        token = node.deploy_token(10**6)
        eoa = checksum_address(os.urandom(20))
        node.send(node.accounts[0], safe, 3 * 10**18)
        height = node.height()
        node.reset_safe(later, o, 1)  # after the snapshot block: too late
        rows = [
            (safe, [owner(1), owner(2)], 3 * 10**18),  # 0: owners on the contract, threshold met: bound
            (strict, [owner(1), owner(2)], 0),  # 1: threshold 3 not met by 2
            (one, [owner(1), owner(7)], 0),  # 2: owner 7 is not on the contract (even past the threshold)
            (eoa, [owner(1), owner(2)], 0),  # 3: an EOA
            (token, [owner(1), owner(2)], 0),  # 4: a contract that is not a Safe
            (again, [owner(1), owner(1)], 0),  # 5: one owner's signature twice
            (later, [owner(1)], 0),  # 6: not an owner at the snapshot block
            (node.deploy_safe(o, 1), [owner(1)], 0),  # 7: deployed after the snapshot block
        ]
        yield {"node": node, "rows": rows, "height": height}
    finally:
        node.close()


def statuses(path):
    return [json.loads(line) for line in open(path).read().splitlines()]


def test_contract_wallets_are_bound_only_when_the_chain_confirms_them(tmp_path, wallets, scheduler2):
    w = wallets
    write(str(tmp_path / "r"), w["rows"], w["height"])
    # without a node: every contract-wallet row is at most unbound, saying why
    out = tmp_path / "offline.jsonl"
    offline = por("reserves", "verify", str(tmp_path / "r"), "--challenge", CHALLENGE, "--out", str(out),
                  "--scheduler", scheduler2)
    assert offline.exit_code == 0, offline.output
    assert {r["status"] for r in statuses(out)} == {"unbound"}
    assert all("not confirmed on chain" in r["reason"] for r in statuses(out))
    # with the node: bound only where getOwners()/getThreshold() at the snapshot block confirm them
    out = tmp_path / "online.jsonl"
    online = por("reserves", "verify", str(tmp_path / "r"), "--challenge", CHALLENGE, "--out", str(out),
                 "--rpc", f"ethereum={w['node'].url}", "--scheduler", scheduler2)
    assert online.exit_code == 0, online.output
    rows = statuses(out)
    assert [r["status"] for r in rows] == ["bound"] + ["unbound"] * 7, rows
    assert f"threshold 2 of 3 owners, confirmed with getOwners()/getThreshold() at ethereum block {w['height']}" in rows[0]["reason"]
    assert rows[0]["note"] == ""
    assert "2 distinct owner signature(s), the contract's threshold is 3" in rows[1]["reason"]
    assert f"signer 0x{sign.evm_address(owner(7))[2:].lower()} is not an owner" in rows[2]["reason"]
    assert "holds no code: an externally owned account" in rows[3]["reason"]
    assert "does not answer getOwners()" in rows[4]["reason"] and "not a Safe-compatible contract" in rows[4]["reason"]
    assert "1 distinct owner signature(s), the contract's threshold is 2" in rows[5]["reason"]
    assert "is not an owner" in rows[6]["reason"]
    assert "holds no code" in rows[7]["reason"]
    assert "1 bound, 7 unbound" in online.output


def test_a_node_on_another_chain_confirms_nothing(tmp_path, wallets, scheduler2):
    from tests.support.anvil import Anvil

    w = wallets
    other = required("anvil (EVM node from npm)", lambda: Anvil("--chain-id", "31337"))
    try:
        write(str(tmp_path / "r"), w["rows"][:1], min(w["height"], other.height()))
        out = tmp_path / "o.jsonl"
        result = por("reserves", "verify", str(tmp_path / "r"), "--challenge", CHALLENGE, "--out", str(out),
                     "--rpc", f"ethereum={other.url}", "--scheduler", scheduler2)
    finally:
        other.close()
    assert result.exit_code == 0
    (row,) = statuses(out)
    assert row["status"] == "unbound" and "on chain id 31337, not ethereum's 1" in row["reason"]


def test_publish_records_the_confirmed_statuses(tmp_path, wallets, scheduler2):
    """`por publish --rpc`: public/reserves.parquet, reserves.csv and report.json carry the statuses the
    node confirmed; the bound ratio counts only the confirmed contract wallet, the declared one all."""
    from pipeline.testing.synth import write_synth
    from tests.support.snapshots import write_secret

    w = wallets
    secret = write_secret(str(tmp_path))
    assert por("keygen", "--signing", str(tmp_path / "sign.key")).exit_code == 0
    snap = str(tmp_path / "snap")
    write_synth(snap, 300, asset_count=3, files=1, seed=3)  # BTC, ETH, USDT
    rows = [w["rows"][0], w["rows"][3]]  # the confirmed Safe; an EOA listed with owners
    write(str(tmp_path / "res"), rows, w["height"])
    arch = str(tmp_path / "archive")
    result = por("publish", "--period", "2026-11", "--snapshot", snap, "--reserves", str(tmp_path / "res"),
                 "--archive", arch, "--secret-file", secret, "--signing-key", str(tmp_path / "sign.key"),
                 "--exchange", "Example Exchange", "--rpc", f"ethereum={w['node'].url}", "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output + result.stderr
    assert "reserve ownership: 1 bound, 1 unbound" in result.output
    public = os.path.join(arch, "2026-11", "public")
    table = pq.read_table(os.path.join(public, "reserves.parquet")).to_pylist()
    assert [r["status"] for r in table] == ["bound", "unbound"]
    assert [r["height"] for r in table] == [w["height"]] * 2
    assert "confirmed with getOwners()" in table[0]["reason"] and "holds no code" in table[1]["reason"]
    report = json.load(open(os.path.join(public, "report.json")))
    assert report["ownership"]["counts"]["bound"] == 1 and report["ownership"]["counts"]["unbound"] == 1
    assert report["balances"]["chains"]["ethereum"]["chain_id"] == "1"
    assert report["balances"]["chains"]["ethereum"]["height"] == w["height"]
    assert os.path.exists(os.path.join(arch, "2026-11", "inputs", "reserves", "heights.json"))
    inputs = json.load(open(os.path.join(arch, "2026-11", "inputs", "inputs.json")))
    assert "inputs/reserves/heights.json" in inputs["reserves"]["files"]
    csv = open(os.path.join(public, "reserves.csv")).read()
    assert f"ETH,{w['height']},3" in csv  # the totals block declares the height
    assert Decimal(table[0]["balance"]) == 3
    # history verify: the exchange's node answer is no evidence; offline, the Safe row cannot stay bound
    pub = str(tmp_path / "sign.key.pub")
    history = por("history", "verify", arch, "--public-key", pub)
    assert history.exit_code == 1
    assert "1 contract-wallet row(s) on ethereum (rows [0]) are published bound" in history.output + history.stderr
    assert "(--rpc ethereum=URL)" in history.output + history.stderr
    # with a node of the auditor's own, the owners are re-confirmed and every figure re-derives
    history = por("history", "verify", arch, "--public-key", pub, "--rpc", f"ethereum={w['node'].url}")
    assert history.exit_code == 0, history.output + history.stderr
    regen = por("regenerate", "--period", "2026-11", "--archive", arch, "--secret-file", secret, "--scheduler", scheduler2,
                "--rpc", f"ethereum={w['node'].url}")
    assert regen.exit_code == 0 and "MATCH 2026-11" in regen.output, regen.output
    offline = por("regenerate", "--period", "2026-11", "--archive", arch, "--secret-file", secret, "--scheduler",
                  scheduler2)
    assert offline.exit_code == 1 and "(--rpc ethereum=URL)" in offline.output
