"""The Filecoin family: f1 (secp256k1) addresses, and the signatures Lotus's ``WalletSign`` makes.

* Address: ``f`` (mainnet; ``t`` is a test network and refused), the protocol digit, and for
  protocols 1 (secp256k1), 2 (actor) and 3 (BLS) the lower-case base32 (RFC 4648 alphabet, no
  padding) of ``payload ‖ checksum``, the checksum ``blake2b-32(protocol ‖ payload)``; an f1
  payload is ``blake2b-160`` of the 65-byte uncompressed public key. Protocol 0 (ID) is a decimal
  number, protocol 4 (delegated, e.g. ``f410…``) a namespace number, ``f`` and base32 of
  ``sub-address ‖ checksum``. Canonical spelling: the address as written (one spelling per address;
  upper case is refused, as Lotus refuses it). Only f1 addresses are proven; f0, f2, f3 and f4 are
  decoded (so duplicates are found) and reported unsupported.
* What is signed: Lotus ``WalletSign(address, bytes)`` (``lotus wallet sign``; ``iso-filecoin``
  ``sign``) signs ``blake2b-256`` of the message's UTF-8 bytes with a recoverable secp256k1
  signature, ``r ‖ s ‖ recovery id`` (65 bytes). FRC-102's personal-message signing (Filsnap, the
  Ledger app; ``iso-filecoin`` ``personalSign``) signs ``blake2b-256("\\x19Filecoin Signed
  Message:\\n" ‖ decimal(len(bytes)) ‖ bytes)``; a major exchange's published files sign
  ``keccak-256(rules.okx_framed(message))``: all three are read, and the proof names which.
* The signature: hex of the 65 bytes, or of the 66 bytes Lotus prints (type byte 0x01, secp256k1,
  first; 0x02, BLS, is not supported), or base64 of the 65 bytes (Lotus's JSON ``Data``); the last
  byte a recovery id 0–3, or 27–34 as Bitcoin-style headers write it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re

from coincurve import PublicKey

from .chains import Chain, Family, Refused
from .evm import keccak256

from .rules import ProofRow, Unsupported, okx_framed, one_signature
from .variant_order import VariantOrder

MAINNET, TESTNET = "f", "t"
SECP256K1, ACTOR, BLS, ID, DELEGATED = 1, 2, 3, 0, 4
PAYLOAD_SIZES = {SECP256K1: 20, ACTOR: 20, BLS: 48}
FRC_102_PREFIX = b"\x19Filecoin Signed Message:\n"
_ALPHABET = re.compile(r"[a-z2-7]+")
_DIGITS = str.maketrans("abcdefghijklmnopqrstuvwxyz234567", "0123456789abcdefghijklmnopqrstuv")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{130,132}")
ORDER = VariantOrder()
"""Which digest proved most rows of a text so far: tried first (every one is tried before refusing)."""


def blake2b(data: bytes, size: int) -> bytes:
    return hashlib.blake2b(data, digest_size=size).digest()


def _base32(text: str) -> tuple[bytes, bool]:
    """The bytes ``text`` (lower-case base32, no padding) spells, and whether its unused last bits are
    zero (else it is not the canonical spelling of those bytes), or ``Refused``.

    As ``base64.b32decode`` reads it, but through one ``int(…, 32)`` (the alphabet mapped onto Python's
    base-32 digits ``0-9a-v``): the standard library's decoder, a Python loop, was a sixth of an f1
    row's cost beyond its signature check, with the re-encoding that checked the unused bits."""
    if not _ALPHABET.fullmatch(text):
        raise Refused("not a Filecoin address (lower-case base32 after the protocol)")
    size, spare = divmod(5 * len(text), 8)
    if spare >= 5:  # 1, 3 or 6 characters past a multiple of 8: no whole number of bytes
        raise Refused("not a Filecoin address (base32 of a whole number of bytes)")
    acc = int(text.translate(_DIGITS), 32)
    return (acc >> spare).to_bytes(size, "big"), not acc & ((1 << spare) - 1)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def f1_address(public_uncompressed: bytes) -> str:
    payload = blake2b(public_uncompressed, 20)
    return f"{MAINNET}{SECP256K1}" + _b32(payload + blake2b(bytes([SECP256K1]) + payload, 4))


@functools.lru_cache(maxsize=8)
def decode_address(text: str) -> tuple[int, bytes]:
    """``(protocol, payload)`` of a mainnet address (an f4's payload: namespace LEB128 ‖ sub-address), or ``Refused``."""
    if text[:1] == TESTNET:
        raise Refused("a Filecoin test network address (t…); the chain is mainnet (f…)")
    if text[:1] != MAINNET or len(text) < 3 or not text[1].isdigit():
        raise Refused("not a Filecoin address (f, a protocol digit, then the payload)")
    protocol, rest = int(text[1]), text[2:]
    if protocol == ID:
        if not rest.isdigit() or str(int(rest)) != rest or int(rest) >= 2**63:
            raise Refused("not a Filecoin ID address (f0 and a decimal actor id)")
        return ID, _leb128(int(rest))
    if protocol == DELEGATED:
        namespace, sep, body = rest.partition("f")
        if not sep or not namespace.isdigit() or str(int(namespace)) != namespace:
            raise Refused("not a Filecoin delegated address (f4, a namespace number, f, then base32)")
        raw, clean = _base32(body)
        payload, check = _leb128(int(namespace)) + raw[:-4], raw[-4:]
    elif protocol in PAYLOAD_SIZES:
        raw, clean = _base32(rest)
        payload, check = raw[:-4], raw[-4:]
        if len(payload) != PAYLOAD_SIZES[protocol]:
            raise Refused(f"a protocol-{protocol} Filecoin address holds {PAYLOAD_SIZES[protocol]} bytes, not {len(payload)}")
    else:
        raise Refused(f"Filecoin address protocol {protocol} is not 0 to 4")
    if len(raw) < 5 or blake2b(bytes([protocol]) + payload, 4) != check:
        raise Refused("not a valid Filecoin address (checksum)")
    if not clean:  # the same bytes, spelled with other unused bits: one address, one spelling
        raise Refused("not the canonical spelling of a Filecoin address (base32 padding bits)")
    return protocol, payload


@functools.lru_cache(maxsize=64)
def message_digests(message: str) -> tuple[tuple[str, bytes], ...]:
    """The digests a signature over ``message`` may sign: Lotus WalletSign's and FRC-102's (cached per text)."""
    data = message.encode("utf-8")
    return (("Lotus WalletSign", blake2b(data, 32)),
            ("FRC-102 personal message", blake2b(FRC_102_PREFIX + str(len(data)).encode("ascii") + data, 32)),
            ("OKX's framing, keccak-256", keccak256(okx_framed(message))))


def _signature(text: str) -> bytes:
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if _HEX_SIGNATURE.fullmatch(body) and len(body) % 2 == 0:
        raw = bytes.fromhex(body)
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise Refused("the signature is not hex or base64") from None
    if len(raw) == 66:
        if raw[0] == 2:
            raise Unsupported("a BLS signature (type byte 0x02): BLS addresses (f3) are not supported")
        if raw[0] != 1:
            raise Refused(f"signature type byte {raw[0]:#04x} is not secp256k1's 0x01")
        raw = raw[1:]
    if len(raw) != 65:
        raise Refused(f"the signature is {len(raw)} bytes, not 65 (r, s, recovery id) or 66 with Lotus's type byte")
    if raw[64] > 3 and not 27 <= raw[64] <= 34:
        raise Refused(f"recovery byte {raw[64]} is neither a recovery id (0 to 3) nor 27 to 34")
    return raw[:64] + bytes([raw[64] if raw[64] <= 3 else (raw[64] - 27) & 3])


class FilecoinFamily:
    """Filecoin's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.FILECOIN

    def canonical(self, chain: Chain, address: str) -> str:
        decode_address(address)
        return address

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        protocol, payload = decode_address(row.address)
        if protocol != SECP256K1:
            kind = {ID: "an ID (f0)", ACTOR: "an actor (f2)", BLS: "a BLS (f3)", DELEGATED: "a delegated (f4)"}[protocol]
            raise Unsupported(f"{kind} address: only secp256k1 (f1) addresses are proven")
        signature = _signature(one_signature(row))
        digests = message_digests(message)
        key = (chain.name, message)
        for k in ORDER.order(key, len(digests)):
            variant, digest = digests[k]
            try:
                public = PublicKey.from_signature_and_message(signature, digest, hasher=None)
            except Exception:  # noqa: BLE001 - coincurve's own exception types: no key recovers
                continue
            if blake2b(public.format(compressed=False), 20) == payload:
                ORDER.proved(key, k, len(digests))
                return f"secp256k1 ({variant})", ""
        raise Refused("the recovered key does not give this address (signed by another key or over another text)")


FAMILY = FilecoinFamily()
