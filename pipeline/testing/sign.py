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
import cbor2
from coincurve import PrivateKey, PublicKey
from coincurve.ecdsa import der_to_cdata, serialize_compact
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from embit import bech32

from ..ownership import bitcoin, cardano, ed25519, evm, filecoin, polkadot, sui, ton, xrpl
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


def xrpl_public(key: PrivateKey | Ed25519PrivateKey) -> bytes:
    """The XRP Ledger's 33-byte public key: compressed secp256k1, or ED ‖ the Ed25519 key."""
    if isinstance(key, PrivateKey):
        return key.public_key.format()
    return bytes([xrpl.ED25519_PREFIX]) + ed25519_public(key)


def xrpl_address(key: PrivateKey | Ed25519PrivateKey) -> str:
    return xrpl.classic_address(xrpl.account_id(xrpl_public(key)))


def sign_xrpl(key: PrivateKey | Ed25519PrivateKey, message: str) -> str:
    """What ripple-keypairs ``sign(hex(utf8(message)), key)`` returns (upper-case hex)."""
    if isinstance(key, PrivateKey):
        return key.sign(xrpl.sha512_half(message), hasher=None).hex().upper()  # DER, low S
    return key.sign(message.encode("utf-8")).hex().upper()


def cardano_address(payment: Ed25519PrivateKey, stake: Ed25519PrivateKey | None = None) -> str:
    """A mainnet base address (with ``stake``) or enterprise address (without) of ``payment``'s key."""
    key_hash = cardano.blake2b_224(ed25519_public(payment))
    if stake is None:
        return cardano.canonical_address(bytes([0x60 | cardano.MAINNET]) + key_hash)
    return cardano.canonical_address(bytes([0x00 | cardano.MAINNET]) + key_hash + cardano.blake2b_224(ed25519_public(stake)))


def cose_key(key: Ed25519PrivateKey) -> str:
    """The COSE_Key CIP-30 ``signData`` returns beside its signature (hex)."""
    return cbor2.dumps({1: 1, 3: -8, -1: 6, -2: ed25519_public(key)}).hex()


def sign_cardano(key: Ed25519PrivateKey, address: str, message: str) -> str:
    """A CIP-8 COSE_Sign1 over ``message`` for ``address``, as CIP-30 ``signData`` makes it (hex)."""
    protected = cbor2.dumps({1: -8, "address": cardano.decode_address(address)})
    payload = message.encode("utf-8")
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return cbor2.dumps([protected, {"hashed": False}, payload, signature]).hex()


def polkadot_address(chain: Chain, public: bytes) -> str:
    return polkadot.ss58_encode(chain.ss58 or 0, public)


def sign_polkadot_sr25519(seed: bytes, message: str, wrapped: bool = True) -> tuple[bytes, str]:
    """``(public key, signature)`` of an sr25519 key from ``seed``, over ``message`` as polkadot-js
    ``signRaw`` wraps it (or bare)."""
    import sr25519

    public, secret = sr25519.pair_from_seed(seed)
    data = message.encode("utf-8")
    signed = polkadot.WRAP_OPEN + data + polkadot.WRAP_CLOSE if wrapped else data
    return bytes(public), "0x" + bytes(sr25519.sign((public, secret), signed)).hex()


def sign_polkadot_ed25519(key: Ed25519PrivateKey, message: str) -> str:
    data = message.encode("utf-8")
    return "0x" + key.sign(polkadot.WRAP_OPEN + data + polkadot.WRAP_CLOSE).hex()


def ton_address(key: Ed25519PrivateKey, wallet: str = "v4r2", bounceable: bool = True) -> str:
    return ton.friendly(ton.wallet_account(ton.WALLETS[wallet], ed25519_public(key)), bounceable)


def sign_ton(key: Ed25519PrivateKey, message: str) -> str:
    """``@ton/crypto`` ``sign(Buffer.from(message), secretKey)``, base64."""
    return base64.b64encode(key.sign(message.encode("utf-8"))).decode()


def filecoin_address(key: PrivateKey) -> str:
    return filecoin.f1_address(key.public_key.format(compressed=False))


def sign_filecoin(key: PrivateKey, message: str, variant: str = "Lotus WalletSign") -> str:
    """Lotus ``WalletSign`` (or FRC-102) over ``message``, as ``lotus wallet sign`` prints it (hex,
    type byte 0x01 first)."""
    digest = dict(filecoin.message_digests(message))[variant]
    return "01" + key.sign_recoverable(digest, hasher=None).hex()


def sui_address(key: PrivateKey | Ed25519PrivateKey) -> str:
    if isinstance(key, PrivateKey):
        return sui.address_of(sui.SECP256K1, key.public_key.format())
    return sui.address_of(sui.ED25519, ed25519_public(key))


def sign_sui(key: PrivateKey | Ed25519PrivateKey, message: str) -> str:
    """``signPersonalMessage``: base64 of flag ‖ signature ‖ public key."""
    digest = sui.personal_message_digest(message)
    if isinstance(key, PrivateKey):
        raw = serialize_compact(der_to_cdata(key.sign(hashlib.sha256(digest).digest(), hasher=None)))
        return base64.b64encode(bytes([sui.SECP256K1]) + raw + key.public_key.format()).decode()
    return base64.b64encode(bytes([sui.ED25519]) + key.sign(digest) + ed25519_public(key)).decode()


def _recoverable(compact: bytes, digest: bytes, public: bytes) -> bytes:
    """``compact`` (64 bytes) with the recovery id that gives ``public``: a bare check as one recovery."""
    for recid in range(4):
        try:
            if PublicKey.from_signature_and_message(compact + bytes([recid]), digest, hasher=None).format() == public:
                return compact + bytes([recid])
        except Exception:  # noqa: BLE001 - no key for this recovery id
            continue
    raise ValueError("no recovery id gives the key")


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
    sr25519: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)
    """sr25519 verifications (public key, signature, message): Polkadot and Kusama."""
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


class XrplSigner:
    """XRP Ledger rows alternate secp256k1 and Ed25519 accounts, the public key in ``script``."""

    name = Family.XRPL

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        k: PrivateKey | Ed25519PrivateKey = PrivateKey(secret(0)) if i % 2 == 0 else Ed25519PrivateKey.from_private_bytes(secret(0))
        return SynthProof(xrpl_address(k), xrpl_public(k).hex().upper(), [sign_xrpl(k, text)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        public = bytes.fromhex(proof.script or "")
        out = BareChecks()
        for s in proof.signatures:
            raw = bytes.fromhex(s)
            if public[0] == xrpl.ED25519_PREFIX:
                out.ed25519.append((public[1:], raw, message.encode()))
            else:  # a verification, timed as the recovery it costs about as much as
                digest = xrpl.sha512_half(message)
                out.ecdsa.append((_recoverable(serialize_compact(der_to_cdata(raw)), digest, public), digest))
        return out


class CardanoSigner:
    """Cardano rows alternate enterprise and base addresses, the COSE_Key in ``script``."""

    name = Family.CARDANO

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        k = Ed25519PrivateKey.from_private_bytes(secret(0))
        address = cardano_address(k, Ed25519PrivateKey.from_private_bytes(secret(1)) if i % 2 else None)
        return SynthProof(address, cose_key(k), [sign_cardano(k, address, text)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        public = cardano.public_key(proof.script)
        raw = cardano.decode_address(proof.address)
        out = BareChecks()
        for s in proof.signatures:
            data, signature = cardano.signed_data(s, raw, message)
            out.ed25519.append((public, signature, data))
        return out


class PolkadotSigner:
    """Polkadot and Kusama rows alternate sr25519 and Ed25519 accounts, signing as ``signRaw`` does."""

    name = Family.POLKADOT

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        if i % 2 == 0:
            public, signature = sign_polkadot_sr25519(secret(0), text or "")
            return SynthProof(polkadot_address(chain, public), None, [signature] if text is not None else [])
        k = Ed25519PrivateKey.from_private_bytes(secret(0))
        return SynthProof(polkadot_address(chain, ed25519_public(k)), None,
                          [sign_polkadot_ed25519(k, text)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        public = polkadot.decode_address(chain, proof.address)
        data = message.encode()
        wrapped = polkadot.WRAP_OPEN + data + polkadot.WRAP_CLOSE
        out = BareChecks()
        for s in proof.signatures:
            raw = bytes.fromhex(s[2:])
            if polkadot.check_signed(public, message, s).startswith("sr25519"):
                out.sr25519.append((public, raw, wrapped))
            else:
                out.ed25519.append((public, raw, wrapped))
        return out


class TonSigner:
    """TON rows cycle through v4r2, v5r1 and highload v3 wallets, bounceable and not, the wallet named in ``script``."""

    name = Family.TON
    WALLETS = ("v4r2", "v5r1", "highload-v3")

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        k = Ed25519PrivateKey.from_private_bytes(secret(0))
        wallet = self.WALLETS[i % len(self.WALLETS)]
        return SynthProof(ton_address(k, wallet, bounceable=i % 2 == 0), f"{wallet}:{ed25519_public(k).hex()}",
                          [sign_ton(k, text)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        public = bytes.fromhex((proof.script or "").rpartition(":")[2])
        return BareChecks(ed25519=[(public, base64.b64decode(s), message.encode()) for s in proof.signatures])


class FilecoinSigner:
    """Filecoin rows: f1 addresses, alternately Lotus WalletSign and FRC-102 signatures."""

    name = Family.FILECOIN

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        k = PrivateKey(secret(0))
        variant = "Lotus WalletSign" if i % 2 == 0 else "FRC-102 personal message"
        return SynthProof(filecoin_address(k), None, [sign_filecoin(k, text, variant)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        digest = dict(filecoin.message_digests(message))["Lotus WalletSign"]
        return BareChecks(ecdsa=[(bytes.fromhex(s)[1:], digest) for s in proof.signatures])


class SuiSigner:
    """Sui rows alternate Ed25519 and secp256k1 keys (personal-message signatures)."""

    name = Family.SUI

    def proof(self, chain: Chain, secret: Secret, i: int, text: str | None) -> SynthProof:
        k: PrivateKey | Ed25519PrivateKey = Ed25519PrivateKey.from_private_bytes(secret(0)) if i % 2 == 0 else PrivateKey(secret(0))
        return SynthProof(sui_address(k), None, [sign_sui(k, text)] if text is not None else [])

    def bare_checks(self, chain: Chain, proof: SynthProof, message: str) -> BareChecks:
        digest = sui.personal_message_digest(message)
        out = BareChecks()
        for s in proof.signatures:
            flag, raw, public = sui.parse_signature(s)
            if flag == sui.ED25519:
                out.ed25519.append((public, raw, digest))
            else:
                hashed = hashlib.sha256(digest).digest()
                out.ecdsa.append((_recoverable(raw, hashed, public), hashed))
        return out


SYNTH_SIGNERS: dict[Family, SynthSigner] = {s.name: s for s in (
    BitcoinSigner(), EvmSigner(Family.EVM, tron=False), EvmSigner(Family.TRON, tron=True), SolanaSigner(),
    AptosSigner(), XrplSigner(), CardanoSigner(), PolkadotSigner(), TonSigner(), FilecoinSigner(), SuiSigner())}
"""Every family's synthetic signer, by family (demo, tests and benchmark only)."""


def synth_signer(chain: Chain) -> SynthSigner:
    """``chain``'s family's synthetic signer, or ``UnknownFamily`` naming the family."""
    found = SYNTH_SIGNERS.get(chain.family)
    if found is None:
        raise UnknownFamily(f"chain {chain.name} belongs to the {str(chain.family)!r} family, which has no "
                            "synthetic signer (pipeline.testing.sign.SYNTH_SIGNERS)")
    return found
