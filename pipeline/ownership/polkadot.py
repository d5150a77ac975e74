"""The Polkadot family (Polkadot, Kusama): SS58 addresses of Ed25519 and sr25519 accounts, and the
signatures polkadot-js makes over a text.

* Address (SS58): base58 of ``prefix ‖ public key (32 bytes) ‖ checksum``, the checksum the first
  two bytes of ``blake2b-512("SS58PRE" ‖ prefix ‖ public key)``; the prefix is the network's (one
  byte below 64, else two): Polkadot 0 (addresses ``1…``), Kusama 2. An address with another
  network's prefix (42, the generic Substrate one, included) is refused on the chain: the same key
  is spelled once per network. Canonical spelling: the address as written (it is the unique
  base58 of its bytes). The account is the 32-byte public key itself: an Ed25519 or an sr25519
  key, which the address does not tell apart.
* What is signed: the message's UTF-8 bytes wrapped as polkadot-js's ``signRaw`` (extension,
  ``@polkadot/util`` ``u8aWrapBytes``) wraps them, ``<Bytes>`` ‖ message ‖ ``</Bytes>``; or the bare
  bytes, as ``keyring`` ``pair.sign(message)`` and ``subkey sign`` sign them. Both are read (like
  polkadot-js ``signatureVerify``), and the proof names which. An Ed25519 signature may also be
  over the framing a major exchange's published files use (``rules.okx_framed``).
* The signature (hex): 64 bytes, sr25519 (schnorrkel, signing context ``substrate``, through
  ``py-sr25519-bindings``) or Ed25519 (strict, ``ed25519``), told apart by the signature itself:
  schnorrkel sets the top bit of its last byte, which an Ed25519 signature's S (below 2^253) never
  has; or the 65-byte ``MultiSignature`` encoding, whose first byte names the scheme (0 Ed25519,
  1 sr25519; 2, ECDSA, is not supported: such an account's address is a hash of its key).
"""

from __future__ import annotations

import functools
import hashlib

import base58

from . import ed25519
from .chains import Chain, Family, Refused
from .rules import ProofRow, Unsupported, okx_framed, one_signature

WRAP_OPEN, WRAP_CLOSE = b"<Bytes>", b"</Bytes>"
ED25519, SR25519, ECDSA = 0, 1, 2


def _checksum(body: bytes) -> bytes:
    return hashlib.blake2b(b"SS58PRE" + body, digest_size=64).digest()[:2]


def prefix_bytes(network: int) -> bytes:
    if network < 64:
        return bytes([network])
    return bytes([((network & 0xFC) >> 2) | 0x40, (network >> 8) | ((network & 0x03) << 6)])


def ss58_encode(network: int, public: bytes) -> str:
    body = prefix_bytes(network) + public
    text: str = base58.b58encode(body + _checksum(body)).decode("ascii")
    return text


def decode_address(chain: Chain, text: str) -> bytes:
    """The 32-byte public key of an SS58 address of ``chain``'s network, or ``Refused``."""
    return _decode_address(text, chain.ss58, chain.name)


@functools.lru_cache(maxsize=8)
def _decode_address(text: str, ss58: int | None, name: str) -> bytes:
    """``decode_address`` of the chain named ``name`` with network prefix ``ss58``; cached by the exact
    text, prefix and name (``canonical`` and ``prove`` each decode the row's address)."""
    raw = ed25519.base58_bytes(text)
    canonical = raw is not None  # the one base58 spelling of its bytes (ed25519.base58_bytes)
    if raw is None:  # a character outside the alphabet: base58's own reading (it strips trailing whitespace)
        try:
            raw = base58.b58decode(text)
        except ValueError:
            raise Refused("not an SS58 address (base58)") from None
    if not raw or raw[0] >= 128:
        raise Refused("not an SS58 address (its first byte is no network prefix)")
    size = 1 if raw[0] < 64 else 2
    if len(raw) != size + 32 + 2:
        raise Refused(f"not an SS58 address of a 32-byte account ({len(raw)} bytes)")
    if _checksum(raw[:-2]) != raw[-2:]:
        raise Refused("not a valid SS58 address (checksum)")
    if size == 1:
        network = raw[0]
    else:
        network = ((raw[0] & 0x3F) << 2) | (raw[1] >> 6) | ((raw[1] & 0x3F) << 8)
    if network != ss58:
        raise Refused(f"SS58 network prefix {network} is not {name}'s {ss58}: the address is spelled for "
                      "another network")
    public = raw[size:size + 32]
    # ss58_encode(network, public) is the text exactly when the prefix is the network's own encoding (the
    # checksum over it then the one checked above) and the text the base58 spelling of the bytes
    if prefix_bytes(network) != raw[:size] or not canonical and ss58_encode(network, public) != text:
        raise Refused("not the canonical SS58 spelling of its bytes")
    return public


def _sr25519_verifies(public: bytes, signature: bytes, data: bytes) -> bool:
    import sr25519

    try:
        return bool(sr25519.verify(signature, data, public))
    except Exception:  # noqa: BLE001 - the binding raises ValueError (and others) for a malformed key or signature
        return False


def check_signed(public: bytes, message: str, signature_text: str) -> str:
    """What was proven (scheme and wrapping), or ``Refused``."""
    raw = ed25519.hex_bytes(signature_text, "the signature")
    scheme = None
    if len(raw) == 65:
        if raw[0] == ECDSA:
            raise Unsupported("an ECDSA MultiSignature: ECDSA accounts (addresses hashing a secp256k1 key) are not "
                              "supported")
        if raw[0] not in (ED25519, SR25519):
            raise Refused(f"MultiSignature type byte {raw[0]} is not 0 (Ed25519), 1 (sr25519) or 2 (ECDSA)")
        scheme, raw = raw[0], raw[1:]
    if len(raw) != 64:
        raise Refused(f"the signature is {len(raw)} bytes, not 64 (or 65 with its MultiSignature type byte)")
    if scheme is None:  # schnorrkel marks its signatures; an Ed25519 S (below 2^253) never has that bit
        scheme = SR25519 if raw[63] & 0x80 else ED25519
    text = message.encode("utf-8")
    framings = [("<Bytes> wrapped", WRAP_OPEN + text + WRAP_CLOSE), ("bare", text)]
    if scheme == ED25519:
        framings.append(("OKX's framing", okx_framed(message)))
    for wrapped, data in framings:
        if scheme == SR25519:
            if _sr25519_verifies(public, raw, data):
                return f"sr25519 ({wrapped})"
            continue
        try:
            ed25519.verify(public, raw, data)
        except Refused as exc:
            if "does not verify" not in str(exc):  # a malformed key or signature: the rule it breaks
                raise
            continue
        return f"Ed25519 ({wrapped})"
    kind = "sr25519" if scheme == SR25519 else "Ed25519"
    raise Refused(f"the {kind} signature does not verify under the address's key, over the message wrapped in "
                  "<Bytes> or bare (another key or another text)")


class PolkadotFamily:
    """Polkadot's and Kusama's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.POLKADOT

    def canonical(self, chain: Chain, address: str) -> str:
        decode_address(chain, address)
        return address

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        public = decode_address(chain, row.address)
        if row.script and ed25519.hex_bytes(row.script, "the public key (script column)") != public:
            raise Refused("the public key (script column) is not the address's key")
        return check_signed(public, message, one_signature(row)), ""


FAMILY = PolkadotFamily()
