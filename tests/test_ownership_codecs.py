"""The address codecs of the Ed25519-side families, written for speed, held to their definitions:
bech32's polymod two values a step (``cardano.polymod``) against BIP-173's one, and on BIP-173 and
BIP-350's test vectors; ``cardano.bech32_decode`` against embit's reference codec (the code it
replaced); ``ed25519.base58_bytes`` against ``base58``; ``ed25519.hex_bytes`` against the regular
expression it replaced; TON's cell hash over integers against the bit-string definition; and the
decoders that skip the re-encoding (Solana, SS58, XRPL classic) against their own fallback path,
which re-encodes. The caches are keyed by the exact text: a non-canonical spelling is refused after
its canonical twin was seen exactly as it is refused in a fresh process."""

from __future__ import annotations

import hashlib
import os
import re

import base58
import pytest
from embit import bech32
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ownership import cardano, ed25519, polkadot, ton, xrpl
from pipeline.ownership.chains import Refused, find_chain
from pipeline.ownership.check import ProofRow, check_row

POLKADOT = find_chain("polkadot")
KUSAMA = find_chain("kusama")
FAST = settings(max_examples=300, deadline=None)


def _outcome(f, *args):
    """``f(*args)``, or the refusal's text: what a caller (and so a verdict) sees."""
    try:
        return ("ok", f(*args))
    except Refused as exc:
        return ("refused", str(exc))


def _clear_caches():
    for f in (ed25519.base58_bytes, cardano.decode_address, cardano._hrp_state, polkadot._decode_address,
              xrpl.decode_address, ton.decode_address, ton.wallet_account):
        f.cache_clear()


# bech32 (cardano) -------------------------------------------------------------------------------------------

BIP173_VALID = ["A12UEL5L", "a12uel5l",
                "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
                "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                "11" + "q" * 82 + "c8247j",
                "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", "?1ezyfcl"]
BIP350_VALID = ["A1LQFN3A", "a1lqfn3a",
                "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
                "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
                "11" + "l" * 82 + "ludsr8",
                "split1checkupstagehandshakeupstreamerranterredcaperredlc445v", "?1v759aa"]
BIP173_INVALID = ["x1b4n0q5v", "li1dgmt3", "A1G7SGD8", "10a06t8", "1qzzfhee", "a1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq9"]


def _reference_bech32_decode(text: str) -> tuple[str, bytes]:
    """``cardano.bech32_decode`` as it was written over embit's reference codec (the definition)."""
    if text != text.lower() and text != text.upper():
        raise Refused("bech32 address in mixed case")
    lower = text.lower()
    hrp, sep, body = lower.rpartition("1")
    if not sep or not hrp or len(body) < 6 or any(ch not in bech32.CHARSET for ch in body):
        raise Refused("not a bech32 address")
    values = [bech32.CHARSET.index(ch) for ch in body]
    if bech32.bech32_verify_checksum(hrp, values) != bech32.Encoding.BECH32:
        raise Refused("not a valid bech32 address (checksum)")
    raw = bech32.convertbits(values[:-6], 5, 8, False)
    if raw is None:
        raise Refused("not a valid bech32 address (its padding)")
    return hrp, bytes(raw)


@FAST
@given(st.lists(st.integers(0, 31), max_size=200), st.integers(0, 2**30 - 1))
def test_the_table_driven_polymod_is_the_definition(values, state):
    assert cardano.polymod(1, bytes(values)) == bech32.bech32_polymod(values)
    chk = state
    for v in values:
        chk = cardano._step(chk, v)
    assert cardano.polymod(state, bytes(values)) == chk


def test_the_table_driven_polymod_on_bip173_and_bip350_vectors():
    for text, const in [(t, 1) for t in BIP173_VALID] + [(t, 0x2BC830A3) for t in BIP350_VALID]:
        hrp, _, body = text.lower().rpartition("1")
        assert cardano.polymod(cardano._hrp_state(hrp), body.encode().translate(cardano._VALUES)) == const, text
        assert _outcome(cardano.bech32_decode, text) == _outcome(_reference_bech32_decode, text), text
    for text in BIP350_VALID:  # bech32m is another checksum: refused, as before
        assert _outcome(cardano.bech32_decode, text) == ("refused", "not a valid bech32 address (checksum)")
    for text in BIP173_INVALID:
        assert _outcome(cardano.bech32_decode, text) == _outcome(_reference_bech32_decode, text), text
        assert _outcome(cardano.bech32_decode, text)[0] == "refused", text


_BECH32_TEXT = st.text(st.sampled_from(bech32.CHARSET + bech32.CHARSET.upper() + "1addr_tesTK\u212a \x00é"), max_size=120)


@FAST
@given(_BECH32_TEXT)
def test_bech32_decode_is_the_reference_on_any_text(text):
    assert _outcome(cardano.bech32_decode, text) == _outcome(_reference_bech32_decode, text)


@FAST
@given(st.binary(max_size=80), st.sampled_from(["addr", "addr_test", "stake", "a"]), st.data())
def test_bech32_decode_is_the_reference_on_encodings_and_their_mutations(raw, hrp, data):
    text = bech32.bech32_encode(bech32.Encoding.BECH32, hrp, bech32.convertbits(raw, 8, 5, True))
    assert cardano.bech32_decode(text) == (hrp, raw) == cardano.bech32_decode(text.upper())
    i = data.draw(st.integers(0, len(text) - 1))
    mutated = text[:i] + data.draw(st.sampled_from(bech32.CHARSET + "1B")) + text[i + 1:]
    assert _outcome(cardano.bech32_decode, mutated) == _outcome(_reference_bech32_decode, mutated)
    longer = text[:-6] + "q" + text[-6:]  # one more 5-bit group: padding of 5 bits or more, or a bad checksum
    assert _outcome(cardano.bech32_decode, longer) == _outcome(_reference_bech32_decode, longer)


@FAST
@given(st.sampled_from([(0x01, 57), (0x21, 57), (0x61, 29), (0x41, 40), (0x71, 29), (0x00, 57)]), st.binary(min_size=56, max_size=56),
       st.booleans())
def test_the_canonical_cardano_spelling_is_the_reencoding(header, tail, upper):
    kind, size = header
    raw = bytes([kind]) + tail[:size - 1]
    text = cardano.canonical_address(raw)
    if upper:
        text = text.upper()
    chain = find_chain("cardano")
    assert _outcome(cardano.FAMILY.canonical, chain, text) == _outcome(
        lambda c, t: cardano.canonical_address(cardano.decode_address(t)), chain, text)


# base58 ---------------------------------------------------------------------------------------------------------

@FAST
@given(st.sampled_from([ed25519.BITCOIN_ALPHABET, ed25519.XRP_ALPHABET]), st.data())
def test_base58_bytes_is_base58s_decoding_and_the_one_spelling(alphabet, data):
    text = data.draw(st.text(st.sampled_from(alphabet), max_size=120))
    raw = ed25519.base58_bytes(text, alphabet)
    assert raw == base58.b58decode(text, alphabet=alphabet.encode())
    assert base58.b58encode(raw, alphabet=alphabet.encode()).decode() == text
    blob = data.draw(st.binary(max_size=70))
    assert ed25519.base58_bytes(base58.b58encode(blob, alphabet=alphabet.encode()).decode(), alphabet) == blob


@pytest.mark.parametrize("text", ["abc ", " abc", "ab0c", "abOc", "abIc", "abl c", "ab\u00e9", "ab\n", "\u0661"])
def test_base58_bytes_leaves_other_characters_to_the_caller(text):
    assert ed25519.base58_bytes(text) is None


# hex ---------------------------------------------------------------------------------------------------------

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def _reference_hex(text: str, what: str) -> bytes:
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if not _HEX.fullmatch(body):
        raise Refused(f"{what} is not hex")
    return bytes.fromhex(body)


@FAST
@given(st.text(st.sampled_from("0123456789abcdefABCDEFxX gG\t\n\u0661\uff10"), max_size=12))
def test_hex_bytes_is_the_regular_expression(text):
    assert _outcome(ed25519.hex_bytes, text, "it") == _outcome(_reference_hex, text, "it")


@pytest.mark.parametrize("text", ["", "0x", "0", "abc", "ab cd", "ab\tcd", "ab\n", " ab", "0xab ", "\u0661\u0662", "0X0x"])
def test_hex_bytes_refuses_what_the_expression_refused(text):
    assert _outcome(ed25519.hex_bytes, text, "it") == _outcome(_reference_hex, text, "it") == ("refused", "it is not hex")


# TON cells ----------------------------------------------------------------------------------------------------

def _reference_cell(bits: str, refs: tuple[tuple[bytes, int], ...] = ()) -> tuple[bytes, int]:
    """TON's ordinary cell hash over a string of 0/1 (the definition the integer form replaced)."""
    size = len(bits)
    padded = bits + ("1" + "0" * (7 - size % 8) if size % 8 else "")
    data = int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""
    descriptors = bytes([len(refs), size // 8 + (size + 7) // 8])
    body = descriptors + data + b"".join(d.to_bytes(2, "big") for _, d in refs) + b"".join(h for h, _ in refs)
    return hashlib.sha256(body).digest(), 1 + max(d for _, d in refs) if refs else 0


def _reference_data_bits(wallet: ton.Wallet, public: bytes) -> str:
    def uint(value: int, width: int) -> str:
        return format(value, f"0{width}b")
    key = uint(int.from_bytes(public, "big"), 256)
    if wallet.name in ("v3r1", "v3r2"):
        return uint(0, 32) + uint(wallet.wallet_id, 32) + key
    if wallet.name == "v4r2":
        return uint(0, 32) + uint(wallet.wallet_id, 32) + key + "0"
    if wallet.name == "v5r1":
        return "1" + uint(0, 32) + uint(wallet.wallet_id, 32) + key + "0"
    return key + uint(wallet.wallet_id, 32) + "0" + "0" + uint(0, 64) + uint(wallet.timeout, 22)


@FAST
@given(st.integers(0, 400).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2**n - 1))))
def test_the_cell_hash_over_an_integer_is_the_bit_string_definition(case):
    size, value = case
    bits = format(value, f"0{size}b") if size else ""
    refs = ((hashlib.sha256(bits.encode()).digest(), size % 9),)
    assert ton._cell(value, size) == _reference_cell(bits)
    assert ton._cell(value, size, refs) == _reference_cell(bits, refs)


@FAST
@given(st.binary(min_size=32, max_size=32), st.sampled_from(list(ton.WALLETS)), st.integers(0, 2**32 - 1),
       st.integers(0, 2**22 - 1))
def test_the_wallet_accounts_are_the_bit_string_definition(public, name, wallet_id, timeout):
    w = ton.WALLETS[name]
    for wallet in (w, ton.Wallet(w.name, w.code_hash, w.code_depth, wallet_id, timeout)):
        data = _reference_cell(_reference_data_bits(wallet, public))
        account, _ = _reference_cell("00110", ((wallet.code_hash, wallet.code_depth), data))
        assert ton.wallet_account(wallet, public) == account


# the decoders without a re-encoding, against their own re-encoding path ---------------------------------------------

def _slow(f, *args):
    """``f(*args)`` with the fast base58 reading switched off: base58's decoding and the re-encoding."""
    _clear_caches()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ed25519, "base58_bytes", lambda text, alphabet=ed25519.BITCOIN_ALPHABET: None)
        out = _outcome(f, *args)
    _clear_caches()
    return out


def _ss58(prefix: bytes, public: bytes) -> str:
    body = prefix + public
    return base58.b58encode(body + polkadot._checksum(body)).decode()


def _spellings(draw_public: bytes) -> list[tuple[str, object]]:
    """Addresses of every decoder, canonical and not (the same key in another prefix encoding, with
    trailing whitespace, one character off, other networks)."""
    pub = draw_public
    classic = xrpl.classic_address(pub[:20])
    sol = base58.b58encode(pub).decode()
    out: list[tuple[str, object]] = []
    for text in (_ss58(b"\x00", pub), _ss58(b"\x02", pub), _ss58(b"\x2a", pub), _ss58(b"\x40\x00", pub),
                 _ss58(b"\x40\x80", pub), _ss58(bytes([0x40 | 0, 0x00]), pub), _ss58(b"\x7f\xff", pub)):
        out += [(t, "polkadot") for t in (text, text + " ", text + "\n", text[:-1] + "1", "1" + text, text[1:])]
    out += [(t, "xrpl") for t in (classic, classic + " ", classic + "\t", classic[:-1] + "r", "r" + classic, classic[1:],
                                   "X" + classic[1:], base58.b58encode_check(b"\x01" + pub[:20], alphabet=base58.XRP_ALPHABET).decode())]
    out += [(t, "solana") for t in (sol, sol + " ", sol + "\n", "1" + sol, sol[1:], sol + "1", sol.replace("1", "l"))]
    return out


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_the_decoders_without_a_reencoding_are_their_reencoding_path(public):
    for text, family in _spellings(public):
        if family == "polkadot":
            for chain in (POLKADOT, KUSAMA):
                _clear_caches()
                assert _outcome(polkadot.decode_address, chain, text) == _slow(polkadot.decode_address, chain,
                                                                                text), text
        elif family == "xrpl":
            _clear_caches()
            assert _outcome(xrpl.decode_address, text) == _slow(xrpl.decode_address, text), text
        else:
            _clear_caches()
            assert _outcome(ed25519.decode_solana, text) == _slow(ed25519.decode_solana, text), text


def test_a_two_byte_prefix_spelling_of_polkadot_is_refused_after_its_canonical_twin():
    public = os.urandom(32)
    canonical, twin = _ss58(b"\x00", public), _ss58(b"\x40\x00", public)  # both decode to network 0
    _clear_caches()
    fresh = _outcome(polkadot.decode_address, POLKADOT, twin)
    assert fresh == ("refused", "not the canonical SS58 spelling of its bytes")
    assert polkadot.decode_address(POLKADOT, canonical) == public
    assert _outcome(polkadot.decode_address, POLKADOT, twin) == fresh
    assert _outcome(polkadot.decode_address, KUSAMA, canonical)[0] == "refused"  # the cache is keyed by the network too
    assert polkadot.decode_address(POLKADOT, canonical) == public


def _vector_rows(family: str) -> list[ProofRow]:
    import json
    from tests.support.vectors import make

    doc = json.loads((make.COMMITTED / f"{family}.json").read_text(encoding="utf-8"))
    return [ProofRow(v["chain"], v["address"], tuple(v["signatures"]), v["message"], v["script"], tuple(v["owners"]))
            for v in doc["vectors"]]


@pytest.mark.parametrize("family", ["solana", "xrpl", "polkadot", "cardano", "ton", "sui"])
def test_a_twin_spelling_gets_the_verdict_of_a_fresh_process_after_the_canonical_row(family):
    """Each golden vector's row, then spellings of its address that are not its canonical one (case
    changed, trailing whitespace, a leading zero digit, one character short): the verdict of each twin
    after the canonical row was checked is its verdict with every cache empty."""
    for row in _vector_rows(family):
        a = row.address
        for twin in {a.upper(), a.lower(), a.swapcase(), a + " ", a + "\n", "1" + a, a[:-1], a[1:]} - {a}:
            twin_row = ProofRow(row.chain, twin, row.signatures, row.message, row.script, row.owners)
            _clear_caches()
            fresh = check_row(twin_row, row.message)
            _clear_caches()
            first = check_row(row, row.message)
            assert first.status in ("bound", "unbound"), (row, first)
            assert check_row(twin_row, row.message) == fresh, (twin, fresh)
            assert check_row(row, row.message) == first
