"""Reserves held all month, not only at the snapshot (issue 23 part 3): every row read again at heights of
the month chosen after it from the hash of the period's last block (pipeline/onchain/sampling.py), on a
real EVM node (anvil from npm, on 127.0.0.1) whose blocks span the month; the Bitcoin family (a STAND-IN
Bitcoin Core, tests/support/bitcoind_standin.py) says it cannot be sampled."""

from __future__ import annotations

import json
import os
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.onchain import sampling
from pipeline.onchain.compare import NotChecked
from pipeline.onchain.sampling import Header, sample_heights
from pipeline.ownership.evm import checksum_address
from tests.support.install import required
from tests.test_balances import results, write_reserves

PERIOD_START = 1_793_491_200
"""2026-11-01T00:00:00Z."""
END = 1_796_083_200
"""2026-12-01T00:00:00Z: the snapshot time of period 2026-11."""
SEED = "0x" + "5a" * 32


def por(*args: str):
    return CliRunner().invoke(app, list(args))


# ---------------------------------------------------------------- the heights function, pure

def test_the_heights_are_one_per_stratum_distinct_and_a_function_of_the_seed_alone():
    heights = sample_heights("ethereum", SEED, 1_000, 200_999, 8)
    assert heights == sorted(set(heights)) and len(heights) == 8
    for i, h in enumerate(heights):  # stratum i: 1000 + 25000 i .. 1000 + 25000 (i + 1) - 1
        assert 1_000 + 25_000 * i <= h < 1_000 + 25_000 * (i + 1)
    assert sample_heights("ethereum", SEED, 1_000, 200_999, 8) == heights  # deterministic
    assert sample_heights("ethereum", SEED[2:], 1_000, 200_999, 8) == heights  # 0x or not: the same 32 bytes
    assert sample_heights("polygon", SEED, 1_000, 200_999, 8) != heights  # every chain its own draw
    flipped = SEED[:-1] + ("b" if SEED[-1] != "b" else "c")
    assert sample_heights("ethereum", flipped, 1_000, 200_999, 8) != heights


def test_the_documented_vector():
    """The rule of schemas/reserves.md, computed here from its words with the blake3 package."""
    from blake3 import blake3

    seed, first, last, n = bytes.fromhex("5a" * 32), 1_000, 200_999, 8
    size = last - first + 1
    want = []
    for i in range(n):
        lo, hi = first + i * size // n, first + (i + 1) * size // n
        d = blake3(b"por-sample-heights-v1\x00ethereum\x00" + seed + i.to_bytes(4, "big")).digest()
        want.append(lo + int.from_bytes(d[:16], "big") * (hi - lo) // 2**128)
    assert sample_heights("ethereum", SEED, first, last, n) == want


def test_a_tiny_range_is_read_at_every_block_and_an_empty_one_at_none():
    assert sample_heights("ethereum", SEED, 10, 14, 8) == [10, 11, 12, 13, 14]
    assert sample_heights("ethereum", SEED, 10, 17, 8) == list(range(10, 18))
    assert sample_heights("ethereum", SEED, 10, 9, 8) == []
    assert sample_heights("ethereum", SEED, 10, 100, 0) == []
    with pytest.raises(ValueError):
        sample_heights("ethereum", "0x1234", 0, 100, 8)


def test_the_heights_are_uniform_within_their_strata():
    """Over many seeds, each stratum's height falls in each tenth of the stratum about as often."""
    counts = [0] * 10
    for k in range(2_000):
        seed = (k.to_bytes(32, "big")).hex()
        for i, h in enumerate(sample_heights("ethereum", seed, 0, 7_999, 8)):
            counts[(h - 1_000 * i) // 100] += 1
    assert all(1_400 <= c <= 1_800 for c in counts), counts  # 1,600 each; ~5 sigma either side


def test_the_search_for_a_block_by_its_time_refuses_times_out_of_order():
    times = {h: 100 * h for h in range(1_000)}
    fetch = lambda hs: [Header(h, "0x" + "00" * 32, times[h]) for h in hs]  # noqa: E731
    lo, hi = fetch([0])[0], fetch([999])[0]
    assert sampling.first_where(lo, hi, lambda t: t > 54_321, fetch).height == 544
    assert sampling.first_where(lo, fetch([544])[0], lambda t: t > 54_321, fetch).height == 544
    times.update({h: 99_999 for h in range(300, 340)})  # a node that lies about some blocks' times
    with pytest.raises(NotChecked, match="out of order"):
        sampling.first_where(lo, hi, lambda t: t > 54_321, fetch)
    assert "out of order" in sampling.in_order(fetch([299, 300, 301]), None, fetch([999])[0])


# ---------------------------------------------------------------- a month on a real EVM node

def _month_chain(node):
    """A month of blocks: A holds 5 ETH and 777 USDT from the period's first block on; B receives 100 ETH
    three hours before the end (just before the snapshot block) and sends it away an hour after the
    snapshot; a block after the end closes the month."""
    acc = node.accounts
    token = node.deploy_token(10**15)  # before the period: its blocks are timed in October
    a, b = checksum_address(os.urandom(20)), checksum_address(os.urandom(20))
    node.rpc("evm_setNextBlockTimestamp", PERIOD_START + 10)
    node.send(acc[0], a, 5 * 10**18)  # the range's first block: A's coins arrive
    first = node.height()
    node.transfer_token(token, acc[0], a, 777_000_000)
    node.rpc("anvil_mine", hex(300), hex(8_500))  # the month goes by, one block every 8,500 s
    node.rpc("evm_setNextBlockTimestamp", END - 3 * 3600)
    node.send(acc[1], b, 100 * 10**18)  # borrowed for the snapshot
    node.rpc("evm_setNextBlockTimestamp", END - 2 * 3600)
    node.rpc("evm_mine")
    snapshot = node.height()
    node.rpc("evm_setNextBlockTimestamp", END - 3600)
    node.rpc("anvil_impersonateAccount", b)
    node.send(b, acc[1], 99 * 10**18)  # and given back
    node.rpc("anvil_stopImpersonatingAccount", b)
    node.rpc("evm_setNextBlockTimestamp", END + 60)
    node.rpc("evm_mine")  # the month has ended: its last block is the one before
    return {"node": node, "token": token, "a": a, "b": b, "height": snapshot, "closing": snapshot + 1, "first": first}


@pytest.fixture(scope="module")
def month_chain():
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", lambda: Anvil("--timestamp", str(PERIOD_START - 1_000)))
    try:
        yield _month_chain(node)
    finally:
        node.close()


def month_rows(c):
    h = c["height"]
    return [("ethereum", c["a"], "ETH", Decimal(5), h), ("ethereum", c["b"], "ETH", Decimal(100), h),
            ("ethereum", c["a"], "USDT", Decimal(777), h)]


def test_funds_borrowed_for_the_snapshot_show_a_minimum_below_it(tmp_path, month_chain, scheduler2):
    """The snapshot matches (105 ETH); at every sampled height B held nothing: the minimum is A's 5 ETH. USDT
    held all month: its minimum is its snapshot. The heights are the rule's, from the closing block's hash."""
    c, node = month_chain, month_chain["node"]
    write_reserves(str(tmp_path / "r.parquet"), month_rows(c))
    out = tmp_path / "b.jsonl"
    result = por("reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"ethereum={node.url}",
                 "--token", f"USDT@ethereum={c['token']}", "--period", "2026-11", "--out", str(out),
                 "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output + result.stderr
    assert [r["status"] for r in results(out)] == ["match"] * 3
    assert "ETH: at the snapshot 105, minimum over the sampled heights 5 (100 less)" in result.output
    assert "USDT: at the snapshot 777, minimum over the sampled heights 777" in result.output
    closing = node.block(c["closing"])
    first = c["first"]  # the period's first block (A's coins), after the token's blocks of October
    assert int(node.block(first)["timestamp"], 16) == PERIOD_START + 10
    assert int(node.block(first - 1)["timestamp"], 16) < PERIOD_START
    want = sample_heights("ethereum", closing["hash"], first, c["height"] - 1, 8)
    assert f"chosen by the hash of block {c['closing']:,}, the period's last, {closing['hash']}" in result.output
    assert ", ".join(f"{h:,}" for h in want) in result.output
    assert "from the period's first block" in result.output


@pytest.fixture(scope="module")
def published(month_chain, scheduler2, tmp_path_factory):
    """`por publish --rpc` of 2026-11 on the month chain, with a Bitcoin row on the stand-in node."""
    from pipeline.testing.synth import write_synth
    from tests.support.bitcoind_standin import BitcoindStandIn
    from tests.support.snapshots import write_secret

    c = month_chain
    d = tmp_path_factory.mktemp("sampled-publish")
    secret = write_secret(str(d))
    assert por("keygen", "--signing", str(d / "sign.key")).exit_code == 0
    snap = str(d / "snap")
    write_synth(snap, 300, asset_count=3, files=1, seed=3)  # BTC, ETH, USDT
    btc = BitcoindStandIn(height=870_000)
    try:
        btc.utxos = {"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2": [250_000_000]}
        write_reserves(str(d / "res" / "r.parquet"), [*month_rows(c), ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
                                                                    "BTC", Decimal("2.5"), 870_000)])
        arch = str(d / "archive")
        result = por("publish", "--period", "2026-11", "--snapshot", snap, "--reserves", str(d / "res"),
                     "--archive", arch, "--secret-file", secret, "--signing-key", str(d / "sign.key"),
                     "--scheduler", scheduler2, "--rpc", f"ethereum={c['node'].url}", "--rpc", f"bitcoin={btc.url}",
                     "--token", f"USDT@ethereum={c['token']}")
    finally:
        btc.close()
    assert result.exit_code == 0, result.output + result.stderr
    return {"archive": arch, "key": str(d / "sign.key"), "pub": str(d / "sign.key.pub"), "output": result.output,
            "secret": secret}


def report_of(arch, month="2026-11"):
    return json.load(open(os.path.join(arch, month, "public", "report.json")))


def test_publish_records_the_sampled_heights_and_the_minimum_per_asset(published, month_chain):
    c = month_chain
    report = report_of(published["archive"])
    from tests.test_vectors import schema_validator

    schema_validator("report.schema.json").validate(report)
    s = report["balances"]["sampling"]
    assert (s["rule"], s["count"]) == ("por-sample-heights-v1", 8)
    eth, btc = s["chains"]["ethereum"], s["chains"]["bitcoin"]
    closing = c["node"].block(c["closing"])
    assert eth["seed"] == {"height": c["closing"], "hash": closing["hash"], "timestamp": END - 3600}
    assert (eth["first"], eth["first_rule"], eth["last"]) == (c["first"], "period-start", c["height"] - 1)
    assert eth["heights"] == sample_heights("ethereum", closing["hash"], c["first"], c["height"] - 1, 8)
    assert eth["assets"]["ETH"] == {"snapshot": str(105 * 10**18), "minimum": str(5 * 10**18),
                                    "at": [str(5 * 10**18)] * 8}
    assert eth["assets"]["USDT"]["minimum"] == eth["assets"]["USDT"]["snapshot"] == "777000000"
    assert btc == {"sampled": False, "why": btc["why"]} and "tip only" in btc["why"]
    held = report["held"]
    assert held["ETH"]["snapshot"] == str(105 * 10**18) and held["ETH"]["minimum"] == str(5 * 10**18)
    assert held["ETH"]["not_sampled"] == "0" and held["BTC"]["not_sampled"] == "250000000"
    assert held["BTC"]["ratio_percent"] is None  # nothing of it could be sampled


def test_history_verify_and_regenerate_recompute_the_heights(published, scheduler2):
    history = por("history", "verify", published["archive"], "--public-key", published["pub"])
    assert history.exit_code == 0, history.output + history.stderr
    regen = por("regenerate", "--period", "2026-11", "--archive", published["archive"], "--secret-file",
                published["secret"], "--scheduler", scheduler2)
    assert regen.exit_code == 0 and "MATCH 2026-11" in regen.output, regen.output
