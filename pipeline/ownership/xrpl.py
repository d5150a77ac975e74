"""The XRP Ledger family: classic addresses, and the message signatures of ``ripple-keypairs``.

* Address: a classic ``r…`` address is base58check (the XRP Ledger's own alphabet,
  ``rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz``) of version byte 0x00 and the
  20-byte account id, ``RIPEMD-160(SHA-256(public key))`` of the 33-byte public key: a compressed
  secp256k1 key (``02``/``03`` ‖ x), or ``ED`` ‖ the 32-byte Ed25519 key. Canonical spelling: the
  address as written (base58 is case-sensitive and a canonical base58check spelling is unique).
  X-addresses (an account with a destination tag) are not read: give the classic address.
* What is signed: the message's UTF-8 bytes, as ``ripple-keypairs`` ``sign(messageHex, privateKey)``
  signs the bytes that ``messageHex`` spells, which is how the XRP Ledger's wallets sign a text
  (GemWallet and Crossmark ``signMessage`` pass ``convertStringToHex(message)``):

  * secp256k1: ECDSA over SHA-512Half (the first 32 bytes of SHA-512) of the bytes, DER-encoded, hex,
    with a low S (``ripple-keypairs`` and ``rippled`` produce and require fully canonical
    signatures; libsecp256k1 refuses a high S);
  * Ed25519: Ed25519 over the bytes themselves (64 bytes, hex), by the strict rules of ``ed25519``.

* The public key is the row's ``script`` (hex). An Ed25519 account needs it; for a secp256k1
  account it may be left out: the keys a DER signature can come from are recovered (at most four)
  and the one whose account id is the address's is checked.

The account's master key is what is proven: an account whose master key is disabled on the ledger,
or that signs with a regular key or a multisignature list, is not told apart offline.
"""

from __future__ import annotations

import functools
import hashlib

import base58
from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, der_to_cdata, serialize_compact

from . import ed25519
from .chains import Chain, Family, Refused
from .rules import ProofRow, one_signature

ACCOUNT_VERSION = 0x00
ED25519_PREFIX = 0xED


def account_id(public: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(public).digest()).digest()


def classic_address(account: bytes) -> str:
    text: str = base58.b58encode_check(bytes([ACCOUNT_VERSION]) + account, alphabet=base58.XRP_ALPHABET).decode("ascii")
    return text


@functools.lru_cache(maxsize=8)
def decode_address(text: str) -> bytes:
    """The 20-byte account id of a classic address, or ``Refused``. Cached by the exact text
    (``canonical`` and ``prove`` each decode the row's address)."""
    if text[:1] == "X":
        raise Refused("an X-address (account and destination tag); give the account's classic r-address")
    full = ed25519.base58_bytes(text, ed25519.XRP_ALPHABET)
    if full is None:  # a character outside the alphabet: base58's own reading (it strips trailing whitespace)
        try:
            raw = base58.b58decode_check(text, alphabet=base58.XRP_ALPHABET)
        except ValueError:
            raise Refused("not an XRP Ledger classic address (base58check, the XRP Ledger alphabet)") from None
        canonical = classic_address(raw[1:]) == text
    else:  # b58decode_check's checksum rule; the text is the one spelling of its bytes (ed25519.base58_bytes)
        raw, check = full[:-4], full[-4:]
        if hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4] != check:
            raise Refused("not an XRP Ledger classic address (base58check, the XRP Ledger alphabet)")
        canonical = True
    if len(raw) != 21 or raw[0] != ACCOUNT_VERSION or not canonical:
        raise Refused("not an XRP Ledger classic address (version 0x00 and a 20-byte account id)")
    return raw[1:]


@functools.lru_cache(maxsize=64)
def sha512_half(message: str) -> bytes:
    """What a secp256k1 key signs for ``message`` (cached: a chunk of rows signs a handful of texts)."""
    return hashlib.sha512(message.encode("utf-8")).digest()[:32]


def _secp256k1_keys(der: bytes, digest: bytes) -> list[bytes]:
    """The compressed keys a DER signature over ``digest`` can come from (recovery ids 0 to 3)."""
    try:
        compact = serialize_compact(der_to_cdata(der))
    except Exception:  # noqa: BLE001 - libsecp256k1 refuses the encoding (its own exception types)
        raise Refused("the signature is neither a DER secp256k1 signature nor a 64-byte Ed25519 one") from None
    keys = []
    for recid in range(4):
        try:
            keys.append(PublicKey.from_signature_and_message(compact + bytes([recid]), digest, hasher=None).format())
        except Exception:  # noqa: BLE001 - no key for this recovery id
            continue
    return keys


def check_secp256k1(public: bytes, der: bytes, message: str) -> None:
    """``der`` verifies under ``public`` over ``message`` (strict DER, low S), else ``Refused``."""
    try:
        key = PublicKey(public)
        cdata = der_to_cdata(der)
    except Exception:  # noqa: BLE001 - coincurve's own types: not a point, or not DER
        raise Refused("the public key or the DER signature does not decode (secp256k1)") from None
    if cdata_to_der(cdata) != der:
        raise Refused("the signature is not strict DER")
    if not key.verify(der, sha512_half(message), hasher=None):
        raise Refused("the secp256k1 signature does not verify under the public key (another key or another "
                      "text, or a high S: XRP Ledger signatures are fully canonical)")


class XrplFamily:
    """The XRP Ledger's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.XRPL

    def canonical(self, chain: Chain, address: str) -> str:
        decode_address(address)
        return address

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        account = decode_address(row.address)
        signature = ed25519.hex_bytes(one_signature(row), "the signature")
        if row.script:
            public = ed25519.hex_bytes(row.script, "the public key (script column)")
            if len(public) == 33 and public[0] == ED25519_PREFIX:
                ed25519.verify(public[1:], signature, message.encode("utf-8"))
                kind = "Ed25519"
            elif len(public) == 33 and public[0] in (2, 3):
                check_secp256k1(public, signature, message)
                kind = "secp256k1"
            else:
                raise Refused("the public key is neither ED followed by 32 bytes nor a compressed secp256k1 key")
            if account_id(public) != account:
                raise Refused("the public key does not derive the address (RIPEMD-160 of SHA-256 of the key)")
            return f"XRP Ledger {kind} (ripple-keypairs sign)", ""
        if len(signature) == 64 and signature[0] != 0x30:  # not DER: an Ed25519 signature
            raise Refused("an Ed25519 XRP Ledger account is proven with its public key (script column, ED…); none given")
        for public in _secp256k1_keys(signature, sha512_half(message)):
            if account_id(public) == account:
                check_secp256k1(public, signature, message)
                return "XRP Ledger secp256k1 (ripple-keypairs sign), key recovered", ""
        raise Refused("no key the signature recovers to gives this address (another key or another text)")


FAMILY = XrplFamily()
