"""The secp256k1 families' faster parts against their plain definitions: the table-driven bech32 and
CashAddr checksums and decoders (against the reference decoder, the specifications' own polymod and
the BIPs' test vectors), EIP-55 spelled as one integer (against the EIP's definition and vectors),
Filecoin's base32 (against the standard library), the order in which the EVM, TRON and Filecoin
variants are tried (a row's verdict and note never depend on the rows before it), and the multisig
keys not parsed twice (a script with a key off the curve is still refused)."""

from __future__ import annotations

import base64
import binascii
import random

import pytest
from coincurve import PrivateKey
from embit import bech32 as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ownership import bitcoin as btc
from pipeline.ownership import cashaddr, evm, filecoin, segwit
from pipeline.ownership.chains import Refused, find_chain
from pipeline.ownership.challenge import challenge_text
from pipeline.ownership.check import BOUND, INVALID, ProofRow, check_row
from pipeline.ownership.variant_order import CAP, VariantOrder
from pipeline.testing import sign

NOW = challenge_text("Example Exchange", "2026-11", "cd" * 32)
BTC, BCH = find_chain("bitcoin"), find_chain("bitcoin-cash")
CHARSET = segwit.CHARSET


def key(i: int) -> PrivateKey:
    return PrivateKey((0x2000 + i).to_bytes(32, "big"))


# ------------------------------------------------------------------ bech32 / bech32m (BIP-173, BIP-350)

BIP350_VALID = [  # BIP-350's valid segwit addresses and their output scripts
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
     "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
     "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    ("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
     "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
     "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
]
BIP350_INVALID = [  # BIP-350's invalid segwit addresses (each for its reason)
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # human-readable part
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 instead of bech32m
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m instead of bech32
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # character in the checksum
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # witness version
    "bc1pw5dgrnzv",  # program of 1 byte
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # v0 program length
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # more than 4 bits of padding
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data
]


@pytest.mark.parametrize("address, script", BIP350_VALID)
def test_segwit_decoder_reads_bip350s_valid_addresses(address, script):
    hrp = address.lower().split("1")[0]
    version, program = segwit.decode(hrp, address)
    assert version is not None and program is not None
    assert (bytes([0x50 + version if version else 0, len(program)]) + program).hex() == script
    assert segwit.decode("ltc" if hrp != "ltc" else "bc", address) == (None, None)


@pytest.mark.parametrize("address", BIP350_INVALID)
def test_segwit_decoder_refuses_bip350s_invalid_addresses(address):
    assert segwit.decode("bc", address) == (None, None) and segwit.decode("tb", address) == (None, None)
    assert reference.decode("bc", address) == (None, None) and reference.decode("tb", address) == (None, None)


@given(st.lists(st.integers(0, 31), max_size=120), st.integers(0, 2**30 - 1))
def test_bech32_table_polymod_is_the_reference_polymod(values, start):
    plain = start
    for v in values:  # BIP-173's definition, five conditional xors a value
        top = plain >> 25
        plain = (plain & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            plain ^= segwit.GENERATORS[i] if (top >> i) & 1 else 0
    assert segwit.polymod(values, start) == plain == segwit.polymod(bytes(values), start)
    if start == 1:
        assert plain == reference.bech32_polymod(values)


def _reference(hrp: str, text: str) -> tuple[int, bytes] | tuple[None, None]:
    version, program = reference.decode(hrp, text)
    return (None, None) if version is None or program is None else (version, bytes(program))


@settings(max_examples=400)
@given(st.sampled_from(["bc", "tb", "ltc"]), st.integers(0, 17), st.binary(min_size=0, max_size=42),
       st.booleans(), st.integers(0, 6), st.data())
def test_segwit_decoder_agrees_with_the_reference_on_valid_and_damaged_addresses(hrp, version, program, m, damage,
                                                                               data):
    spec = reference.Encoding.BECH32M if m else reference.Encoding.BECH32
    text = reference.bech32_encode(spec, hrp, [version] + reference.convertbits(program, 8, 5))
    at = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.sampled_from(CHARSET + "1bioBQ \u00e9"))
    text = [text, text.upper(), text[:at] + char + text[at + 1:], text[:at] + char + text[at:], text[:at] + text[at + 1:],
            text[:at] + text[at:].upper(), text + "q" * data.draw(st.integers(0, 60))][damage]
    assert segwit.decode(hrp, text) == _reference(hrp, text), text


def test_bitcoin_reads_segwit_addresses_as_before():
    k = key(1)
    address = sign.bitcoin_address(BTC, k, btc.P2WPKH)
    assert check_row(ProofRow("bitcoin", address, (sign.sign_bitcoin(BTC, k, NOW, btc.P2WPKH),)), NOW).status == BOUND
    v = check_row(ProofRow("bitcoin", address.upper(), (sign.sign_bitcoin(BTC, k, NOW, btc.P2WPKH),)), NOW)
    assert v.status == BOUND and v.canonical == address
    for wrong in (address[:-1] + ("q" if address[-1] != "q" else "p"), address[:10] + address[10:].upper()):
        assert check_row(ProofRow("bitcoin", wrong, ("x",)), NOW).status == INVALID


# ------------------------------------------------------------------ CashAddr

def _plain_decode(prefix: str, text: str) -> tuple[bool, bytes, bool] | str:
    """The CashAddr rules as the specification states them, with the plain polymod and the reference
    regrouping (the previous implementation): a decoded address, or the refusal's reason."""
    if text != text.lower() and text != text.upper():
        return "mixed case"
    written, sep, body = text.lower().rpartition(":")
    if sep and written != prefix:
        return "prefix"
    if not body or any(ch not in cashaddr.CHARSET for ch in body):
        return "alphabet"
    values = [cashaddr.CHARSET.index(ch) for ch in body]
    if len(values) < 9 or cashaddr.polymod_plain([ord(ch) & 0x1F for ch in prefix] + [0] + values) != 0:
        return "checksum"
    raw = reference.convertbits(values[:-8], 5, 8, False)
    if raw is None or not raw:
        return "padding"
    version, payload = raw[0], bytes(raw[1:])
    kind, size = version >> 3, version & 7
    if version & 0x80 or kind > 3 or size not in cashaddr.SIZES or len(payload) != cashaddr.SIZES[size] \
            or (kind in (0, 2) and len(payload) != 20):
        return "version"
    return kind in (1, 3), payload, kind in (2, 3)


def _decoded(prefix: str, text: str) -> tuple[bool, bytes, bool] | str:
    try:
        a = cashaddr.decode(prefix, text)
    except Refused as exc:
        why = str(exc)
        for word, short in (("mixed case", "mixed case"), ("checksum", "checksum"), ("prefix", "prefix"),
                            ("alphabet", "alphabet"), ("padding", "padding"), ("version byte", "version"),
                            ("160-bit", "version")):
            if word in why:
                return short
        return why
    return a.script_hash, a.payload, a.tokens


@given(st.lists(st.integers(0, 31), max_size=120))
def test_cashaddr_table_polymod_is_the_specifications_polymod(values):
    assert cashaddr.polymod(values) == cashaddr.polymod_plain(values) == cashaddr.polymod(bytes(values))


@settings(max_examples=400)
@given(st.binary(min_size=20, max_size=20) | st.binary(min_size=32, max_size=32), st.booleans(), st.booleans(),
       st.integers(0, 7), st.data())
def test_cashaddr_codec_agrees_with_the_plain_definition(payload, script_hash, tokens, damage, data):
    script_hash = script_hash or len(payload) == 32
    text = cashaddr.encode("bitcoincash", script_hash, payload, tokens)
    values = [cashaddr.CHARSET.index(c) for c in text.split(":")[1][:-8]]  # the plain encoding of the same address
    plain = values + [(cashaddr.polymod_plain([ord(c) & 0x1F for c in "bitcoincash"] + [0] + values + [0] * 8) >> 5 * (7 - i))
                      & 0x1F for i in range(8)]
    assert text == "bitcoincash:" + "".join(cashaddr.CHARSET[d] for d in plain)
    at = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.sampled_from(cashaddr.CHARSET + ":bQ\u00e9"))
    text = [text, text.upper(), text.split(":")[1], text[:at] + char + text[at + 1:], text[:at] + text[at + 1:],
            text + "q", "ecash:" + text.split(":")[1], text[:at] + text[at:].upper()][damage]
    assert _decoded("bitcoincash", text) == _plain_decode("bitcoincash", text), text


@settings(max_examples=300)
@given(st.lists(st.integers(0, 31), min_size=0, max_size=70))
def test_cashaddr_decoder_agrees_on_any_payload_with_a_valid_checksum(values):
    check = cashaddr.polymod_plain([ord(c) & 0x1F for c in "bitcoincash"] + [0] + values + [0] * 8)
    body = "".join(cashaddr.CHARSET[d] for d in values + [(check >> 5 * (7 - i)) & 0x1F for i in range(8)])
    assert _decoded("bitcoincash", "bitcoincash:" + body) == _plain_decode("bitcoincash", "bitcoincash:" + body)


@given(st.binary(min_size=20, max_size=20) | st.binary(min_size=32, max_size=32), st.booleans(), st.booleans(),
       st.integers(0, 3))
def test_a_cashaddr_already_canonical_is_its_own_canonical_spelling(payload, script_hash, tokens, spelling):
    script_hash = script_hash or len(payload) == 32
    text = cashaddr.encode("bitcoincash", script_hash, payload, tokens)
    text = [text, text.upper(), text.split(":")[1], text.split(":")[1].upper()][spelling]
    address = cashaddr.decode("bitcoincash", text)
    assert cashaddr.canonical("bitcoincash", text, address) == cashaddr.encode("bitcoincash", script_hash, payload)


# ------------------------------------------------------------------ EIP-55

EIP55 = ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
         "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
         "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
         "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]


def _eip55_plain(raw: bytes) -> str:
    plain = raw.hex()
    digest = evm.keccak256(plain.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(plain))


@pytest.mark.parametrize("address", EIP55)
def test_eip55_vectors(address):
    raw = bytes.fromhex(address[2:])
    if address[2:] != address[2:].lower() and address[2:] != address[2:].upper():  # the mixed-case vectors
        assert evm.checksum_address(raw) == address
    assert evm.decode_evm(address) == raw


@given(st.binary(min_size=20, max_size=20))
def test_eip55_as_one_integer_is_the_eips_definition(raw):
    assert evm.checksum_address(raw) == _eip55_plain(raw)


def test_a_wrong_checksum_is_refused_after_the_right_one_was_seen():
    k = key(2)
    address = sign.evm_address(k)
    signature = sign.sign_evm(k, NOW)
    at = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    wrong = address[:at] + address[at].swapcase() + address[at + 1:]
    for _ in range(2):
        assert check_row(ProofRow("ethereum", address, (signature,)), NOW).status == BOUND
        v = check_row(ProofRow("ethereum", wrong, (signature,)), NOW)
        assert v.status == INVALID and "EIP-55 checksum error" in v.reason and address in v.reason
    assert check_row(ProofRow("ethereum", address.lower(), (signature,)), NOW).status == BOUND


def test_evm_prove_binds_the_rows_address_whatever_canonical_it_is_given():
    """``prove`` takes ``canonical`` as check_row computed it; handed another, it still checks the row's own address."""
    a, b = key(3), key(4)
    chain = find_chain("ethereum")
    signed_by_a = sign.sign_evm(a, NOW)
    row_b = ProofRow("ethereum", sign.evm_address(b), (signed_by_a,))
    with pytest.raises(Refused):
        evm.FAMILY.prove(chain, row_b, NOW, sign.evm_address(a).lower())
    row_a = ProofRow("ethereum", sign.evm_address(a), (signed_by_a,))
    assert evm.FAMILY.prove(chain, row_a, NOW, sign.evm_address(b).lower())[0] == "EIP-191 (text)"


# ------------------------------------------------------------------ the order variants are tried in

def _evm_rows(chain: str, variants: list[str]) -> list[tuple[ProofRow, str]]:
    tron = chain == "tron"
    out = []
    for i, variant in enumerate(variants):
        k = key(100 + i)
        address = sign.tron_address(k) if tron else sign.evm_address(k)
        out.append((ProofRow(chain, address, (sign.sign_evm(k, NOW, tron=tron, variant=variant),)),
                    f"{'TIP-191' if tron else 'EIP-191'} ({variant})"))
    return out


@pytest.mark.parametrize("chain", ["ethereum", "tron"])
@pytest.mark.parametrize("pattern", ["keccak then text", "alternate", "random"])
def test_evm_rows_signed_either_way_get_their_own_variant_whatever_came_before(chain, pattern):
    rng = random.Random(pattern)
    variants = {"keccak then text": ["keccak"] * 30 + ["text"] * 5,
                "alternate": ["text", "keccak"] * 12,
                "random": [rng.choice(["text", "keccak"]) for _ in range(30)]}[pattern]
    rows = _evm_rows(chain, variants)
    for row, expected in rows + rows[::-1]:
        v = check_row(row, NOW)
        assert v.status == BOUND and v.reason.startswith(expected + " over"), (v.reason, expected)
    # another key's signature is refused after either variant led, and so is a signature over another text
    (row, _), (other, _) = rows[0], rows[1]
    assert check_row(ProofRow(chain, row.address, other.signatures), NOW).status == INVALID
    k = key(100)
    tron = chain == "tron"
    for variant in ("text", "keccak"):
        elsewhere = sign.sign_evm(k, "another text", tron=tron, variant=variant)
        assert check_row(ProofRow(chain, row.address, (elsewhere,)), NOW).status == INVALID


def test_filecoin_rows_signed_each_way_get_their_own_variant_whatever_came_before():
    rng = random.Random(7)
    variants = ["Lotus WalletSign", "FRC-102 personal message", "OKX's framing, keccak-256"]
    chosen = [variants[2]] * 20 + [variants[1]] * 5 + [rng.choice(variants) for _ in range(25)] + [variants[0]] * 3
    rows = []
    for i, variant in enumerate(chosen):
        k = key(300 + i)
        rows.append((ProofRow("filecoin", sign.filecoin_address(k), (sign.sign_filecoin(k, NOW, variant),)), variant))
    for row, variant in rows + rows[::-1]:
        v = check_row(row, NOW)
        assert v.status == BOUND and v.reason.startswith(f"secp256k1 ({variant}) over"), (v.reason, variant)
    assert check_row(ProofRow("filecoin", rows[0][0].address, rows[1][0].signatures), NOW).status == INVALID


def test_variant_order_is_a_permutation_led_by_the_most_successful_and_bounded():
    order = VariantOrder(limit=4)
    assert list(order.order("a", 3)) == [0, 1, 2]
    order.proved("a", 2, 3)
    assert list(order.order("a", 3)) == [2, 0, 1]
    order.proved("a", 0, 3)  # a tie keeps the leader
    assert list(order.order("a", 3)) == [2, 0, 1]
    order.proved("a", 0, 3)
    assert list(order.order("a", 3)) == [0, 1, 2]
    assert list(order.order("a", 2)) == [0, 1]  # another count: the plain order
    for n in range(10):
        order.proved(n, 1, 2)
        assert sorted(order.order(n, 2)) == [0, 1]
    assert len(order._wins) <= 4 and len(order._order) <= 4
    order = VariantOrder()
    for _ in range(10_000):  # a long run signed one way, then the other: followed within CAP rows
        order.proved("b", 1, 2)
    switched = next(n for n in range(1, 100) if (order.proved("b", 0, 2), order.order("b", 2)[0])[1] == 0)
    assert switched <= CAP
    for _ in range(1_000):  # strict alternation keeps its leader
        order.proved("b", 0, 2)
        order.proved("b", 1, 2)
        assert order.order("b", 2)[0] == 0


# ------------------------------------------------------------------ Filecoin's base32

@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=80))
def test_filecoin_base32_is_the_standard_librarys(text):
    try:
        raw = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        with pytest.raises(Refused, match="whole number of bytes"):
            filecoin._base32(text)
        return
    assert filecoin._base32(text) == (raw, filecoin._b32(raw) == text)


def test_filecoin_address_with_other_unused_bits_is_refused():
    address = sign.filecoin_address(key(5))
    body = address[2:]
    spare = (5 * len(body)) % 8
    assert spare  # an f1 address's 24 bytes take 39 characters and leave 3 bits unused
    last = CHARSET_RFC4648.index(body[-1])
    other = address[:-1] + CHARSET_RFC4648[last ^ 1]
    v = check_row(ProofRow("filecoin", other, ("x",)), NOW)
    assert v.status == INVALID and "padding bits" in v.reason


CHARSET_RFC4648 = "abcdefghijklmnopqrstuvwxyz234567"


# ------------------------------------------------------------------ multisig keys

def _script(m: int, keys: list[bytes]) -> bytes:
    return bytes([0x50 + m]) + b"".join(bytes([len(k)]) + k for k in keys) + bytes([0x50 + len(keys), 0xAE])


@pytest.mark.parametrize("bad_at", [0, 1, 2])
def test_a_script_key_off_the_curve_is_refused_even_when_the_others_signed(bad_at):
    keys = [key(10), key(11), key(12)]
    publics = [k.public_key.format() for k in keys]
    off = b"\x02" + bytes(31) + b"\x05"  # x = 5: no point of secp256k1 has it
    with pytest.raises(Exception):  # noqa: B017 - coincurve's own type
        from coincurve import PublicKey
        PublicKey(off)
    publics[bad_at] = off
    script = _script(2, publics)
    address = sign.script_address(BTC, script, "p2wsh")
    signers = [k for i, k in enumerate(keys) if i != bad_at][:2]
    sigs = tuple(sign.sign_bitcoin(BTC, k, NOW) for k in signers)
    v = check_row(ProofRow("bitcoin", address, sigs, script=script.hex()), NOW)
    assert v.status == INVALID and f"key {bad_at + 1} is not a valid secp256k1 point" in v.reason
    good = _script(2, [k.public_key.format() for k in keys])
    ok = check_row(ProofRow("bitcoin", sign.script_address(BTC, good, "p2wsh"), sigs if bad_at == 2 else
                            tuple(sign.sign_bitcoin(BTC, k, NOW) for k in keys[:2]), script=good.hex()), NOW)
    assert ok.status == BOUND


def test_multisig_refusals_keep_their_order():
    keys = [key(20), key(21), key(22)]
    script = sign.multisig_script(2, keys)
    address = sign.script_address(BTC, script, "p2wsh")
    one, outsider = sign.sign_bitcoin(BTC, keys[0], NOW), sign.sign_bitcoin(BTC, key(99), NOW)
    cases = [((one, "not base64!"), "signature 2: signature is not base64"),
             (("not base64!", outsider), "signature 1: signature is not base64"),
             ((outsider, "not base64!"), "signature 1: its key is not in the script"),
             ((one, one), "signature 2: a second signature by the same key"),
             ((one,), "1 distinct signing key(s) of the 2")]
    for sigs, why in cases:
        v = check_row(ProofRow("bitcoin", address, sigs, script=script.hex()), NOW)
        assert v.status == INVALID and why in v.reason, (sigs, v.reason)
    bad_script = script[:1] + b"\x21" + b"\x02" + bytes(31) + b"\x05" + script[35:]
    v = check_row(ProofRow("bitcoin", sign.script_address(BTC, bad_script, "p2wsh"), (one, "not base64!"),
                           script=bad_script.hex()), NOW)
    assert v.status == INVALID and "key 1 is not a valid secp256k1 point" in v.reason


def test_keccak_is_the_fast_binding_and_agrees_with_pycryptodome():
    """EVM/TRON/Filecoin hash with safe-pysha3 where its wheel exists (Linux: installed by pyproject), and
    its digests are pycryptodome's: Ethereum's Keccak-256, not SHA3-256."""
    import hashlib
    import os
    import platform

    from pipeline.ownership import evm

    if platform.system() == "Linux":
        assert evm._pysha3_keccak is not None
    assert evm.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert evm.keccak256(b"") != hashlib.sha3_256(b"").digest()
    for n in (0, 1, 31, 32, 64, 135, 136, 137, 1000):
        data = os.urandom(n)
        assert evm.keccak256(data) == evm.keccak256_pycryptodome(data)
