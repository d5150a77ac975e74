"""Making ownership proofs with real keys, through the libraries' own signing functions: what the
demo and the tests use (an exchange signs with its own custody tooling, never with this module).
Each function returns the proof in the wire format ``check`` reads.

``SYNTH_SIGNERS`` registers, per chain family, how ``pipeline.testing.synth`` makes a reserve address with a
real key and its proof, and how the reserves benchmark (``jobs/bench_reserves.py``) turns those
proofs into bare library calls (its signature floor). Demo, test and benchmark code only: the
production rules are ``pipeline.ownership.family``."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Callable, Protocol

import base58
from coincurve import PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from embit import bech32

from ..ownership import bitcoin, ed25519, evm
from ..ownership.chains import Chain, Family
from ..ownership.family import UnknownFamily


def _b58check(data: bytes) -> str:
    text: str = base58.b58encode_check(data).decode()
    return text


def _segwit_v0(hrp: str | None, program: bytes) -> str:
    text: str = bech32.encode(hrp, 0, program)
    return text


def bitcoin_address(chain: Chain, key: PrivateKey, kind: str, compressed: bool = True) -> str:
    public = key.public_key.format(compressed=compressed)
    if kind == bitcoin.P2PKH:
        return _b58check(bytes([chain.p2pkh or 0]) + bitcoin.hash160(public))
    if kind == bitcoin.P2SH:  # P2SH-P2WPKH
        return _b58check(bytes([chain.p2sh or 0]) + bitcoin.hash160(b"\x00\x14" + bitcoin.hash160(public)))
    return _segwit_v0(chain.hrp, bitcoin.hash160(public))


def multisig_script(m: int, keys: list[PrivateKey]) -> bytes:
    body = b"".join(b"\x21" + k.public_key.format() for k in keys)
    return bytes([0x50 + m]) + body + bytes([0x50 + len(keys), bitcoin.OP_CHECKMULTISIG])


def script_address(chain: Chain, script: bytes, how: str) -> str:
    if how == "p2sh":
        return _b58check(bytes([chain.p2sh or 0]) + bitcoin.hash160(script))
    program = hashlib.sha256(script).digest()
    if how == "p2wsh":
        return _segwit_v0(chain.hrp, program)
    return _b58check(bytes([chain.p2sh or 0]) + bitcoin.hash160(b"\x00\x20" + program))


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


# ---------------------------------------------------------------- per family, for synth and the benchmark

Secret = Callable[[int], bytes]
"""``secret(n)``: the n-th 32-byte private key of a synthetic reserve address (derived from a seed)."""


@dataclass(frozen=True)
class SynthProof:
    """A synthetic reserve address and its proof, in the reserves' columns."""

    address: str
    script: str | None = None
    signatures: list[str] = field(default_factory=list)


@dataclass
class BareChecks:
    """A proof as bare library calls: libsecp256k1 recoveries (65-byte recoverable signature,
    32-byte digest) and Ed25519 verifications (public key, signature, message)."""

    ecdsa: list[tuple[bytes, bytes]] = field(default_factory=list)
    ed25519: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)
    kind: str = ""
    """What the benchmark's mix calls the proof beyond its chain ("multisig"), or ""."""


class SynthSigner(Protocol):
    """How one family's synthetic reserve addresses are made and signed (demo, tests, benchmark)."""

    @property
    def name(self) -> Family: ...

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        """Address ``i`` of an asset on ``chain``, from keys ``secret(n)``; signed over ``text``
        unless it is None (then no signature)."""
        ...

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        """The library calls that check ``proof`` over ``message``, messages hashed up front."""
        ...


class BitcoinSigner:
    """Bitcoin rows cycle through P2PKH, P2WPKH (where the chain has bech32) and a 2-of-3 P2WSH (P2SH)."""

    name = Family.BITCOIN

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        if i % 3 == 2:
            keys = [PrivateKey(secret(n)) for n in range(3)]
            script = multisig_script(2, keys)
            return SynthProof(script_address(chain, script, "p2wsh" if chain.hrp else "p2sh"), script.hex(),
                              [sign_bitcoin(chain, k, text) for k in keys[:2]] if text is not None else [])
        kind = bitcoin.P2WPKH if i % 3 == 1 and chain.hrp else bitcoin.P2PKH
        k = PrivateKey(secret(0))
        return SynthProof(bitcoin_address(chain, k, kind), None,
                          [sign_bitcoin(chain, k, text, kind)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        digest = bitcoin.message_hash(chain, message)
        out = BareChecks(kind="multisig" if proof.script else "")
        for s in proof.signatures:
            raw = base64.b64decode(s)
            out.ecdsa.append((raw[1:] + bytes([(raw[0] - 27) % 4]), digest))
        return out


class EvmSigner:
    """EVM (and, with ``tron``, TRON) rows: one key, alternately signing the text and its keccak."""

    def __init__(self, name: Family, tron: bool) -> None:
        self.name = name
        self.tron = tron

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        k = PrivateKey(secret(0))
        address = tron_address(k) if self.tron else evm_address(k)
        return SynthProof(address, None, [sign_evm(k, text, tron=self.tron, variant="keccak" if i % 2 else "text")]
                          if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        digest = dict(evm.message_digests(evm.TRON_PREFIX if self.tron else evm.EVM_PREFIX, message))["text"]
        out = BareChecks()
        for s in proof.signatures:
            raw = bytes.fromhex(s[2:])
            out.ecdsa.append((raw[:64] + bytes([raw[64] - 27]), digest))
        return out


class SolanaSigner:
    name = Family.SOLANA

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        e = Ed25519PrivateKey.from_private_bytes(secret(0))
        return SynthProof(solana_address(e), None,
                          [sign_ed25519(e, text, base58_encoded=True)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        public = base58.b58decode(proof.address)
        return BareChecks(ed25519=[(public, base58.b58decode(s), message.encode()) for s in proof.signatures])


class AptosSigner:
    name = Family.APTOS

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        e = Ed25519PrivateKey.from_private_bytes(secret(0))
        return SynthProof(aptos_address(e), ed25519_public(e).hex(),
                          [sign_ed25519(e, text)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        public = bytes.fromhex(proof.script or "")
        return BareChecks(ed25519=[(public, bytes.fromhex(s), message.encode()) for s in proof.signatures])


SYNTH_SIGNERS: dict[Family, SynthSigner] = {s.name: s for s in (
    BitcoinSigner(), EvmSigner(Family.EVM, tron=False), EvmSigner(Family.TRON, tron=True), SolanaSigner(),
    AptosSigner())}
"""Every family's synthetic signer, by family (demo, tests and benchmark only)."""


def synth_signer(chain: Chain) -> SynthSigner:
    """``chain``'s family's synthetic signer, or ``UnknownFamily`` naming the family."""
    found = SYNTH_SIGNERS.get(chain.family)
    if found is None:
        raise UnknownFamily(f"chain {chain.name} belongs to the {str(chain.family)!r} family, which has no "
                            "synthetic signer (pipeline.testing.sign.SYNTH_SIGNERS)")
    return found
