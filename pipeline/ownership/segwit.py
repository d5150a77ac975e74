"""Segwit addresses (BIP-173 bech32, BIP-350 bech32m): the decoder, table-driven.

The same rules as the reference decoder (Pieter Wuille's, which ``embit.bech32`` carries), which the
tests check this one against (``tests/test_secp_codecs.py``: random valid and damaged addresses, and the
BIPs' own test vectors). Written here because the reference is Python with five conditional xors per
character for its checksum and a bit-by-bit regrouping, about 30 µs an address, the largest part of a
P2WPKH row's cost beyond its signature check; no well-kept package has it compiled. Here the checksum
takes one table look-up a character (``TABLE[top]`` is the xor of the generators named by ``top``'s
bits, the same as the five conditional xors), the human-readable part's share of it is computed once
per part, and the regrouping is one integer.
"""

from __future__ import annotations

import functools

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST, BECH32M_CONST = 1, 0x2BC830A3
GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
TABLE = tuple(functools.reduce(lambda acc, i: acc ^ (GENERATORS[i] if top >> i & 1 else 0), range(5), 0)
              for top in range(32))
"""``TABLE[top]``: the xor of the generators whose bit is set in the 5-bit ``top``."""
_VALUES = bytes(CHARSET.index(chr(b)) if chr(b) in CHARSET else 0xFF for b in range(256))
"""Byte -> its value in ``CHARSET``; 0xFF for a byte outside it."""
_DIGITS = bytes.maketrans(bytes(range(32)), b"0123456789abcdefghijklmnopqrstuv")
"""Value -> Python's base-32 digit for it: the data's bits as one integer through one ``int(…, 32)``."""


def polymod(values: bytes | list[int], chk: int = 1) -> int:
    """BIP-173's checksum polymod over ``values`` (5-bit), from the state ``chk`` (1: the start)."""
    table = TABLE
    for v in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ table[chk >> 25]
    return chk


@functools.lru_cache(maxsize=16)
def _hrp_state(hrp: str) -> int:
    """The polymod's state after the human-readable part's expansion (its high bits, a zero, its low bits)."""
    return polymod([ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp])


def decode(hrp: str, addr: str) -> tuple[int, bytes] | tuple[None, None]:
    """``(witness version, program)`` of the segwit address ``addr`` under ``hrp``; ``(None, None)`` when
    it is not one (the reference decoder's answer on every input)."""
    if not addr.isascii() or not addr.isprintable() or " " in addr or (addr.lower() != addr and addr.upper() != addr):
        return None, None
    bech = addr.lower()
    pos = bech.rfind("1")
    if pos < 1 or pos + 7 > len(bech) or len(bech) > 90 or bech[:pos] != hrp:
        return None, None
    values = bech[pos + 1:].encode("ascii").translate(_VALUES)
    if 0xFF in values:
        return None, None
    check = polymod(values, _hrp_state(hrp))
    if check not in (BECH32_CONST, BECH32M_CONST):
        return None, None
    data = values[1:-6]
    bits = 5 * len(data)
    nbytes, spare = divmod(bits, 8)
    if spare >= 5 or not 2 <= nbytes <= 40:
        return None, None
    acc = int(data.translate(_DIGITS), 32)
    if acc & ((1 << spare) - 1):
        return None, None
    version = values[0]
    if version > 16 or (version == 0 and nbytes not in (20, 32)):
        return None, None
    if (check == BECH32_CONST) != (version == 0):
        return None, None
    return version, (acc >> spare).to_bytes(nbytes, "big")
