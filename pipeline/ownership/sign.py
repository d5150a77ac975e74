"""Making ownership proofs with real keys, through the libraries' own signing functions: what the
demo and the tests use (an exchange signs with its own custody tooling, never with this module).
Each function returns the proof in the wire format ``check`` reads."""

from __future__ import annotations

import base64
import hashlib

import base58
from coincurve import PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from embit import bech32

from . import bitcoin, ed25519, evm
from .chains import Chain


def bitcoin_address(chain: Chain, key: PrivateKey, kind: str, compressed: bool = True) -> str:
    public = key.public_key.format(compressed=compressed)
    if kind == bitcoin.P2PKH:
        return base58.b58encode_check(bytes([chain.p2pkh or 0]) + bitcoin.hash160(public)).decode()
    if kind == bitcoin.P2SH:  # P2SH-P2WPKH
        return base58.b58encode_check(bytes([chain.p2sh or 0]) + bitcoin.hash160(b"\x00\x14" + bitcoin.hash160(public))).decode()
    return bech32.encode(chain.hrp, 0, bitcoin.hash160(public))


def multisig_script(m: int, keys: list[PrivateKey]) -> bytes:
    body = b"".join(b"\x21" + k.public_key.format() for k in keys)
    return bytes([0x50 + m]) + body + bytes([0x50 + len(keys), bitcoin.OP_CHECKMULTISIG])


def script_address(chain: Chain, script: bytes, how: str) -> str:
    if how == "p2sh":
        return base58.b58encode_check(bytes([chain.p2sh or 0]) + bitcoin.hash160(script)).decode()
    program = hashlib.sha256(script).digest()
    if how == "p2wsh":
        return bech32.encode(chain.hrp, 0, program)
    return base58.b58encode_check(bytes([chain.p2sh or 0]) + bitcoin.hash160(b"\x00\x20" + program)).decode()


def sign_bitcoin(chain: Chain, key: PrivateKey, message: str, kind: str = bitcoin.P2PKH, compressed: bool = True) -> str:
    """A BIP-137 signature with the header for ``kind`` (p2pkh, p2sh for P2SH-P2WPKH, p2wpkh)."""
    raw = key.sign_recoverable(bitcoin.message_hash(chain, message), hasher=None)
    base = {bitcoin.P2PKH: 31 if compressed else 27, bitcoin.P2SH: 35, bitcoin.P2WPKH: 39}[kind]
    return base64.b64encode(bytes([base + raw[64]]) + raw[:64]).decode()


def evm_address(key: PrivateKey) -> str:
    return evm.checksum_address(evm.keccak256(key.public_key.format(compressed=False)[1:])[12:])


def tron_address(key: PrivateKey) -> str:
    return evm.tron_address(evm.keccak256(key.public_key.format(compressed=False)[1:])[12:])


def sign_evm(key: PrivateKey, message: str, tron: bool = False, variant: str = "text") -> str:
    prefix = evm.TRON_PREFIX if tron else evm.EVM_PREFIX
    digest = dict(evm.message_digests(prefix, message))[variant]
    raw = key.sign_recoverable(digest, hasher=None)
    return "0x" + (raw[:64] + bytes([27 + raw[64]])).hex()


def ed25519_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def solana_address(key: Ed25519PrivateKey) -> str:
    return base58.b58encode(ed25519_public(key)).decode()


def aptos_address(key: Ed25519PrivateKey) -> str:
    return ed25519.aptos_address(ed25519_public(key))


def sign_ed25519(key: Ed25519PrivateKey, message: str, base58_encoded: bool = False) -> str:
    raw = key.sign(message.encode("utf-8"))
    return base58.b58encode(raw).decode() if base58_encoded else raw.hex()
