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

OCTOBER_START = 1_790_812_800
"""2026-10-01T00:00:00Z."""
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
    """Two months of blocks. October: A receives 5 ETH and 777 USDT in its first block and keeps them; its
    snapshot block is two hours before its end. November: B receives 100 ETH three hours before the end (just
    before the snapshot block) and sends it away an hour after the snapshot; a block after the end closes
    the month."""
    acc = node.accounts
    token = node.deploy_token(10**15)  # before October: its blocks are timed in September
    a, b = checksum_address(os.urandom(20)), checksum_address(os.urandom(20))
    node.rpc("evm_setNextBlockTimestamp", OCTOBER_START + 10)
    node.send(acc[0], a, 5 * 10**18)  # October's first block: A's coins arrive
    october_first = node.height()
    node.transfer_token(token, acc[0], a, 777_000_000)
    node.rpc("anvil_mine", hex(100), hex(25_000))
    node.rpc("evm_setNextBlockTimestamp", PERIOD_START - 2 * 3600)
    node.rpc("evm_mine")
    october = node.height()
    node.rpc("evm_setNextBlockTimestamp", PERIOD_START + 10)
    node.rpc("evm_mine")
    first = node.height()  # November's first block
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
    return {"node": node, "token": token, "a": a, "b": b, "height": snapshot, "closing": snapshot + 1, "first": first,
            "october": october, "october_first": october_first}


@pytest.fixture(scope="module")
def month_chain():
    from tests.support.anvil import Anvil

    node = required("anvil (EVM node from npm)", lambda: Anvil("--timestamp", str(OCTOBER_START - 1_000)))
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
    first = c["first"]  # the period's first block, found by its time among October's and November's
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


def test_check_balances_gives_the_reports_heights_and_without_a_period_says_none_were_sampled(
        tmp_path, published, month_chain, scheduler2):
    c, node = month_chain, month_chain["node"]
    eth = report_of(published["archive"])["balances"]["sampling"]["chains"]["ethereum"]
    write_reserves(str(tmp_path / "r.parquet"), month_rows(c))
    args = ["reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"ethereum={node.url}",
            "--token", f"USDT@ethereum={c['token']}", "--scheduler", scheduler2]
    again = por(*args, "--period", "2026-11", "--archive", published["archive"])
    assert again.exit_code == 0, again.output + again.stderr
    assert ", ".join(f"{h:,}" for h in eth["heights"]) in again.output  # the report's, from one's own node
    none = por(*args)
    assert none.exit_code == 0 and "no sampled heights: they need --period" in none.output
    zero = por(*args, "--period", "2026-11", "--sample-heights", "0")
    assert zero.exit_code == 0 and "none asked for (--sample-heights 0)" in zero.output
    more = por(*args, "--period", "2026-11", "--sample-heights", "400")  # more heights than blocks: every block
    assert more.exit_code == 0 and f"{c['height'] - c['first']} height(s) of blocks" in more.output
    assert por(*args, "--sample-heights", "-1").exit_code == 2
    assert por(*args, "--archive", published["archive"]).exit_code == 2  # --archive needs --period


def test_the_bitcoin_family_says_it_cannot_be_sampled(tmp_path, scheduler2):
    import pyarrow as pa

    from tests.support.bitcoind_standin import BitcoindStandIn

    node = BitcoindStandIn(height=870_000)
    try:
        node.utxos = {"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2": [7]}
        write_reserves(str(tmp_path / "b.parquet"), [("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "BTC", 7,
                                                      870_000)], pa.int64())
        result = por("reserves", "check-balances", str(tmp_path / "b.parquet"), "--rpc", f"bitcoin={node.url}",
                     "--period", "2026-11", "--scheduler", scheduler2)
    finally:
        node.close()
    assert result.exit_code == 0, result.output + result.stderr
    assert "bitcoin: not sampled: Bitcoin Core's scantxoutset reads the UTXO set at the node's tip only" in result.output


# ---------------------------------------------------------------- what the exchange's own node can do

class Proxy:
    """A JSON-RPC proxy in front of anvil that rewrites some answers: the node an exchange controls."""

    def __init__(self, upstream: str, rewrite) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls = body if isinstance(body, list) else [body]
                answers = requests.post(upstream, json=calls, timeout=30).json()
                by_id = {a["id"]: a for a in answers}
                out = [rewrite(call, by_id[call["id"]]) for call in calls]
                data = json.dumps(out if isinstance(body, list) else out[0]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        proxy.upstream = upstream

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_node_that_lies_at_the_sampled_heights_is_caught_only_as_far_as_one_node_allows(
        tmp_path, month_chain, scheduler2):
    """The exchange's node answers every past balance with the snapshot's: one node cannot tell (the minimum is
    the snapshot figure); a node of one's own shows the coins were borrowed. A node whose block times are out
    of order is caught: the chain is not sampled, and the command exits 1."""
    c, node = month_chain, month_chain["node"]
    snapshot_tag = hex(c["height"])

    def same_as_snapshot(call, answer):
        if call["method"] == "eth_getBalance" and call["params"][1] != snapshot_tag:
            return requests.post(node.url, json={**call, "params": [call["params"][0], snapshot_tag]}, timeout=30).json()
        return answer

    def times_reversed(call, answer):
        block = answer.get("result")
        if call["method"] == "eth_getBlockByNumber" and isinstance(block, dict) and 0 < int(block["number"], 16) < c["height"]:
            return {**answer, "result": {**block, "timestamp": hex(END - 2 * 3600 + c["height"] - int(block["number"], 16))}}
        return answer

    write_reserves(str(tmp_path / "r.parquet"), month_rows(c)[:2])
    args = ["reserves", "check-balances", str(tmp_path / "r.parquet"), "--period", "2026-11", "--scheduler", scheduler2]
    for rewrite, words, code in ((same_as_snapshot, "ETH: at the snapshot 105, minimum over the sampled heights 105\n", 0),
                                 (times_reversed, "not an honest answer", 1)):
        liar = Proxy(node.url, rewrite)
        try:
            result = por(*args, "--rpc", f"ethereum={liar.url}")
        finally:
            liar.close()
        assert result.exit_code == code, result.output + result.stderr
        assert words in result.output, result.output
    honest = por(*args, "--rpc", f"ethereum={node.url}")
    assert "ETH: at the snapshot 105, minimum over the sampled heights 5 (100 less)" in honest.output


def test_a_node_without_the_months_history_leaves_the_chain_not_sampled(tmp_path, month_chain, scheduler2):
    """A full node that keeps only recent state (geth's "missing trie node" for older blocks, here from a proxy
    in front of anvil: anvil --prune-history keeps not even the snapshot's) reads the snapshot but not the
    sampled heights: the chain is not sampled, naming the archive node it needs, and check-balances exits 1."""
    c, node = month_chain, month_chain["node"]

    def pruned(call, answer):
        if call["method"] in ("eth_getBalance", "eth_call") and int(call["params"][-1], 16) < c["height"]:
            return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32000, "message": "missing trie node abc"}}
        return answer

    write_reserves(str(tmp_path / "r.parquet"), month_rows(c)[:1])
    full = Proxy(node.url, pruned)
    try:
        result = por("reserves", "check-balances", str(tmp_path / "r.parquet"), "--rpc", f"ethereum={full.url}",
                     "--period", "2026-11", "--scheduler", scheduler2)
    finally:
        full.close()
    assert result.exit_code == 1, result.output + result.stderr
    assert "1 rows: 1 match" in result.output
    assert "ethereum: not sampled: at height" in result.output and "the check needs an archive node" in result.output
    assert "NOT SAMPLED ethereum" in result.stderr


# ---------------------------------------------------------------- re-derived from the archive

@pytest.fixture()
def archive_copy(published, tmp_path):
    import shutil

    target = str(tmp_path / "archive")
    shutil.copytree(published["archive"], target)
    return {**published, "archive": target}


def history_verify(env):
    return por("history", "verify", env["archive"], "--public-key", env["pub"])


@pytest.mark.parametrize("change, words", [
    (lambda r: r["balances"]["sampling"]["chains"]["ethereum"]["heights"].__setitem__(0, 3),
     "balances.sampling.chains.ethereum: heights [3, "),
    (lambda r: r["balances"]["sampling"]["chains"]["ethereum"].update(first=200),
     "the rule gives"),
    (lambda r: r["balances"]["sampling"]["chains"]["ethereum"].update(first_rule="previous-snapshot"),
     "that no earlier month of the archive records"),
    (lambda r: r["balances"]["sampling"]["chains"]["ethereum"]["seed"].update(timestamp=END + 1),
     "it cannot be the period's last block"),
    (lambda r: r["held"]["ETH"].update(minimum=r["held"]["ETH"]["snapshot"]),
     "held.ETH.minimum: signed"),
    (lambda r: r["balances"]["sampling"]["chains"]["ethereum"]["assets"]["ETH"].update(minimum="1"),
     "minimum 1 is not the least of the snapshot sum"),
    (lambda r: r["balances"]["sampling"]["chains"].pop("bitcoin"),
     'records the chains ["ethereum"], the balance checks read ["bitcoin", "ethereum"]'),
    (lambda r: r.pop("held"), "held: signed (absent)"),
])
def test_a_re_signed_sampling_record_is_named(archive_copy, change, words):
    from tests.test_recheck import report_edit, resign

    resign(archive_copy, "2026-11", {"report.json": report_edit(change)})
    result = history_verify(archive_copy)
    assert result.exit_code == 1, result.output
    assert words in result.output, result.output


def rendered(env, name):
    """An edit that writes the page ``name`` as the (already edited) report.json renders it."""
    from pipeline.publication.report import render_reports
    from pipeline.reserves.ratios import AssetPosition

    def edit(_: bytes) -> bytes:
        doc = report_of(env["archive"])
        pos = [AssetPosition(a["symbol"], a["decimals"], int(a["liabilities"]), int(a["reserves"]),
                             int(a["debt"]) if "debt" in a else None) for a in doc["assets"]]
        return render_reports(doc, pos)[name]
    return edit


def test_the_sums_at_the_sampled_heights_are_the_publishers_nodes_word(archive_copy, month_chain, scheduler2):
    """Re-signed sums that hide the borrowed coins, consistent with each other, pass offline (they are the node's
    answers, carried: history verify says so); a node of one's own re-reads them and shows the minimum."""
    from tests.test_recheck import report_edit, resign

    def hide(r):
        eth = r["balances"]["sampling"]["chains"]["ethereum"]["assets"]["ETH"]
        eth.update(minimum=eth["snapshot"], at=[eth["snapshot"]] * len(eth["at"]))
        r["held"]["ETH"].update(minimum=eth["snapshot"], minimum_units="105.000000000000000000",
                                ratio_percent=r["assets"][1]["ratio_percent"])

    resign(archive_copy, "2026-11", {"report.json": report_edit(hide), "report.md": rendered(archive_copy, "report.md"),
                                     "report.html": rendered(archive_copy, "report.html")})
    offline = history_verify(archive_copy)
    assert offline.exit_code == 0, offline.output
    assert "the balances at the sampled heights are the publisher's node's answers" in offline.output
    own = por("reserves", "check-balances", os.path.join(archive_copy["archive"], "2026-11", "public", "reserves.parquet"),
              "--rpc", f"ethereum={month_chain['node'].url}", "--token", f"USDT@ethereum={month_chain['token']}",
              "--period", "2026-11", "--scheduler", scheduler2)
    assert "ETH: at the snapshot 105, minimum over the sampled heights 5 (100 less)" in own.output, own.output


def test_the_next_month_samples_after_this_months_snapshot(month_chain, scheduler2, tmp_path):
    """October, then November, published on the same chain: November's range starts after October's snapshot
    block, as October's signed report records it; history verify holds it to that; check-balances --archive
    gives the same heights from one's own node."""
    from pipeline.testing.synth import write_synth
    from tests.support.snapshots import write_secret

    c, node = month_chain, month_chain["node"]
    secret = write_secret(str(tmp_path))
    assert por("keygen", "--signing", str(tmp_path / "sign.key")).exit_code == 0
    arch = str(tmp_path / "archive")
    months = {"2026-10": [("ethereum", c["a"], "ETH", Decimal(5), c["october"]),
                          ("ethereum", c["a"], "USDT", Decimal(777), c["october"])], "2026-11": month_rows(c)}
    for i, (month, rows) in enumerate(months.items()):
        write_synth(str(tmp_path / month / "snap"), 200, asset_count=3, files=1, seed=4 + i)
        write_reserves(str(tmp_path / month / "res" / "r.parquet"), rows)
        result = por("publish", "--period", month, "--snapshot", str(tmp_path / month / "snap"), "--reserves",
                     str(tmp_path / month / "res"), "--archive", arch, "--secret-file", secret, "--signing-key",
                     str(tmp_path / "sign.key"), "--scheduler", scheduler2, "--rpc", f"ethereum={node.url}",
                     "--token", f"USDT@ethereum={c['token']}")
        assert result.exit_code == 0, result.output + result.stderr
    october = report_of(arch, "2026-10")["balances"]["sampling"]["chains"]["ethereum"]
    assert (october["first"], october["first_rule"]) == (c["october_first"], "period-start")
    assert report_of(arch, "2026-10")["held"]["ETH"]["minimum"] == str(5 * 10**18)
    eth = report_of(arch)["balances"]["sampling"]["chains"]["ethereum"]
    assert (eth["first"], eth["first_rule"], eth["last"]) == (c["october"] + 1, "previous-snapshot", c["height"] - 1)
    assert report_of(arch)["held"]["ETH"]["minimum"] == str(5 * 10**18)
    history = history_verify({"archive": arch, "pub": str(tmp_path / "sign.key.pub")})
    assert history.exit_code == 0, history.output
    own = por("reserves", "check-balances", str(tmp_path / "2026-11" / "res"), "--rpc", f"ethereum={node.url}",
              "--token", f"USDT@ethereum={c['token']}", "--period", "2026-11", "--archive", arch,
              "--scheduler", scheduler2)
    assert own.exit_code == 0 and ", ".join(f"{x:,}" for x in eth["heights"]) in own.output, own.output
    assert "after the previous month's snapshot" in own.output
