"""The Cardano family: Shelley payment addresses, and CIP-8 message signatures as CIP-30 wallets'
``signData`` produces them.

* Address (CIP-19): bech32 with the human-readable part ``addr`` (mainnet; ``addr_test`` is another
  network and refused) over a header byte (type in the high four bits, network id 1 in the low four)
  and the credentials. The payment credential is a key hash for types 0 (base), 2 (base, script
  stake part), 4 (pointer) and 6 (enterprise); types 1, 3, 5, 7 pay to a script (unsupported here),
  stake (``stake1…``) addresses hold no payments. Byron (legacy, base58 ``Ae2…``/``DdzFF…``: CBOR
  ``[#6.24(bytes), crc32(bytes)]``) addresses are read as written and reported unsupported. The key hash is
  ``blake2b-224`` of the 32-byte Ed25519 payment key. Canonical spelling: the lower-case bech32
  (Cardano's addresses are longer than bech32's 90 characters: the checksum and the regrouping are
  embit's, the length limit is not applied).
* What is signed (CIP-8, as CIP-30 ``signData(address, hex(utf8(message)))`` returns it): a
  COSE_Sign1 (RFC 9052) ``[protected, unprotected, payload, signature]`` whose protected header (a
  CBOR map in a byte string) holds ``1: -8`` (EdDSA) and ``"address"``: the row's address in bytes;
  the unprotected header may say ``"hashed": true`` (the payload is then the ``blake2b-224`` of the
  message) and otherwise the payload is the message's UTF-8 bytes (or null: detached, the row's
  message). The signature is Ed25519, by the strict rules of ``ed25519``, over the CBOR of
  ``["Signature1", protected, h'', payload]``.
* The row: ``signatures`` holds the COSE_Sign1 (CBOR, hex; CBOR tag 18 allowed), ``script`` the
  COSE_Key CIP-30 returns beside it (CBOR map, hex: kty 1 OKP, crv 6 Ed25519, ``-2`` the key) or the
  bare 32-byte key in hex. The key's hash must be the address's payment key hash.
* Also read: what a major exchange's published files carry for Cardano, a bare 64-byte Ed25519
  signature (hex) over ``rules.okx_framed(message)``, with the payment key in ``script`` (its
  verifier derives the enterprise address).
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zlib
from typing import Any

import base58
import cbor2
from embit import bech32

from . import ed25519
from .chains import Chain, Family, Refused
from .rules import ProofRow, Unsupported, okx_framed, one_signature

HRP, TESTNET_HRP = "addr", "addr_test"
MAINNET = 1
KEY_PAYMENT_TYPES = {0: "base", 2: "base", 4: "pointer", 6: "enterprise"}
SCRIPT_PAYMENT_TYPES = {1: "base", 3: "base", 5: "pointer", 7: "enterprise"}
EDDSA = -8
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def blake2b_224(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=28).digest()


_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32 = 1
_CHARSET = frozenset(bech32.CHARSET)
_VALUES = bytes(bech32.CHARSET.index(chr(c)) if chr(c) in bech32.CHARSET else 0xFF for c in range(256))
_AS_BASE32_DIGITS = str.maketrans(bech32.CHARSET, "0123456789abcdefghijklmnopqrstuv")


def _step(chk: int, value: int) -> int:
    """One step of bech32's polymod (BIP-173), as its definition writes it."""
    top = chk >> 25
    chk = (chk & 0x1FFFFFF) << 5 ^ value
    for i in range(5):
        chk ^= _GENERATOR[i] if (top >> i) & 1 else 0
    return chk


_PAIR = tuple(_step(_step(x << 20, 0), 0) for x in range(1024))
"""Two steps of the polymod at once: what the top ten bits of the 30-bit state add (it is linear over
GF(2): two steps of ``chk`` and values ``a``, ``b`` are ``_PAIR[chk >> 20] ^ (chk & 0xFFFFF) << 10 ^ a << 5 ^ b``)."""


@functools.lru_cache(maxsize=16)
def _hrp_state(hrp: str) -> int:
    """The polymod's state after the expanded ``hrp`` (``embit.bech32.bech32_hrp_expand``), by the definition."""
    chk = 1
    for value in bech32.bech32_hrp_expand(hrp):
        chk = _step(chk, value)
    return chk


def polymod(chk: int, values: bytes) -> int:
    """bech32's polymod from state ``chk`` over ``values`` (each below 32), two values a step
    (``_PAIR``): a table lookup per two characters instead of ten conditional xors. Written here: the
    one codec the project uses, embit's, is the reference implementation in Python (one step per value,
    five xors each), and no compiled bech32 package is among the project's dependencies."""
    if len(values) % 2:
        chk = _step(chk, values[0])
        values = values[1:]
    for a, b in zip(values[::2], values[1::2], strict=True):
        chk = _PAIR[chk >> 20] ^ (chk & 0xFFFFF) << 10 ^ a << 5 ^ b
    return chk


def bech32_decode(text: str) -> tuple[str, bytes]:
    """``(hrp, bytes)`` of a bech32 string of any length, canonical (lower case, zero padding), or ``Refused``.
    The canonical spelling of the bytes under the hrp is then ``text.lower()`` (``canonical_address``):
    the 5-bit groups are the bytes' own with zero padding of fewer than five bits, and the checksum is
    the one that ends the polymod at 1."""
    if text != text.lower() and text != text.upper():
        raise Refused("bech32 address in mixed case")
    lower = text.lower()
    hrp, sep, body = lower.rpartition("1")
    if not sep or not hrp or len(body) < 6 or not _CHARSET.issuperset(body):
        raise Refused("not a bech32 address")
    values = body.encode("ascii").translate(_VALUES)
    if polymod(_hrp_state(hrp), values) != _BECH32:
        raise Refused("not a valid bech32 address (checksum)")
    groups = len(body) - 6  # embit's convertbits(values[:-6], 5, 8, False): zero padding of fewer than 5 bits
    padding = 5 * groups % 8
    number = int(body[:-6].translate(_AS_BASE32_DIGITS), 32) if groups else 0
    if padding >= 5 or number & ((1 << padding) - 1):
        raise Refused("not a valid bech32 address (its padding)")
    return hrp, (number >> padding).to_bytes(5 * groups // 8, "big")


def byron_address(text: str) -> bool:
    """Whether ``text`` is a Byron address: base58 of CBOR ``[#6.24(payload), crc32(payload)]``."""
    if not text[:3] == "Ae2" and not text[:5] == "DdzFF":
        return False
    try:
        value = cbor2.loads(base58.b58decode(text))
    except Exception:  # noqa: BLE001 - not base58, or not CBOR (cbor2's own decode errors)
        return False
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], cbor2.CBORTag) and value[0].tag == 24
            and isinstance(value[0].value, bytes) and value[1] == zlib.crc32(value[0].value))


@functools.lru_cache(maxsize=8)
def decode_address(text: str) -> bytes:
    """The address's bytes (header and credentials), or ``Refused`` naming why it is not a Shelley
    mainnet address."""
    if text[:5].lower() == "stake":
        raise Refused("a stake (reward) address holds no payments; give the payment address (addr1…)")
    if text[:4].lower() != HRP:
        raise Refused("not a Cardano address (a Shelley addr1… in bech32, or a valid Byron base58 address)")
    hrp, raw = bech32_decode(text)
    if hrp == TESTNET_HRP:
        raise Refused("a Cardano testnet address (addr_test); the chain is mainnet (addr)")
    if hrp != HRP:
        raise Refused(f"human-readable part {hrp!r} is not a Cardano payment address's 'addr'")
    if not raw:
        raise Refused("an empty Cardano address")
    kind, network = raw[0] >> 4, raw[0] & 0x0F
    if network != MAINNET:
        raise Refused(f"header network id {network} is not mainnet's 1")
    if kind in (0, 1, 2, 3) and len(raw) != 57 or kind in (6, 7) and len(raw) != 29 or kind in (4, 5) and len(raw) <= 29:
        raise Refused(f"a type-{kind} Cardano address of {len(raw)} bytes (base 57, enterprise 29, pointer more)")
    if kind > 7:
        raise Refused(f"header type {kind} is not a Shelley payment address")
    return raw


def canonical_address(raw: bytes) -> str:
    data = bech32.convertbits(raw, 8, 5, True)
    assert data is not None
    text: str = bech32.bech32_encode(bech32.Encoding.BECH32, HRP, data)
    return text


def _cbor(raw: bytes, what: str) -> Any:
    """One CBOR item filling ``raw`` exactly, or ``Refused``."""
    stream = io.BytesIO(raw)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception:  # noqa: BLE001 - cbor2 raises its own decode errors (and ValueError, OverflowError...)
        raise Refused(f"{what} is not CBOR") from None
    if stream.tell() != len(raw):
        raise Refused(f"{what} has bytes after its CBOR item")
    return value


def public_key(script: str | None) -> bytes:
    """The Ed25519 key of the row's ``script``: a COSE_Key (CBOR map) or 32 bytes, hex."""
    if not script:
        raise Refused("a Cardano address is proven with its payment key (script column: the COSE_Key signData "
                      "returns, or the 32-byte key); none given")
    raw = ed25519.hex_bytes(script, "the key (script column)")
    if len(raw) == 32:
        return raw
    key = _cbor(raw, "the COSE_Key (script column)")
    if not isinstance(key, dict):
        raise Refused("the COSE_Key (script column) is not a CBOR map")
    for label, want, what in ((1, 1, "kty (OKP)"), (3, EDDSA, "alg (EdDSA)"), (-1, 6, "crv (Ed25519)")):
        if label in key and key[label] != want:
            raise Refused(f"the COSE_Key's {what} label {label} is {key[label]!r}, not {want}")
    public = key.get(-2)
    if not isinstance(public, bytes) or len(public) != 32:
        raise Refused("the COSE_Key has no 32-byte Ed25519 key (label -2)")
    return public


def signed_data(signature: str, address: bytes, message: str) -> tuple[bytes, bytes]:
    """``(Sig_structure, signature)`` of a COSE_Sign1 over ``message`` for ``address``, or ``Refused``."""
    sign1 = _cbor(ed25519.hex_bytes(signature, "the signature (COSE_Sign1)"), "the signature (COSE_Sign1)")
    if isinstance(sign1, cbor2.CBORTag) and sign1.tag == 18:
        sign1 = sign1.value
    if not (isinstance(sign1, list) and len(sign1) == 4):
        raise Refused("the signature is not a COSE_Sign1 (a CBOR array of four)")
    protected, unprotected, payload, raw = sign1
    if not isinstance(protected, bytes) or not isinstance(unprotected, dict) or not isinstance(raw, bytes):
        raise Refused("the COSE_Sign1's headers or signature are not of their types (bstr, map, bstr)")
    headers = _cbor(protected, "the COSE_Sign1's protected header") if protected else {}
    if not isinstance(headers, dict):
        raise Refused("the COSE_Sign1's protected header is not a CBOR map")
    if headers.get(1) != EDDSA:
        raise Refused(f"the COSE_Sign1's algorithm (label 1) is {headers.get(1)!r}, not EdDSA (-8)")
    signed_for = headers.get("address")
    if not isinstance(signed_for, bytes):
        raise Refused("the COSE_Sign1's protected header names no address (CIP-8 'address')")
    if signed_for != address:
        raise Refused("the COSE_Sign1 was signed for another address (its protected 'address' header is not this row's)")
    hashed = unprotected.get("hashed", False)
    if not isinstance(hashed, bool):
        raise Refused("the COSE_Sign1's 'hashed' header is not a boolean")
    text = message.encode("utf-8")
    expected = blake2b_224(text) if hashed else text
    if payload is None:
        payload = expected
    elif payload != expected:
        raise Refused("the COSE_Sign1's payload is not the row's message (signed over another text)")
    return cbor2.dumps(["Signature1", protected, b"", payload]), raw


class CardanoFamily:
    """Cardano's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.CARDANO

    def canonical(self, chain: Chain, address: str) -> str:
        if byron_address(address):
            return address
        decode_address(address)  # a Shelley address of hrp addr: its canonical spelling is its lower case
        return address.lower()

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        if byron_address(row.address):
            raise Unsupported("a Byron (legacy) address: its key cannot be checked from a CIP-8 signature here")
        raw = decode_address(row.address)
        kind = raw[0] >> 4
        if kind in SCRIPT_PAYMENT_TYPES:
            raise Unsupported(f"a {SCRIPT_PAYMENT_TYPES[kind]} address paying to a script (native or Plutus): "
                              "its owners cannot be checked offline")
        signature = one_signature(row)
        public = public_key(row.script)
        if blake2b_224(public) != raw[1:29]:
            raise Refused("the key does not give the address: its blake2b-224 is not the address's payment key hash")
        body = signature[2:] if signature[:2] in ("0x", "0X") else signature
        if len(body) == 128 and _HEX.fullmatch(body):  # a bare Ed25519 signature: OKX's framing
            ed25519.verify(public, bytes.fromhex(body), okx_framed(message))
            return f"Ed25519 over OKX's framing (payment key, {KEY_PAYMENT_TYPES[kind]} address)", ""
        data, sig = signed_data(signature, raw, message)
        ed25519.verify(public, sig, data)
        return f"CIP-8 COSE_Sign1 (Ed25519 payment key, {KEY_PAYMENT_TYPES[kind]} address)", ""


FAMILY = CardanoFamily()
