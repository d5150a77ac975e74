"""Issue 20, the pure rules: one snapshot height per chain, which chain a node is on, the snapshot
block's window, Safe-compatible owners read strictly, node URLs that never show their secrets."""

from __future__ import annotations

import pytest

from pipeline.errors import InputError
from pipeline.onchain import blocks, safe
from pipeline.onchain.compare import NotChecked
from pipeline.ownership.chains import CHAINS, BITCOIN, EVM, find_chain
from pipeline.reserves.heights import hold_rows, okx_declared, parse_heights
from pipeline.reserves.nodes import parse_rpc
from pipeline.reserves.rpc import JsonRpc, NodeUnreachable, redact, shown

ETH, BTC, BCH = find_chain("ethereum"), find_chain("bitcoin"), find_chain("bitcoin-cash")


# ---------------------------------------------------------------- one height per chain

def test_a_coin_moved_between_two_blocks_is_refused_naming_the_row():
    """A holds 100 ETH at h1, sends them to B; listed as A at h1 and B at h2, both would match."""
    rows = [{"chain": "ethereum", "height": 100}, {"chain": "eth", "height": 101}]
    with pytest.raises(InputError, match="row 1: ethereum at height 101, but row 0 puts ethereum at height 100"):
        hold_rows(rows, None, "the rows")
    with pytest.raises(InputError, match="row 0: ethereum at height 100, but heights.json puts ethereum at height 101"):
        hold_rows(rows, {"ethereum": 101}, "heights.json")
    assert hold_rows([{"chain": "ETH", "height": None}, {"chain": "ethereum", "height": 7}], {"ethereum": 7}, "h") == [7, 7]
    with pytest.raises(InputError, match="declares no height for bitcoin"):
        hold_rows([{"chain": "btc", "height": 5}], {"ethereum": 7}, "heights.json")
    with pytest.raises(InputError, match="negative"):
        hold_rows([{"chain": "stellar", "height": -1}], None, "the rows")
    assert hold_rows([{"chain": "stellar", "height": 1}, {"chain": "stellar", "height": 2}], None, "r") == [1, 2]  # never checked


@pytest.mark.parametrize("text, why", [
    (b'{"ethereum": 1, "eth": 2}', "declared twice"),
    (b'{"ethereum": 1, "ethereum": 1}', "appears twice"),
    (b'{"ethereum": 1.0}', "not a block number"),
    (b'{"ethereum": "1"}', "not a block number"),
    (b'{"ethereum": true}', "not a block number"),
    (b'{"ethereum": -1}', "not a block number"),
    (b'{"ethereum": NaN}', "not a block number"),
    (b'{"nochain": 1}', "not a chain on the supported list"),
    (b'{" ethereum": 1}', "not a chain on the supported list"),
    (b'[1]', "expected a JSON object"),
    (b'{}', "expected a JSON object"),
    (b'\xff', "not a JSON object"),
])
def test_heights_json_is_read_strictly(text, why):
    with pytest.raises(InputError, match=why):
        parse_heights(text, "r/heights.json")


def test_heights_json_names_canonical_chains():
    assert parse_heights(b'{"ETH": 5, "btc": 0}', "h") == {"ethereum": 5, "bitcoin": 0}


def test_csv_totals_block_declares_each_coins_height():
    totals = {"ETH": ("100", None, 2), "USDT-ERC20": ("100", None, 3), "ETH(ALL)": ("-", None, 4)}
    rows = [{"coin": "ETH", "chain": "ETH", "height": 100, "line": 7},
            {"coin": "USDT-ERC20", "chain": "ethereum", "height": None, "line": 8}]
    assert okx_declared(totals, rows, "f.csv") == [100, 100]
    with pytest.raises(InputError, match="f.csv, line 8: USDT-ERC20 at height 99, but the totals block \\(line 3\\)"):
        okx_declared(totals, [rows[0], {**rows[1], "height": 99}], "f.csv")
    with pytest.raises(InputError, match="line 8: ethereum at height 101, but f.csv, line 7 puts ethereum at height 100"):
        okx_declared({**totals, "USDT-ERC20": ("101", None, 3)}, rows, "f.csv")
    with pytest.raises(InputError, match="line 2: snapshot height 'x1' of ETH is not a block number"):
        okx_declared({"ETH": ("x1", None, 2)}, rows, "f.csv")


# ---------------------------------------------------------------- which chain, which block

def test_every_supported_evm_and_bitcoin_chain_knows_its_identity():
    for chain in CHAINS:
        if chain.family == EVM:
            assert isinstance(chain.chain_id, int) and chain.chain_id > 0, chain
        if chain.family == BITCOIN:
            assert chain.genesis and len(chain.genesis) == 64, chain
    ids = [c.chain_id for c in CHAINS if c.family == EVM]
    assert len(set(ids)) == len(ids)
    # Bitcoin and Bitcoin Cash share a genesis block: the block after the split tells them apart
    assert BTC.genesis == BCH.genesis and dict(BTC.forks)[478_559] != dict(BCH.forks)[478_559]


def test_a_node_on_another_chain_is_named_never_read():
    assert blocks.evm_chain(ETH, "0x1") == "1"
    with pytest.raises(NotChecked, match="the node given for ethereum is on chain id 31337, not ethereum's 1"):
        blocks.evm_chain(ETH, "0x7a69")
    asked = blocks.fork_checks(BTC, 900_000)
    assert asked == [(0, BTC.genesis), (478_559, dict(BTC.forks)[478_559])]
    assert blocks.bitcoin_chain(BTC, asked, [BTC.genesis, dict(BTC.forks)[478_559]]) == BTC.genesis
    with pytest.raises(NotChecked, match="the node given for bitcoin is on another chain: its block 478559"):
        blocks.bitcoin_chain(BTC, asked, [BTC.genesis, dict(BCH.forks)[478_559]])  # a Bitcoin Cash node
    ltc = find_chain("litecoin").genesis
    with pytest.raises(NotChecked, match="its genesis block is " + ltc):
        blocks.bitcoin_chain(BTC, asked, [ltc, dict(BTC.forks)[478_559]])
    assert blocks.fork_checks(BCH, 600_000) == [(0, BCH.genesis), *BCH.forks[:2]]


def test_block_answers_are_read_strictly():
    good = {"number": "0x10", "hash": "0x" + "ab" * 32, "timestamp": "0x64"}
    b = blocks.evm_block(ETH, 16, "0x20", good, "1")
    assert (b.height, b.hash, b.timestamp, b.chain_id) == (16, "0x" + "ab" * 32, 100, "1")
    with pytest.raises(NotChecked, match="beyond the node's head"):
        blocks.evm_block(ETH, 33, "0x20", good, "1")
    with pytest.raises(NotChecked, match="says number 17"):
        blocks.evm_block(ETH, 16, "0x20", {**good, "number": "0x11"}, "1")
    with pytest.raises(NotChecked, match="no block 16"):
        blocks.evm_block(ETH, 16, "0x20", None, "1")
    header = {"hash": "cd" * 32, "height": 5, "time": 1000}
    assert blocks.bitcoin_block(BTC, 5, {"blocks": 9}, "cd" * 32, header, "g").timestamp == 1000
    with pytest.raises(NotChecked, match="not that block at height 5"):
        blocks.bitcoin_block(BTC, 5, {"blocks": 9}, "cd" * 32, {**header, "height": 6}, "g")
    with pytest.raises(NotChecked, match="beyond the node's tip"):
        blocks.bitcoin_block(BTC, 10, {"blocks": 9}, "cd" * 32, header, "g")
    with pytest.raises(NotChecked, match="not a Unix time"):
        blocks.bitcoin_block(BTC, 5, {"blocks": 9}, "cd" * 32, {**header, "time": 1.5}, "g")


def test_the_snapshot_block_must_be_in_the_window_before_the_periods_end():
    end = blocks.period_end("2026-11")
    assert blocks.iso(end) == "2026-12-01T00:00:00Z" and blocks.iso(blocks.period_end("2026-12")) == "2027-01-01T00:00:00Z"

    def at(t):
        return blocks.Block("ethereum", 7, "0x" + "ab" * 32, t, "1")

    for t in (end, end - blocks.WINDOW_HOURS * 3600, end - 1):
        assert blocks.outside_window(at(t), "2026-11") is None
    late = blocks.outside_window(at(end + 1), "2026-11")
    assert late is not None and "2026-12-01T00:00:01Z, after the period 2026-11's snapshot time 2026-12-01T00:00:00Z" in late
    early = blocks.outside_window(at(end - blocks.WINDOW_HOURS * 3600 - 1), "2026-11")
    assert early is not None and "2026-11-30T17:59:59Z, more than 6 hours before" in early


# ---------------------------------------------------------------- Safe-compatible owners

def _owners_answer(owners, offset=32, count=None):
    words = [offset, len(owners) if count is None else count] + [int.from_bytes(o, "big") for o in owners]
    return "0x" + "".join(w.to_bytes(32, "big").hex() for w in words)


def test_safe_answers_are_decoded_strictly():
    a, b = b"\x11" * 20, b"\x22" * 20
    assert safe.decode_owners(_owners_answer([a, b])) == [a, b]
    assert safe.decode_owners(_owners_answer([])) == []
    for bad in (_owners_answer([a], offset=64), _owners_answer([a], count=2), _owners_answer([a]) + "00" * 32,
                "0x", "0x1", None, "0x" + "00" * 31 + "20" + "00" * 31 + "01" + "ff" * 32):
        with pytest.raises(safe.NotConfirmed):
            safe.decode_owners(bad)
    assert safe.decode_threshold("0x" + "00" * 31 + "02") == 2
    for bad in ("0x", "0x02", "0x" + "00" * 64, 5):
        with pytest.raises(safe.NotConfirmed):
            safe.decode_threshold(bad)
    assert safe.has_code("0x6080") and not safe.has_code("0x")
    code, owners, threshold = safe.calls(a, 255)
    assert code == ("eth_getCode", ["0x" + a.hex(), "0xff"])
    assert owners == ("eth_call", [{"to": "0x" + a.hex(), "data": "0xa0e67e2b"}, "0xff"])
    assert threshold == ("eth_call", [{"to": "0x" + a.hex(), "data": "0xe75235b8"}, "0xff"])


def test_the_owner_rule():
    a, b, c, x = (bytes([i]) * 20 for i in (1, 2, 3, 9))
    assert safe.confirm([a, b], [a, b, c], 2).signers == 2
    with pytest.raises(safe.NotConfirmed, match="1 distinct owner signature"):
        safe.confirm([a, a], [a, b, c], 2)  # the same owner twice counts once
    with pytest.raises(safe.NotConfirmed, match="is not an owner"):
        safe.confirm([a, x], [a, b, c], 1)  # every signer must be an owner, even past the threshold
    with pytest.raises(safe.NotConfirmed, match="no threshold"):
        safe.confirm([a], [a], 0)
    with pytest.raises(safe.NotConfirmed, match="can never be met"):
        safe.confirm([a], [a], 2)


# ---------------------------------------------------------------- node URLs

SECRETS = ("hunter2", "s3cr3t", "APIKEY123", "token=QQQ")


@pytest.mark.parametrize("url", [
    "htp://user:hunter2@127.0.0.1:8545/APIKEY123", "http://[::1", "http://user:hunter2@[::1/APIKEY123",
    "http://user:hunter2@host:notaport/APIKEY123", "http://host:99999/APIKEY123?token=QQQ", "http://host:/APIKEY123",
    "http:/host/APIKEY123", "http://user:hunter2@/APIKEY123", "http://host:8545/API KEY123",
    "http://host:8545/\u00e9APIKEY123", "http://host:8545/APIKEY123#s3cr3t", "ftp://host/APIKEY123", "//host:1/APIKEY123",
    "http://host:8545/APIKEY123\n/x",
])
def test_a_malformed_node_url_is_a_usage_error_that_never_shows_its_secrets(url):
    with pytest.raises(InputError) as caught:
        parse_rpc(f"ethereum={url}")
    text = str(caught.value) + repr(caught.value)
    assert "ethereum" in text
    assert not any(s in text for s in SECRETS), text
    assert "API" not in text


def test_shown_never_raises_and_keeps_only_scheme_host_port():
    assert shown("https://user:hunter2@node.example:8545/v3/APIKEY123?token=QQQ") == "https://node.example:8545"
    assert shown("http://[::1]:8545/x") == "http://[::1]:8545"
    for url in ("http://[::1", "http://host:notaport/APIKEY123", "http://h:99999", "\x00://\x01"):
        out = shown(url)
        assert isinstance(out, str) and not any(s in out for s in SECRETS)
    assert redact("GET /v3/APIKEY123 failed for user hunter2", "http://user:hunter2@h:1/v3/APIKEY123") == "GET … failed for … …"


@pytest.mark.parametrize("url", [
    "http://user:hunter2@host:notaport/APIKEY123", "http://user:hunter2@[::1/APIKEY123",
    "http://user:hunter2@127.0.0.1:99999/APIKEY123", "htp://user:hunter2@127.0.0.1:1/APIKEY123",
    "http://user:hunter2@127.0.0.1:1/API KEY123\r\nX: s3cr3t",
])
def test_the_http_librarys_exceptions_never_reach_the_output_with_the_url(url):
    """requests, urllib3 and http.client put the whole URL in some exception texts (InvalidURL,
    LocationParseError, "nonnumeric port"): only the exception's type and the shown node remain."""
    node = JsonRpc(url, timeout=2, attempts=1)
    with pytest.raises(NodeUnreachable) as caught:
        node.call("eth_chainId", [])
    text = str(caught.value)
    assert not any(s in text for s in SECRETS) and "APIKEY" not in text, text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
