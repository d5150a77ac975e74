"""The Bitcoin family (BTC, LTC, DOGE, BCH legacy addresses, DASH): addresses, ``signmessage``
(BIP-137 headers) and m-of-n multisig by redeem or witness script, BIP-322 simple.

Rules (``schemas/reserves.md`` has them in prose):

* A single-key address is proven by one 65-byte compact recoverable signature, base64, over
  ``sha256d(varint(len(prefix)) ‖ prefix ‖ varint(len(message)) ‖ message)``; its header byte says
  which address the recovered key must give: 27–30 P2PKH from the uncompressed key, 31–34 P2PKH
  compressed, 35–38 P2SH-P2WPKH, 39–42 P2WPKH. Any other header, or a header naming another type
  than the address's, is invalid.
* A script address (P2SH, P2WSH, P2SH-P2WSH) is proven by its script, which must hash to the
  address and be a standard ``OP_m <keys> OP_n OP_CHECKMULTISIG``, and by signatures (headers
  27–34) whose recovered keys are in the script: at least m distinct keys, each counted once.
* P2WPKH and P2TR addresses may instead carry a BIP-322 simple signature (checked by ``bip322``).
* Bitcoin Cash spells its addresses in CashAddr (``cashaddr``): with or without the
  ``bitcoincash:`` prefix, lower or upper case, with or without the CashTokens type bits, or in the
  legacy base58check spelling, all one wallet whose canonical spelling is the lower-case CashAddr with
  its prefix and without the token bits. P2SH32 (a 256-bit script hash, ``OP_HASH256 <32> OP_EQUAL``)
  is proven by its multisig script like P2SH.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass

import base58
from coincurve import PublicKey

from . import cashaddr, segwit
from .chains import Chain, Family, Refused
from .rules import ProofRow, Unsupported, one_signature

P2PKH, P2SH, P2WPKH, P2WSH, P2TR, P2SH32 = "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "p2sh32"
OP_CHECKMULTISIG = 0xAE
MAX_SCRIPT_BYTES = 10_000


@dataclass(frozen=True)
class Address:
    kind: str
    payload: bytes
    canonical: str


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


@functools.lru_cache(maxsize=8)
def decode_address(chain: Chain, text: str) -> Address:
    """The address's type and hash, or ``Refused`` naming why it is not an address of ``chain``.

    Cached for the few most recent addresses: a row's address is decoded for its canonical
    spelling and again for its proof."""
    if chain.cashaddr is not None and cashaddr.looks_like(text):
        cash = cashaddr.decode(chain.cashaddr, text)
        kind = (P2SH if len(cash.payload) == 20 else P2SH32) if cash.script_hash else P2PKH
        return Address(kind, cash.payload, cashaddr.canonical(chain.cashaddr, text, cash))
    if chain.hrp is not None and text.lower().startswith(chain.hrp + "1"):
        if text != text.lower() and text != text.upper():
            raise Refused("bech32 address in mixed case")
        canonical = text.lower()
        version, program = segwit.decode(chain.hrp, canonical)
        if version is None or program is None:
            raise Refused(f"not a valid {chain.name} segwit address (bech32/bech32m checksum or length)")
        if version == 0 and len(program) == 20:
            return Address(P2WPKH, program, canonical)
        if version == 0 and len(program) == 32:
            return Address(P2WSH, program, canonical)
        if version == 1 and len(program) == 32:
            return Address(P2TR, program, canonical)
        raise Refused(f"segwit version {version} with a {len(program)}-byte program is not supported")
    try:
        raw = base58.b58decode_check(text)
    except ValueError:
        raise Refused(f"not a valid {chain.name} address (base58check)") from None
    if len(raw) == 21 and raw[0] in (chain.p2pkh, chain.p2sh):
        kind = P2PKH if raw[0] == chain.p2pkh else P2SH
        canonical = text if chain.cashaddr is None else cashaddr.encode(chain.cashaddr, kind == P2SH, raw[1:])
        return Address(kind, raw[1:], canonical)
    raise Refused(f"version byte {raw[0]:#04x} is not a {chain.name} mainnet address "
                  f"(P2PKH {chain.p2pkh:#04x}, P2SH {chain.p2sh:#04x})" if raw else "empty address")


def script_pubkey(address: Address) -> bytes:
    """The output script an address pays to (what a UTXO set scan reports as ``scriptPubKey``)."""
    h = address.payload
    if address.kind == P2PKH:
        return b"\x76\xa9\x14" + h + b"\x88\xac"
    if address.kind == P2SH:
        return b"\xa9\x14" + h + b"\x87"
    if address.kind == P2SH32:
        return b"\xaa\x20" + h + b"\x87"
    version = 1 if address.kind == P2TR else 0
    return bytes([0x50 + version if version else 0, len(h)]) + h


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


@functools.lru_cache(maxsize=64)
def message_hash(chain: Chain, message: str) -> bytes:
    """The digest a signmessage signature signs (cached: a chunk of rows signs a handful of texts)."""
    prefix = (chain.message_prefix or "").encode("utf-8")
    data = message.encode("utf-8")
    return sha256d(_varint(len(prefix)) + prefix + _varint(len(data)) + data)


def _compact(signature: str) -> bytes:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("signature is not base64") from None
    if len(raw) != 65:
        raise Refused(f"signature is {len(raw)} bytes, not a 65-byte compact signature")
    return raw


def recover(chain: Chain, message: str, signature: str) -> tuple[int, PublicKey]:
    """The BIP-137 header byte and the key that made ``signature`` over ``message``."""
    raw = _compact(signature)
    header = raw[0]
    if not 27 <= header <= 42:
        raise Refused(f"header byte {header} is outside BIP-137's 27..42")
    try:
        key = PublicKey.from_signature_and_message(raw[1:] + bytes([(header - 27) % 4]),
                                                   message_hash(chain, message), hasher=None)
    except Exception:  # noqa: BLE001 - libsecp256k1 refuses the point (its own exception types): no key recovers
        raise Refused("no public key recovers from the signature") from None
    return header, key


def _key_bytes(header: int, key: PublicKey) -> bytes:
    return key.format(compressed=header >= 31)


def check_single(chain: Chain, address: Address, message: str, signature: str) -> str:
    """A single-key proof (BIP-137); returns what was proven, or raises ``Refused``."""
    header, key = recover(chain, message, signature)
    kind = P2PKH if header <= 34 else P2SH if header <= 38 else P2WPKH
    if kind != address.kind:
        raise Refused(f"header byte {header} signs for a {kind} address, but the address is {address.kind}")
    key_hash = hash160(_key_bytes(header, key))
    derived = hash160(b"\x00\x14" + key_hash) if kind == P2SH else key_hash
    if derived != address.payload:
        raise Refused("the recovered key does not give this address (signed by another key or over another text)")
    return f"{kind} signmessage"


def parse_multisig(script: bytes, points: frozenset[bytes] | set[bytes] = frozenset()) -> tuple[int, list[bytes]]:
    """``(m, keys)`` of a standard ``OP_m <keys> OP_n OP_CHECKMULTISIG``, or ``Refused``. ``points``: keys
    known to be valid points (serialised recovered keys), not parsed again."""
    if len(script) < 3 or script[-1] != OP_CHECKMULTISIG:
        raise Refused("the script is not a standard multisig (no OP_CHECKMULTISIG at its end)")
    m, n = script[0] - 0x50, script[-2] - 0x50
    if not (1 <= m <= 16 and 1 <= n <= 16 and m <= n):
        raise Refused(f"the script's m-of-n ({script[0]:#04x}, {script[-2]:#04x}) is not a standard 1 <= m <= n <= 16")
    keys: list[bytes] = []
    at = 1
    while at < len(script) - 2:
        size = script[at]
        if size not in (33, 65) or at + 1 + size > len(script) - 2:
            raise Refused(f"the script has a push of {size} bytes at offset {at} where a public key belongs")
        key = script[at + 1:at + 1 + size]
        try:
            if key not in points:
                PublicKey(key)
        except Exception:  # noqa: BLE001 - coincurve raises its own types for a point off the curve
            raise Refused(f"the script's key {len(keys) + 1} is not a valid secp256k1 point") from None
        keys.append(key)
        at += 1 + size
    if len(keys) != n:
        raise Refused(f"the script announces {n} keys but holds {len(keys)}")
    return m, keys


def check_multisig(chain: Chain, address: Address, message: str, signatures: list[str], script_hex: str) -> str:
    """An m-of-n script proof; returns what was proven, or raises ``Refused``."""
    try:
        script = bytes.fromhex(script_hex)
    except ValueError:
        raise Refused("the script is not hex") from None
    if not script or len(script) > MAX_SCRIPT_BYTES or script.hex() != script_hex.lower():
        raise Refused("the script is empty, too long or not plain hex")
    if address.kind == P2WSH:
        if hashlib.sha256(script).digest() != address.payload:
            raise Refused("the witness script does not hash to the address")
        how = "p2wsh"
    elif address.kind == P2SH32:
        if sha256d(script) != address.payload:
            raise Refused("the script does not hash to the address (P2SH32: sha256d of the script)")
        how = "p2sh32"
    elif address.kind == P2SH:
        if hash160(script) == address.payload:
            how = "p2sh"
        elif hash160(b"\x00\x20" + hashlib.sha256(script).digest()) == address.payload:
            how = "p2sh-p2wsh"
        else:
            raise Refused("the script does not hash to the address (neither P2SH nor P2SH-P2WSH)")
    else:
        raise Refused(f"a script was given for a {address.kind} address")
    # every signature's key first (each only once): a script key equal to a recovered key is a valid point,
    # not parsed again; the refusals stay in their order (the script's, then the signatures' in turn)
    recovered: list[tuple[int, bytes] | Refused] = []
    for signature in signatures:
        try:
            header, key = recover(chain, message, signature)
            recovered.append((header, _key_bytes(header, key) if header <= 34 else b""))
        except Refused as exc:
            recovered.append(exc)
    m, keys = parse_multisig(script, {r[1] for r in recovered if isinstance(r, tuple) and r[1]})
    signers: set[bytes] = set()
    for i, got in enumerate(recovered):
        if isinstance(got, Refused):
            raise Refused(f"signature {i + 1}: {got}") from None
        header, public = got
        if header > 34:
            raise Refused(f"signature {i + 1}: header byte {header} is for an address, not a script key")
        if public not in keys:
            raise Refused(f"signature {i + 1}: its key is not in the script (or signed another text)")
        if public in signers:
            raise Refused(f"signature {i + 1}: a second signature by the same key (a key counts once)")
        signers.add(public)
    if len(signers) < m:
        raise Refused(f"{len(signers)} distinct signing key(s) of the {m} the {m}-of-{len(keys)} script needs")
    return f"{how} {m}-of-{len(keys)} multisig, {len(signers)} keys signed"


def check_bip322(address_text: str, message: str, signature: str) -> str:
    """A BIP-322 simple signature (P2WPKH, P2TR), checked by the ``bip322`` package."""
    import bip322

    try:
        bip322.verify_simple_encoded(address_text, message, signature)
    except Exception as exc:  # noqa: BLE001 - the package raises its own VerificationError, or ValueError
        raise Refused(f"BIP-322 signature does not verify ({exc})") from None
    return "BIP-322 simple"


class BitcoinFamily:
    """The Bitcoin family's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.BITCOIN

    def canonical(self, chain: Chain, address: str) -> str:
        return decode_address(chain, address).canonical

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        address = decode_address(chain, row.address)
        if row.script:
            return check_multisig(chain, address, message, list(row.signatures), row.script), ""
        if address.kind in (P2WSH, P2SH32):
            what = "witness script" if address.kind == P2WSH else "script"
            raise Refused(f"a {address.kind.upper()} address is proven by its {what} and signatures; no script given")
        signature = one_signature(row)
        compact = len(signature) == 88  # base64 of 65 bytes
        if address.kind in (P2WPKH, P2TR) and not compact:
            if chain.name != "bitcoin":
                raise Unsupported(f"BIP-322 on {chain.name} is not supported")
            return check_bip322(canonical, message, signature), ""
        if address.kind == P2TR:
            raise Unsupported("a taproot address cannot sign a BIP-137 message; give a BIP-322 signature")
        return check_single(chain, address, message, signature), ""


FAMILY = BitcoinFamily()
