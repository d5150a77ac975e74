"""The pure half of the balance checks: output scripts (against embit, an independent library),
exact amounts, strict readings of node answers."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from embit import bech32 as embit_bech32
from embit.script import address_to_scriptpubkey
from hypothesis import given
from hypothesis import strategies as st

from pipeline.onchain import bitcoin as scan
from pipeline.onchain import evm
from pipeline.onchain.compare import (
    MATCH,
    MISMATCH,
    NotChecked,
    compare,
    smallest_units,
)
from pipeline.ownership import bitcoin
from pipeline.ownership.chains import find_chain

BTC = find_chain("bitcoin")


def _base58(version: int, payload: bytes) -> str:
    import base58

    return base58.b58encode_check(bytes([version]) + payload).decode()


@given(kind=st.sampled_from(["p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"]), seed=st.binary(min_size=32, max_size=32))
def test_output_script_of_every_address_type_agrees_with_embit(kind, seed):
    if kind == "p2pkh":
        text = _base58(0x00, seed[:20])
    elif kind == "p2sh":
        text = _base58(0x05, seed[:20])
    else:
        version, size = (1, 32) if kind == "p2tr" else (0, 20 if kind == "p2wpkh" else 32)
        text = embit_bech32.encode("bc", version, seed[:size])
    address = bitcoin.decode_address(BTC, text)
    assert address.kind == kind
    assert bitcoin.script_pubkey(address) == address_to_scriptpubkey(text).data


@given(units=st.integers(0, 2**128 - 1), decimals=st.integers(0, 38))
def test_whole_units_convert_exactly_back_to_smallest_units(units, decimals):
    text = format(Decimal(units).scaleb(-decimals, Context(prec=100)), "f")
    assert smallest_units(text, decimals, integer=False) == units
    assert smallest_units(str(units), None, integer=True) == units


@pytest.mark.parametrize("text,decimals,why", [
    ("1.0000001", 6, "more than the asset's 6 decimals"),
    ("-1", 6, "non-negative"),
    ("NaN", 6, "non-negative"),
    ("1e", 6, "not a decimal number"),
    ("1", None, "decimals are unknown"),
])
def test_amounts_that_cannot_be_compared_say_why(text, decimals, why):
    with pytest.raises(NotChecked, match=why):
        smallest_units(text, decimals, integer=False)


def test_compare_is_exact():
    assert compare(10**30 + 1, 10**30 + 1).status == MATCH
    off = compare(10**30 + 1, 10**30)
    assert off.status == MISMATCH and "published 1000000000000000000000000000001, on chain 1000000000000000000000000000000" in off.reason


def test_node_answers_are_read_strictly():
    assert evm.quantity("0x0") == 0 and evm.quantity("0xDE0B6B3A7640000") == 10**18
    for bad in ("12", "0x", "0xg1", 5, None, "0x" + "f" * 65):
        with pytest.raises(NotChecked):
            evm.quantity(bad)
    contract = bytes(20)
    assert evm.word("0x" + "00" * 31 + "07", contract, 3) == 7
    with pytest.raises(NotChecked, match="not deployed yet"):
        evm.word("0x", contract, 3)
    with pytest.raises(NotChecked, match="not one 32-byte word"):
        evm.word("0x07", contract, 3)
    assert evm.balance_of(b"\x11" * 20, b"\x22" * 20, 255) == (
        "eth_call", [{"to": "0x" + "11" * 20, "data": "0x70a08231" + "00" * 12 + "22" * 20}, "0xff"])


@pytest.mark.parametrize("message", [
    "missing trie node 6a3d... (path )", "historical state 0xabc is not available",
    "BlockOutOfRangeError: block height is 9 but requested was 1", "state at block #1 is pruned"])
def test_pruned_state_wordings_ask_for_an_archive_node(message):
    assert "archive node" in evm.explain({"code": -32000, "message": message}, 1)
    assert "archive node" not in evm.explain({"code": -32000, "message": "execution reverted"}, 1)


def _utxo(script, amount, txid="aa", vout=0):
    return {"txid": txid * 32, "vout": vout, "scriptPubKey": script, "amount": amount}


def test_scan_results_are_summed_exactly_and_refused_at_another_height():
    script = "0014" + "ab" * 20
    result = {"success": True, "height": 10, "bestblock": "cd" * 32, "total_amount": Decimal("0.3"), "unspents": [
        _utxo(script, Decimal("0.1")), _utxo(script.upper(), Decimal("0.2"), vout=1)]}
    assert scan.sum_outputs(result, {script: "bc1x"}, 10, "bitcoin") == {"bc1x": 30_000_000}
    assert scan.sum_outputs(result, {script: "bc1x"}, 10, "bitcoin", "cd" * 32) == {"bc1x": 30_000_000}
    with pytest.raises(NotChecked, match="at height 11, but the snapshot is at height 10"):
        scan.sum_outputs({**result, "height": 11}, {script: "bc1x"}, 10, "bitcoin")
    with pytest.raises(NotChecked, match="not an exact number"):  # 0.1 + 0.2 as floats is not 0.3
        scan.sum_outputs({**result, "unspents": [_utxo(script, 0.1)]}, {script: "bc1x"}, 10, "bitcoin")
    with pytest.raises(NotChecked, match="not asked for"):
        scan.sum_outputs({**result, "unspents": [_utxo("00", Decimal(1))]}, {script: "bc1x"}, 10, "bitcoin")
    with pytest.raises(NotChecked, match="whole number of smallest units"):
        scan.sum_outputs({**result, "unspents": [_utxo(script, Decimal("0.000000001"))]}, {script: "bc1x"}, 10, "bitcoin")


def test_a_scan_that_cannot_be_one_honest_answer_is_refused():
    """The same coin reported twice (one outpoint), unspents that do not add up to the scan's own
    total_amount, a scan at another block than the snapshot block, an output without an outpoint."""
    script = "0014" + "ab" * 20
    one = _utxo(script, Decimal("1"))
    honest = {"success": True, "height": 10, "bestblock": "cd" * 32, "total_amount": Decimal("1"), "unspents": [one]}
    assert scan.sum_outputs(honest, {script: "bc1x"}, 10, "bitcoin", "cd" * 32) == {"bc1x": 100_000_000}
    twice = {**honest, "unspents": [one, {**one, "txid": one["txid"].upper()}], "total_amount": Decimal("2")}
    with pytest.raises(NotChecked, match=f"outpoint {'aa' * 32}:0 twice|outpoint {'AA' * 32}:0 twice"):
        scan.sum_outputs(twice, {script: "bc1x"}, 10, "bitcoin")
    with pytest.raises(NotChecked, match="add up to 100000000 smallest units, but its total_amount says 100000001"):
        scan.sum_outputs({**honest, "total_amount": Decimal("1.00000001")}, {script: "bc1x"}, 10, "bitcoin")
    with pytest.raises(NotChecked, match="no total_amount"):
        scan.sum_outputs({k: v for k, v in honest.items() if k != "total_amount"}, {script: "bc1x"}, 10, "bitcoin")
    with pytest.raises(NotChecked, match="not the snapshot block"):
        scan.sum_outputs(honest, {script: "bc1x"}, 10, "bitcoin", "ef" * 32)
    for bad in ({**one, "vout": -1}, {**one, "vout": True}, {**one, "txid": "aa"}, {k: v for k, v in one.items() if k != "txid"}):
        with pytest.raises(NotChecked, match="valid outpoint"):
            scan.sum_outputs({**honest, "unspents": [bad]}, {script: "bc1x"}, 10, "bitcoin")
