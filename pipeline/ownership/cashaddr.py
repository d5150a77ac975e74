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
it is the polymod below and a regrouping of the bits through one integer, checked against
``@bitauth/libauth``'s encoder by the golden vectors (``schemas/vectors/reserves/bitcoin.json``),
against the specification's test vectors (``tests/test_ownership.py``) and against the
specification's plain polymod (``polymod_plain``, five conditional xors a character) on random input
(``tests/test_secp_codecs.py``). The polymod takes one table look-up a character (``TABLE[top]`` is the
xor of the generators named by ``top``'s bits) and the prefix's share of it is computed once per
prefix: the plain one cost about 30 µs an address, twice a row (decode and the canonical spelling).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .chains import Refused

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
P2PKH, P2SH, TOKEN_P2PKH, TOKEN_P2SH = 0, 1, 2, 3
SIZES = {0: 20, 3: 32}
"""Hash sizes in bytes by size code: the ones an output script can carry (160 and 256 bits)."""
_GENERATORS = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
TABLE = tuple(functools.reduce(lambda acc, i: acc ^ (_GENERATORS[i] if top >> i & 1 else 0), range(5), 0)
              for top in range(32))
"""``TABLE[top]``: the xor of the generators whose bit is set in the 5-bit ``top``."""
_VALUES = bytes(CHARSET.index(chr(b)) if chr(b) in CHARSET else 0xFF for b in range(256))
"""Byte -> its value in ``CHARSET``; 0xFF for a byte outside it."""
_CHARS = bytes.maketrans(bytes(range(32)), CHARSET.encode("ascii"))
_DIGITS = bytes.maketrans(bytes(range(32)), b"0123456789abcdefghijklmnopqrstuv")
"""Value -> Python's base-32 digit for it: the payload's bits as one integer through one ``int(…, 32)``."""


@dataclass(frozen=True)
class CashAddress:
    script_hash: bool
    """P2SH (a script's hash) rather than P2PKH (a key's hash)."""
    payload: bytes
    """The 20-byte (or, P2SH32, 32-byte) hash."""
    tokens: bool
    """Spelled with the CashTokens type bits (``z…``/``r…``): the same output script."""


def polymod_plain(values: list[int]) -> int:
    """The specification's polymod, as written there (five conditional xors a value): what ``polymod``
    is tested against."""
    c = 1
    for d in values:
        top = c >> 35
        c = ((c & 0x07FFFFFFFF) << 5) ^ d
        for i, g in enumerate(_GENERATORS):
            if top >> i & 1:
                c ^= g
    return c ^ 1


def _times_x40(c: int) -> int:
    """The state after eight zero values from ``c``."""
    for _ in range(8):
        c = ((c & 0x07FFFFFFFF) << 5) ^ TABLE[c >> 35]
    return c


_EIGHT = tuple(tuple(_times_x40(b << 8 * k) for b in range(256)) for k in range(5))
"""``_EIGHT[k][b]``: eight zero values' effect on byte ``k`` (from the least significant) of the state
being ``b``. A step is linear over GF(2) in the state and the value, and eight values from a zero state
are their own 40 bits (nothing reaches the top yet), so eight values at once are
``xor(_EIGHT[k][byte k of c]) ^ (their 40 bits)``: five look-ups instead of eight steps."""


def _step(values: bytes | list[int], c: int) -> int:
    """The polymod's state after ``values`` from ``c``: the first ``len % 8`` one at a time, the rest eight at a time."""
    head = len(values) % 8
    table = TABLE
    for d in values[:head]:
        c = ((c & 0x07FFFFFFFF) << 5) ^ d ^ table[c >> 35]
    rest = bytes(values[head:])
    if rest:
        bits = int(rest.translate(_DIGITS), 32)
        t0, t1, t2, t3, t4 = _EIGHT
        for shift in range(5 * len(rest) - 40, -1, -40):
            c = (t0[c & 0xFF] ^ t1[c >> 8 & 0xFF] ^ t2[c >> 16 & 0xFF] ^ t3[c >> 24 & 0xFF] ^ t4[c >> 32]
                 ^ (bits >> shift & 0xFFFFFFFFFF))
    return c


def polymod(values: bytes | list[int]) -> int:
    """The CashAddr checksum polymod of ``values`` (5-bit each), one table look-up a value."""
    return _step(values, 1) ^ 1


@functools.lru_cache(maxsize=8)
def _prefix_state(prefix: str) -> int:
    """The polymod's state after the prefix's values (their low five bits) and the zero separator."""
    return _step(_prefix_values(prefix), 1)


def _prefix_values(prefix: str) -> list[int]:
    return [ord(ch) & 0x1F for ch in prefix] + [0]


def encode(prefix: str, script_hash: bool, payload: bytes, tokens: bool = False) -> str:
    """The lower-case CashAddr of ``payload`` (20 or 32 bytes), with ``prefix``."""
    size = {v: k for k, v in SIZES.items()}[len(payload)]
    kind = (TOKEN_P2SH if script_hash else TOKEN_P2PKH) if tokens else (P2SH if script_hash else P2PKH)
    raw = bytes([kind << 3 | size]) + payload
    bits = 8 * len(raw)
    count = -(-bits // 5)
    acc = int.from_bytes(raw, "big") << (5 * count - bits)  # zero padding to a whole number of 5-bit groups
    data = bytes((acc >> 5 * (count - 1 - i)) & 0x1F for i in range(count))
    check = _step(data + bytes(8), _prefix_state(prefix)) ^ 1
    data += bytes((check >> 5 * (7 - i)) & 0x1F for i in range(8))
    return prefix + ":" + data.translate(_CHARS).decode("ascii")


def decode(prefix: str, text: str) -> CashAddress:
    """The address ``text`` spells under ``prefix`` (written or implied), or ``Refused`` naming why not."""
    if text != text.lower() and text != text.upper():
        raise Refused("CashAddr address in mixed case")
    lower = text.lower()
    written, sep, body = lower.rpartition(":")
    if sep and written != prefix:
        raise Refused(f"CashAddr prefix {written!r} is not {prefix!r}")
    values = body.encode("ascii").translate(_VALUES) if body.isascii() else b"\xff"
    if not body or 0xFF in values:
        raise Refused("not a CashAddr address (characters outside its base32 alphabet)")
    if len(values) < 9 or _step(values, _prefix_state(prefix)) != 1:
        raise Refused(f"not a valid CashAddr address (checksum, under the prefix {prefix!r})")
    data = values[:-8]
    bits = 5 * len(data)
    nbytes, spare = divmod(bits, 8)
    acc = int(data.translate(_DIGITS), 32) if data else 0
    if spare >= 5 or acc & ((1 << spare) - 1) or not nbytes:
        raise Refused("not a valid CashAddr address (its payload's padding)")
    raw = (acc >> spare).to_bytes(nbytes, "big")
    version, payload = raw[0], raw[1:]
    kind, size = version >> 3, version & 0x07
    if version & 0x80 or kind > TOKEN_P2SH:
        raise Refused(f"CashAddr version byte {version:#04x} names no P2PKH or P2SH address")
    if size not in SIZES or len(payload) != SIZES[size]:
        raise Refused(f"CashAddr version byte {version:#04x} with a {len(payload)}-byte hash is not a "
                      "160- or 256-bit P2PKH/P2SH hash")
    if kind in (P2PKH, TOKEN_P2PKH) and len(payload) != 20:
        raise Refused("a CashAddr P2PKH address holds a 160-bit hash")
    return CashAddress(kind in (P2SH, TOKEN_P2SH), payload, kind in (TOKEN_P2PKH, TOKEN_P2SH))


def canonical(prefix: str, text: str, address: CashAddress) -> str:
    """The canonical spelling of ``address`` (lower case, with ``prefix``, without the token bits), which
    ``text`` spells under ``prefix`` (``decode``): ``text`` itself when it is already written so (its
    version byte, bits and checksum are what ``encode`` would write: ``decode`` refused any other
    padding), else ``encode``'s."""
    if not address.tokens and text.startswith(prefix + ":") and text == text.lower():
        return text
    return encode(prefix, address.script_hash, address.payload)


def looks_like(text: str) -> bool:
    """Whether ``text`` is meant as a CashAddr (a prefix, or a first character no base58check
    address of Bitcoin Cash starts with), rather than a legacy spelling."""
    return ":" in text or text[:1].lower() in "qpzr"
