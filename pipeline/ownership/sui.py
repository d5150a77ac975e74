"""The Sui family: addresses of Ed25519, secp256k1 and secp256r1 keys, and Sui's personal-message
signatures (``signPersonalMessage`` of ``@mysten/sui`` and of Sui's wallets).

* Address: ``0x`` and the 64 hex digits of ``blake2b-256(flag ‖ public key)``, flag 0x00 Ed25519
  (a 32-byte key), 0x01 secp256k1 and 0x02 secp256r1 (33-byte compressed keys). Shorter spellings
  with leading zeros dropped are the same address (``normalizeSuiAddress``). Canonical spelling:
  ``0x`` and 64 lower-case hex digits.
* What is signed: the intent message ``[3, 0, 0] ‖ BCS(vector<u8>)(message)`` (intent scope 3,
  PersonalMessage; version 0; app id 0, Sui; the message's UTF-8 bytes behind their ULEB128
  length), hashed with blake2b-256. Ed25519 signs that digest (strict rules, ``ed25519``);
  secp256k1 and secp256r1 sign it with ECDSA over SHA-256 of the digest, 64 bytes ``r ‖ s`` with a
  low S (as Sui's verifiers require).
* The signature: Sui's serialized form, base64 of ``flag ‖ signature ‖ public key``, so the row
  needs no key; a key given in ``script`` must be the signature's. Multisig (0x03), zkLogin (0x05)
  and passkey (0x06) signatures are not supported.
* Also read: what a major exchange's published files carry for Sui, a bare 64-byte Ed25519
  signature (hex) over ``rules.okx_framed(message)`` with the 32-byte Ed25519 key in ``script``
  (the address ``blake2b-256(0x00 ‖ key)``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re

from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import ed25519
from .chains import Chain, Family, Refused
from .rules import ProofRow, Unsupported, okx_framed, one_signature

ED25519, SECP256K1, SECP256R1 = 0x00, 0x01, 0x02
SCHEMES = {ED25519: ("Ed25519", 32), SECP256K1: ("secp256k1", 33), SECP256R1: ("secp256r1", 33)}
OTHER_SCHEMES = {0x03: "multisig", 0x05: "zkLogin", 0x06: "passkey"}
PERSONAL_MESSAGE_INTENT = bytes([3, 0, 0])
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{1,64}")
_HEX = re.compile(r"(0x)?(?:[0-9a-fA-F]{2})+")


def decode_address(text: str) -> str:
    """The canonical spelling (0x + 64 lower-case hex digits), or ``Refused``."""
    if not _ADDRESS.fullmatch(text):
        raise Refused("not a Sui address (0x followed by up to 64 hex digits)")
    return "0x" + text[2:].lower().rjust(64, "0")


def address_of(flag: int, public: bytes) -> str:
    return "0x" + hashlib.blake2b(bytes([flag]) + public, digest_size=32).hexdigest()


def _uleb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@functools.lru_cache(maxsize=64)
def personal_message_digest(message: str) -> bytes:
    """blake2b-256 of the PersonalMessage intent message of ``message`` (cached per text)."""
    data = message.encode("utf-8")
    return hashlib.blake2b(PERSONAL_MESSAGE_INTENT + _uleb128(len(data)) + data, digest_size=32).digest()


def parse_signature(text: str) -> tuple[int, bytes, bytes]:
    """``(flag, signature, public key)`` of a serialized Sui signature, or ``Refused``/``Unsupported``."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("the signature is not base64 (Sui's serialized flag ‖ signature ‖ public key)") from None
    if not raw:
        raise Refused("the signature is empty")
    flag = raw[0]
    if flag in OTHER_SCHEMES:
        raise Unsupported(f"a {OTHER_SCHEMES[flag]} signature (flag {flag:#04x}): only single Ed25519, secp256k1 and "
                          "secp256r1 keys are supported")
    if flag not in SCHEMES:
        raise Refused(f"signature flag {flag:#04x} names no Sui signature scheme")
    scheme, size = SCHEMES[flag]
    if len(raw) != 1 + 64 + size:
        raise Refused(f"a serialized {scheme} signature is {1 + 64 + size} bytes, not {len(raw)}")
    return flag, raw[1:65], raw[65:]


def _check_ecdsa(flag: int, public: bytes, signature: bytes, digest: bytes) -> None:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if flag == SECP256K1:
        try:
            key = PublicKey(public)
            der = cdata_to_der(deserialize_compact(signature))
        except Exception:  # noqa: BLE001 - coincurve's own types: a key off the curve, r or s out of range
            raise Refused("the secp256k1 key or signature does not decode") from None
        if not key.verify(der, hashlib.sha256(digest).digest(), hasher=None):  # libsecp256k1 refuses a high S too
            raise Refused("the secp256k1 signature does not verify under its key (another text, or a high S)")
        return
    if not (0 < r < P256_ORDER and 0 < s <= P256_ORDER // 2):
        raise Refused("the secp256r1 signature's r or s is out of range (S must be low)")
    try:
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
        point.verify(encode_dss_signature(r, s), digest, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Refused("the secp256r1 signature does not verify under its key (another key or another text)") from None


class SuiFamily:
    """Sui's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.SUI

    def canonical(self, chain: Chain, address: str) -> str:
        return decode_address(address)

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        text = one_signature(row)
        if _HEX.fullmatch(text) and len(text.removeprefix("0x")) == 128:  # a bare Ed25519 signature: OKX's framing
            given = (row.script or "").removeprefix("0x")
            if not (_HEX.fullmatch(given) and len(given) == 64):
                raise Refused("a bare Ed25519 signature (OKX's framing) is proven with its 32-byte key in the script "
                              "column; none given")
            public = bytes.fromhex(given)
            if address_of(ED25519, public) != canonical:
                raise Refused("the public key does not derive the address (blake2b-256 of flag and key)")
            ed25519.verify(public, bytes.fromhex(text.removeprefix("0x")), okx_framed(message))
            return "Ed25519 over OKX's framing (Sui)", ""
        flag, signature, public = parse_signature(text)
        if row.script:
            given = row.script.removeprefix("0x")
            if not _HEX.fullmatch(given) or bytes.fromhex(given) not in (public, bytes([flag]) + public):
                raise Refused("the public key (script column) is not the signature's")
        if address_of(flag, public) != canonical:
            raise Refused("the signature's public key does not derive the address (blake2b-256 of flag and key): "
                          "signed by another key")
        digest = personal_message_digest(message)
        if flag == ED25519:
            ed25519.verify(public, signature, digest)
        else:
            _check_ecdsa(flag, public, signature, digest)
        return f"{SCHEMES[flag][0]} (Sui personal message)", ""


FAMILY = SuiFamily()
