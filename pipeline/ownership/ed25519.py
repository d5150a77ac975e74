"""Ed25519 chains: the signature (64 bytes) is over the UTF-8 bytes of the message, and the
address must derive from the given public key:

* Solana: the address is the base58 of the 32-byte public key (no public key needed in the row).
* Aptos (single-key accounts): the address is ``sha3-256(public key ‖ 0x00)``, written ``0x`` + 64
  lowercase hex digits; shorter spellings with leading zeros dropped are the same address.
"""

from __future__ import annotations

import hashlib
import re

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .chains import Refused

_APTOS = re.compile(r"0x[0-9a-fA-F]{1,64}")
_HEX = re.compile(r"(0x)?[0-9a-fA-F]+")


def decode_solana(text: str) -> bytes:
    try:
        raw = base58.b58decode(text)
    except ValueError:
        raise Refused("not a Solana address (base58)") from None
    if len(raw) != 32 or base58.b58encode(raw).decode("ascii") != text:
        raise Refused("not a Solana address (32 bytes of base58)")
    return raw


def decode_aptos(text: str) -> str:
    """The canonical spelling (0x + 64 lowercase hex digits)."""
    if not _APTOS.fullmatch(text):
        raise Refused("not an Aptos address (0x followed by up to 64 hex digits)")
    return "0x" + text[2:].lower().rjust(64, "0")


def aptos_address(public: bytes) -> str:
    return "0x" + hashlib.sha3_256(public + b"\x00").hexdigest()


def _bytes(text: str, size: int, what: str) -> bytes:
    if _HEX.fullmatch(text) and len(text.removeprefix("0x")) == 2 * size:
        return bytes.fromhex(text.removeprefix("0x"))
    try:
        raw = base58.b58decode(text)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise Refused(f"{what} is not {size} bytes of hex or base58")
    return raw


def check_signed(public_text: str, message: str, signature: str) -> bytes:
    """The public key, once ``signature`` over ``message`` verifies under it; else ``Refused``."""
    public = _bytes(public_text, 32, "the public key")
    raw = _bytes(signature, 64, "the signature")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(raw, message.encode("utf-8"))
    except (InvalidSignature, ValueError):
        raise Refused("the Ed25519 signature does not verify under the public key (another key or another text)") from None
    return public
