"""Ed25519 chains: the signature (64 bytes) is over the UTF-8 bytes of the message, and the
address must derive from the given public key:

* Solana: the address is the base58 of the 32-byte public key (no public key needed in the row).
* Aptos (single-key accounts): the address is ``sha3-256(public key ‖ 0x00)``, written ``0x`` + 64
  lowercase hex digits; shorter spellings with leading zeros dropped are the same address.

Verification is strict (``schemas/reserves.md``, "Ed25519"): RFC 8032 §5.1.7's decoding rules
(a canonical y below p, a point on the curve, no "negative zero" x) for the public key A and for R,
S below the group order L, and libsodium's refusal of small-order A and R (the eight points of
order dividing 8, whatever their spelling). With a small-order A and R, S = 0 satisfies the
verification equation for every message: a "signature" made without any private key. Only then
does ``cryptography`` (OpenSSL) check the equation itself.

The same rules guard the exchange's signature over each month's manifest
(``publication.signing.verify_manifest_signature``, ``check_strict`` and ``check_public_key``), in the
light install too: ``base58`` (of the ``exchange`` extra) is imported only where an address is decoded.
"""

from __future__ import annotations

import functools
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .chains import Chain, Family, Refused
from .rules import ProofRow, one_signature

_APTOS = re.compile(r"0x[0-9a-fA-F]{1,64}")
_HEX = re.compile(r"(0x)?[0-9a-fA-F]+")


BITCOIN_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
XRP_ALPHABET = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
_NOT_BASE58 = 0xFF
_BASE58_VALUES = {a: bytes(a.encode("ascii").index(c) if c in a.encode("ascii") else _NOT_BASE58 for c in range(256))
                  for a in (BITCOIN_ALPHABET, XRP_ALPHABET)}


@functools.lru_cache(maxsize=16)
def base58_bytes(text: str, alphabet: str = BITCOIN_ALPHABET) -> bytes | None:
    """The bytes ``text`` spells in base58 (``alphabet``: Bitcoin's or the XRP Ledger's), or None when
    it holds a character outside the alphabet (then ``base58.b58decode``'s own reading, which strips
    trailing whitespace, is the caller's to apply and refuse). For text of the alphabet alone it is
    ``base58.b58decode(text, alphabet)``, byte for byte, and ``text`` is the one base58 spelling of
    those bytes (each leading zero byte is one leading ``alphabet[0]``, the rest the number's digits
    with no leading zero digit): ``b58encode`` of the result gives ``text`` back, so a caller needs
    no re-encoding to know the spelling canonical. Cached by the exact text: ``check_row`` decodes a
    row's address in ``canonical`` and again in ``prove``."""
    try:
        values = text.encode("ascii").translate(_BASE58_VALUES[alphabet])
    except UnicodeEncodeError:
        return None
    if _NOT_BASE58 in values:
        return None
    n = 0
    for v in values[:len(values) % 4]:
        n = n * 58 + v
    rest = iter(values[len(values) % 4:])
    for a, b, c, d in zip(rest, rest, rest, rest, strict=True):  # four digits a step: one large product
        n = n * 11_316_496 + ((a * 58 + b) * 58 + c) * 58 + d  # 58 ** 4
    zeros = len(text) - len(text.lstrip(alphabet[0]))
    return bytes(zeros) + n.to_bytes((n.bit_length() + 7) // 8, "big")


def decode_solana(text: str) -> bytes:
    raw = base58_bytes(text)
    if raw is not None:  # the canonical spelling of its bytes (base58_bytes)
        if len(raw) != 32:
            raise Refused("not a Solana address (32 bytes of base58)")
        return raw
    import base58

    try:
        raw = base58.b58decode(text)
    except ValueError:
        raise Refused("not a Solana address (base58)") from None
    if len(raw) != 32 or base58.b58encode(raw).decode("ascii") != text:
        raise Refused("not a Solana address (32 bytes of base58)")
    return raw


def hex_bytes(text: str, what: str) -> bytes:
    """The bytes of ``text``, pairs of hex digits (at least one) behind an optional ``0x``/``0X``, or
    ``Refused`` naming ``what``. ``bytes.fromhex`` skips whitespace between pairs: as many digits as
    twice the bytes is what tells it had none (what ``(?:[0-9a-fA-F]{2})+`` in full says, at a
    fraction of a regular expression's cost over a COSE_Sign1's 500 digits)."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raw = b""
    if not raw or 2 * len(raw) != len(body):
        raise Refused(f"{what} is not hex")
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
    found = base58_bytes(text)
    if found is not None:
        raw = found
    else:
        import base58

        try:
            raw = base58.b58decode(text)
        except ValueError:
            raw = b""
    if len(raw) != size:
        raise Refused(f"{what} is not {size} bytes of hex or base58")
    return raw


_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _sqrt(a: int) -> int | None:
    """A square root of ``a`` modulo p (p = 5 mod 8), or None."""
    x = pow(a, (_P + 3) // 8, _P)
    if (x * x - a) % _P:
        x = x * _SQRT_M1 % _P
    return x if (x * x - a) % _P == 0 else None


def _x_of(y: int) -> int | None:
    """An x with (x, y) on the curve -x² + y² = 1 + d·x²·y², or None."""
    return _sqrt((y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P)


def _double(pt: tuple[int, int]) -> tuple[int, int]:
    x, y = pt
    t = _D * x * x * y * y % _P
    return (2 * x * y * pow(1 + t, -1, _P) % _P, (y * y + x * x) * pow(1 - t, -1, _P) % _P)


def _torsion_encodings() -> frozenset[bytes]:
    """The canonical encodings of the eight points P with 8·P = identity. Their y: 1 (the identity),
    -1 (order 2), 0 (order 4), and the roots of d·y⁴ + 2·y² - 1 = 0 (order 8: 2·P has y = 0)."""
    root = _sqrt(1 + _D)
    assert root is not None
    ys = {0, 1, _P - 1}
    for y2 in ((-1 + root) * pow(_D, -1, _P) % _P, (-1 - root) * pow(_D, -1, _P) % _P):
        y = _sqrt(y2)
        if y is not None:
            ys |= {y, _P - y}
    out = set()
    for y in ys:
        x = _x_of(y)
        if x is None:
            continue
        for px in {x, (_P - x) % _P}:
            pt = (px, y)
            for _ in range(3):
                pt = _double(pt)
            if pt == (0, 1):
                out.add((y | (px & 1) << 255).to_bytes(32, "little"))
    assert len(out) == 8, "the Ed25519 torsion subgroup has eight points"
    return frozenset(out)


SMALL_ORDER = _torsion_encodings()
"""Refused as A and as R, like libsodium's blocklist (non-canonical spellings of them are refused
by the canonical-encoding rule)."""


def _check_point(raw: bytes, what: str) -> None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if y >= _P:
        raise Refused(f"{what} is not a canonical Ed25519 point encoding (y >= p)")
    if raw[31] >> 7 and y in (1, _P - 1):
        raise Refused(f"{what} is not a canonical Ed25519 point encoding (negative zero)")
    if raw in SMALL_ORDER:
        raise Refused(f"{what} is a small-order Ed25519 point: such a signature verifies for any message "
                      "without a private key")


def check_public_key(public: bytes) -> None:
    """The strict rules on A alone (a public key read from a file, before any signature is at hand)."""
    _check_point(public, "the public key")


def check_strict(public: bytes, signature: bytes) -> None:
    """The strict rules on A (``public``), R and S; ``Refused`` naming the rule a part breaks. That A
    and R are on the curve at all is OpenSSL's decoding in ``check_signed``."""
    check_public_key(public)
    _check_point(signature[:32], "the signature's R")
    if int.from_bytes(signature[32:], "little") >= _L:
        raise Refused("the signature's S is not below the group order L (non-canonical)")


def verify(public: bytes, signature: bytes, data: bytes) -> None:
    """``signature`` (64 bytes) over ``data`` verifies under ``public`` (32 bytes) by the strict rules
    (``check_strict``, then OpenSSL); else ``Refused``. What every Ed25519 family calls."""
    if len(public) != 32 or len(signature) != 64:
        raise Refused(f"an Ed25519 key is 32 bytes and a signature 64, not {len(public)} and {len(signature)}")
    check_strict(public, signature)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except (InvalidSignature, ValueError):
        raise Refused("the Ed25519 signature does not verify under the public key (another key or another text)") from None


def check_signed(public_text: str, message: str, signature: str) -> bytes:
    """The public key, once ``signature`` over ``message`` verifies under it; else ``Refused``."""
    public = _bytes(public_text, 32, "the public key")
    raw = _bytes(signature, 64, "the signature")
    verify(public, raw, message.encode("utf-8"))
    return public


class SolanaFamily:
    """Solana's rules behind ``pipeline.ownership.family.ChainFamily``: the address is the public
    key; a key given in the row must be the same one."""

    name = Family.SOLANA

    def canonical(self, chain: Chain, address: str) -> str:
        decode_solana(address)
        return address

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        signature = one_signature(row)
        public = check_signed(row.script or row.address, message, signature)
        if public != decode_solana(row.address):
            raise Refused("the public key does not derive the address")
        return "Ed25519 (Solana)", ""


class AptosFamily:
    """Aptos's rules (single-key accounts) behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.APTOS

    def canonical(self, chain: Chain, address: str) -> str:
        return decode_aptos(address)

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        signature = one_signature(row)
        if not row.script:
            raise Refused("an Aptos address is proven with its public key (script column); none given")
        public = check_signed(row.script, message, signature)
        if aptos_address(public) != canonical:
            raise Refused("the public key does not derive the address (sha3-256(key || 0x00))")
        return "Ed25519 (Aptos)", ""


SOLANA_FAMILY = SolanaFamily()
APTOS_FAMILY = AptosFamily()
