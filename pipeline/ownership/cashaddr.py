"""CashAddr, Bitcoin Cash's address spelling (the "cashaddr" specification of the Bitcoin Cash
upgrade of 2018-01-14, with the CashTokens type bits of CHIP-2022-02): the codec alone.

    [prefix ":"] base32(version ‖ hash) ‖ checksum(40 bits)

The alphabet is bech32's; the checksum is a BCH code over the prefix's characters (their low five
bits), a zero separator, the payload and eight zero groups (``polymod``); a string is all lower or
all upper case. The version byte is ``type << 3 | size``: type 0 P2PKH, 1 P2SH, 2 and 3 the same two
for wallets that accept CashTokens (the same output script, so the same wallet), size 0 a 160-bit
hash, 3 a 256-bit one (P2SH32, 2023). The prefix may be left out; then it is the chain's.

Written here rather than taken from a package: no well-kept Python package has it alone (``bitcash``
carries it inside a whole wallet with network clients, ``cashaddress`` was last released in 2019);
it is the polymod below plus embit's 8-to-5-bit regrouping, checked against ``@bitauth/libauth``'s
encoder by the golden vectors (``schemas/vectors/reserves/bitcoin.json``) and against the
specification's test vectors (``tests/test_ownership.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from embit import bech32

from .chains import Refused

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
P2PKH, P2SH, TOKEN_P2PKH, TOKEN_P2SH = 0, 1, 2, 3
SIZES = {0: 20, 3: 32}
"""Hash sizes in bytes by size code: the ones an output script can carry (160 and 256 bits)."""
_GENERATORS = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)


@dataclass(frozen=True)
class CashAddress:
    script_hash: bool
    """P2SH (a script's hash) rather than P2PKH (a key's hash)."""
    payload: bytes
    """The 20-byte (or, P2SH32, 32-byte) hash."""
    tokens: bool
    """Spelled with the CashTokens type bits (``z…``/``r…``): the same output script."""


def polymod(values: list[int]) -> int:
    c = 1
    for d in values:
        top = c >> 35
        c = ((c & 0x07FFFFFFFF) << 5) ^ d
        for i, g in enumerate(_GENERATORS):
            if top >> i & 1:
                c ^= g
    return c ^ 1


def _prefix_values(prefix: str) -> list[int]:
    return [ord(ch) & 0x1F for ch in prefix] + [0]


def encode(prefix: str, script_hash: bool, payload: bytes, tokens: bool = False) -> str:
    """The lower-case CashAddr of ``payload`` (20 or 32 bytes), with ``prefix``."""
    size = {v: k for k, v in SIZES.items()}[len(payload)]
    kind = (TOKEN_P2SH if script_hash else TOKEN_P2PKH) if tokens else (P2SH if script_hash else P2PKH)
    data = bech32.convertbits(bytes([kind << 3 | size]) + payload, 8, 5, True)
    assert data is not None
    check = polymod(_prefix_values(prefix) + data + [0] * 8)
    data += [(check >> 5 * (7 - i)) & 0x1F for i in range(8)]
    return prefix + ":" + "".join(CHARSET[d] for d in data)


def decode(prefix: str, text: str) -> CashAddress:
    """The address ``text`` spells under ``prefix`` (written or implied), or ``Refused`` naming why not."""
    if text != text.lower() and text != text.upper():
        raise Refused("CashAddr address in mixed case")
    lower = text.lower()
    written, sep, body = lower.rpartition(":")
    if sep and written != prefix:
        raise Refused(f"CashAddr prefix {written!r} is not {prefix!r}")
    if not body or any(ch not in CHARSET for ch in body):
        raise Refused("not a CashAddr address (characters outside its base32 alphabet)")
    values = [CHARSET.index(ch) for ch in body]
    if len(values) < 9 or polymod(_prefix_values(prefix) + values) != 0:
        raise Refused(f"not a valid CashAddr address (checksum, under the prefix {prefix!r})")
    raw = bech32.convertbits(values[:-8], 5, 8, False)
    if raw is None or not raw:
        raise Refused("not a valid CashAddr address (its payload's padding)")
    version, payload = raw[0], bytes(raw[1:])
    kind, size = version >> 3, version & 0x07
    if version & 0x80 or kind > TOKEN_P2SH:
        raise Refused(f"CashAddr version byte {version:#04x} names no P2PKH or P2SH address")
    if size not in SIZES or len(payload) != SIZES[size]:
        raise Refused(f"CashAddr version byte {version:#04x} with a {len(payload)}-byte hash is not a "
                      "160- or 256-bit P2PKH/P2SH hash")
    if kind in (P2PKH, TOKEN_P2PKH) and len(payload) != 20:
        raise Refused("a CashAddr P2PKH address holds a 160-bit hash")
    return CashAddress(kind in (P2SH, TOKEN_P2SH), payload, kind in (TOKEN_P2PKH, TOKEN_P2SH))


def looks_like(text: str) -> bool:
    """Whether ``text`` is meant as a CashAddr (a prefix, or a first character no base58check
    address of Bitcoin Cash starts with), rather than a legacy spelling."""
    return ":" in text or text[:1].lower() in "qpzr"
