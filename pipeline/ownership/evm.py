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

from .chains import Chain, Family, Refused
from .rules import OWNERS_NOT_CHECKED, ProofRow, one_signature, spelling

_HEX40 = re.compile(r"0x[0-9a-fA-F]{40}")
_SIG = re.compile(r"(0x)?[0-9a-fA-F]{130}")
EVM_PREFIX = b"\x19Ethereum Signed Message:\n"
TRON_PREFIX = b"\x19TRON Signed Message:\n"
TRON_VERSION = 0x41


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def checksum_address(raw: bytes) -> str:
    """EIP-55 spelling of a 20-byte address."""
    plain = raw.hex()
    digest = keccak256(plain.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(plain))


def decode_evm(text: str) -> bytes:
    if not _HEX40.fullmatch(text):
        raise Refused("not an EVM address (0x followed by 40 hex digits)")
    body = text[2:]
    raw = bytes.fromhex(body)
    if body != body.lower() and body != body.upper() and checksum_address(raw) != text:
        raise Refused(f"EIP-55 checksum error (the checksummed spelling is {checksum_address(raw)})")
    return raw


def decode_tron(text: str) -> bytes:
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


def _signer(digest: bytes, signature: bytes) -> bytes:
    v = signature[64]
    recid = v - 27 if v in (27, 28) else v if v in (0, 1) else None
    if recid is None:
        raise Refused(f"signature v byte {v} is not 27/28 or 0/1")
    try:
        key = PublicKey.from_signature_and_message(signature[:64] + bytes([recid]), digest, hasher=None)
    except Exception:  # noqa: BLE001 - coincurve's own exception types: no key recovers
        return b""
    return keccak256(key.format(compressed=False)[1:])[12:]


def _signature(text: str) -> bytes:
    if not _SIG.fullmatch(text):
        raise Refused("signature is not 65 bytes of hex")
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def check_signed(address: bytes, message: str, signature: str, tron: bool) -> str:
    """Which variant of the message ``address``'s key signed, or ``Refused``."""
    raw = _signature(signature)
    for variant, digest in message_digests(TRON_PREFIX if tron else EVM_PREFIX, message):
        if _signer(digest, raw) == address:
            return f"{'TIP-191' if tron else 'EIP-191'} ({variant})"
    raise Refused("the recovered key does not give this address (signed by another key or over another text)")


class EvmFamily:
    """EVM chains' rules behind ``pipeline.ownership.family.ChainFamily``: single keys (EIP-191)
    and contract wallets proven by their owners' signatures (at most ``unbound`` on their word:
    the note ``OWNERS_NOT_CHECKED``)."""

    name = Family.EVM

    def canonical(self, chain: Chain, address: str) -> str:
        return "0x" + decode_evm(address).hex()

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        if row.owners:
            if len(row.owners) != len(row.signatures):
                raise Refused(f"{len(row.owners)} owner(s) but {len(row.signatures)} signature(s); one each")
            for i, (owner, signature) in enumerate(zip(row.owners, row.signatures, strict=True)):
                why = spelling(owner, f"owner {i + 1}")
                if why:
                    raise Refused(why)
                try:
                    check_signed(decode_evm(owner), message, signature, tron=False)
                except Refused as exc:
                    raise Refused(f"owner {i + 1} {owner}: {exc}") from None
            return f"contract wallet, {len(row.owners)} owner signature(s) (EIP-191)", OWNERS_NOT_CHECKED
        return check_signed(decode_evm(row.address), message, one_signature(row), tron=False), ""


class TronFamily:
    """TRON's rules (TIP-191, base58check addresses) behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.TRON

    def canonical(self, chain: Chain, address: str) -> str:
        decode_tron(address)
        return address

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        return check_signed(decode_tron(row.address), message, one_signature(row), tron=True), ""


FAMILY = EvmFamily()
TRON_FAMILY = TronFamily()
