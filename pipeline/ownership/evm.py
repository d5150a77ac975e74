"""secp256k1 chains with keccak addresses: EVM chains (EIP-191 ``personal_sign``, EIP-55) and TRON
(TIP-191).

A signature is 65 bytes of hex, ``r ‖ s ‖ v`` with ``v`` in {27, 28} or {0, 1}. Two variants are
accepted, both over the row's message text: the text itself, and the 32-byte keccak-256 of the text
(what a major exchange's published files sign):

* EVM:  keccak256("\\x19Ethereum Signed Message:\\n" ‖ decimal(len(data)) ‖ data)
* TRON: keccak256("\\x19TRON Signed Message:\\n" ‖ decimal(len(data)) ‖ data)

The address is the last 20 bytes of keccak256 of the uncompressed key (without its 0x04): hex
for EVM chains (``0x`` + 40 hex digits; when mixed case, the EIP-55 checksum must hold), base58check
with version byte 0x41 for TRON.
"""

from __future__ import annotations

import functools
import re

import base58
from coincurve import PublicKey
from Crypto.Hash import keccak

try:  # safe-pysha3 (Safe's maintained pysha3): about 0.6 us a call against pycryptodome's 3.6 us
    from sha3 import keccak_256 as _pysha3_keccak
except ImportError:  # pragma: no cover - the same digests through pycryptodome where the wheel is missing
    _pysha3_keccak = None

from .chains import Chain, Family, Refused
from .rules import OWNERS_NOT_CHECKED, ProofRow, one_signature, spelling
from .variant_order import VariantOrder

_HEX40 = re.compile(r"0x[0-9a-fA-F]{40}")
_SIG = re.compile(r"(0x)?[0-9a-fA-F]{130}")
EVM_PREFIX = b"\x19Ethereum Signed Message:\n"
TRON_PREFIX = b"\x19TRON Signed Message:\n"
TRON_VERSION = 0x41
_LETTER = bytes(0x20 if chr(b) in "abcdef" else 0 for b in range(256))
"""Lower-case hex digit -> 0x20 (the case bit) for a letter, 0 for a digit."""
_HIGH = bytes(0x20 if chr(b) in "89abcdef" else 0 for b in range(256))
"""Hex digit of the hash -> 0x20 when the nibble is 8 or more (EIP-55: that letter in upper case)."""
ORDER = VariantOrder()
"""Which digest (text, keccak) proved most rows of a chain and text so far: tried first."""


def keccak256_pycryptodome(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's, not SHA3-256) through pycryptodome: the fallback, and the tests' reference."""
    return keccak.new(digest_bits=256, data=data).digest()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's, not SHA3-256)."""
    return _pysha3_keccak(data).digest() if _pysha3_keccak is not None else keccak256_pycryptodome(data)


def checksum_address(raw: bytes) -> str:
    """EIP-55 spelling of a 20-byte address: each letter of its lower-case hex in upper case where the
    same nibble of the keccak of that hex is 8 or more (the case bits flipped all at once, as one integer)."""
    plain = raw.hex().encode("ascii")
    nibbles = keccak256(plain).hex()[:40].encode("ascii")
    flips = int.from_bytes(plain.translate(_LETTER), "big") & int.from_bytes(nibbles.translate(_HIGH), "big")
    return "0x" + (int.from_bytes(plain, "big") ^ flips).to_bytes(40, "big").decode("ascii")


def decode_evm(text: str) -> bytes:
    if not _HEX40.fullmatch(text):
        raise Refused("not an EVM address (0x followed by 40 hex digits)")
    body = text[2:]
    raw = bytes.fromhex(body)
    if body != body.lower() and body != body.upper():
        spelled = checksum_address(raw)
        if spelled != text:
            raise Refused(f"EIP-55 checksum error (the checksummed spelling is {spelled})")
    return raw


@functools.lru_cache(maxsize=8)
def decode_tron(text: str) -> bytes:
    """The 20-byte account of a TRON address, or ``Refused``. Cached for the few most recent texts (exactly
    as written): a row's address is decoded for its canonical spelling and again for its proof."""
    try:
        raw = base58.b58decode_check(text)
    except ValueError:
        raise Refused("not a TRON address (base58check)") from None
    if len(raw) != 21 or raw[0] != TRON_VERSION:
        raise Refused("not a TRON mainnet address (21 bytes, version 0x41)")
    return raw[1:]


def tron_address(raw: bytes) -> str:
    return base58.b58encode_check(bytes([TRON_VERSION]) + raw).decode("ascii")


@functools.lru_cache(maxsize=64)
def message_digests(prefix: bytes, message: str) -> tuple[tuple[str, bytes], ...]:
    """The two digests of EIP-191/TIP-191 (over the text, over its keccak); cached per text."""
    text = message.encode("utf-8")
    hashed = keccak256(text)
    return (("text", keccak256(prefix + str(len(text)).encode("ascii") + text)),
            ("keccak", keccak256(prefix + b"32" + hashed)))


def _signer(digest: bytes, recoverable: bytes) -> bytes:
    """The address of the key that made ``recoverable`` (``r ‖ s ‖ recovery id``) over ``digest``; b"" when none recovers."""
    try:
        key = PublicKey.from_signature_and_message(recoverable, digest, hasher=None)
    except Exception:  # noqa: BLE001 - coincurve's own exception types: no key recovers
        return b""
    return keccak256(key.format(compressed=False)[1:])[12:]


def _signature(text: str) -> bytes:
    """``r ‖ s ‖ recovery id`` (0 or 1) of a 65-byte hex signature, or ``Refused``."""
    if not _SIG.fullmatch(text):
        raise Refused("signature is not 65 bytes of hex")
    raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    v = raw[64]
    recid = v - 27 if v in (27, 28) else v if v in (0, 1) else None
    if recid is None:
        raise Refused(f"signature v byte {v} is not 27/28 or 0/1")
    return raw[:64] + bytes([recid])


def check_signed(address: bytes, message: str, signature: str, tron: bool, chain: str = "") -> str:
    """Which variant of the message ``address``'s key signed, or ``Refused``. Every variant is tried
    before refusing; the one that proved most rows of ``chain`` and this text so far first (``ORDER``)."""
    recoverable = _signature(signature)
    prefix = TRON_PREFIX if tron else EVM_PREFIX
    digests = message_digests(prefix, message)
    key = (chain, prefix, message)
    for k in ORDER.order(key, len(digests)):
        variant, digest = digests[k]
        if _signer(digest, recoverable) == address:
            ORDER.proved(key, k, len(digests))
            return f"{'TIP-191' if tron else 'EIP-191'} ({variant})"
    raise Refused("the recovered key does not give this address (signed by another key or over another text)")


class EvmFamily:
    """EVM chains' rules behind ``pipeline.ownership.family.ChainFamily``: single keys (EIP-191)
    and contract wallets proven by their owners' signatures (at most ``unbound`` on their word:
    the note ``OWNERS_NOT_CHECKED``)."""

    name = Family.EVM

    def canonical(self, chain: Chain, address: str) -> str:
        decode_evm(address)
        return address.lower()

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        if row.owners:
            if len(row.owners) != len(row.signatures):
                raise Refused(f"{len(row.owners)} owner(s) but {len(row.signatures)} signature(s); one each")
            for i, (owner, signature) in enumerate(zip(row.owners, row.signatures, strict=True)):
                why = spelling(owner, f"owner {i + 1}")
                if why:
                    raise Refused(why)
                try:
                    check_signed(decode_evm(owner), message, signature, tron=False, chain=chain.name)
                except Refused as exc:
                    raise Refused(f"owner {i + 1} {owner}: {exc}") from None
            return f"contract wallet, {len(row.owners)} owner signature(s) (EIP-191)", OWNERS_NOT_CHECKED
        if canonical != row.address.lower():  # not canonical(chain, row.address) after all: decode it here
            canonical = self.canonical(chain, row.address)
        return check_signed(bytes.fromhex(canonical[2:]), message, one_signature(row), tron=False, chain=chain.name), ""


class TronFamily:
    """TRON's rules (TIP-191, base58check addresses) behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.TRON

    def canonical(self, chain: Chain, address: str) -> str:
        decode_tron(address)
        return address

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        return check_signed(decode_tron(row.address), message, one_signature(row), tron=True, chain=chain.name), ""


FAMILY = EvmFamily()
TRON_FAMILY = TronFamily()
