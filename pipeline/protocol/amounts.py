"""Exact amounts: integers in ``[0, 2^128)``, their canonical decimal strings and human units.

Standard library only."""

from __future__ import annotations

import re

U128_LIMIT = 1 << 128

_CANONICAL_RE = re.compile(r"0|[1-9][0-9]*")


def parse_amount(text: object) -> int:
    """Parse a canonical decimal string of an integer in ``[0, 2**128)``.

    Raises ``ValueError`` naming the offending value when it is not a string,
    is negative, has a sign, a leading zero, whitespace or any non-digit, or
    is ``>= 2**128``.
    """
    if not isinstance(text, str):
        raise ValueError(f"amount must be a decimal string, got {type(text).__name__} {text!r}")
    if not _CANONICAL_RE.fullmatch(text):
        raise ValueError(f"amount {text!r} is not a canonical non-negative decimal integer")
    value = int(text)
    if value >= U128_LIMIT:
        raise ValueError(f"amount {text} is not below 2^128")
    return value


def format_amount(value: int) -> str:
    """The canonical decimal string of a non-negative integer."""
    return str(value)


def to_units(value: int, decimals: int) -> str:
    """``value`` smallest units as whole units with exactly ``decimals`` fractional digits."""
    if decimals == 0:
        return str(value)
    whole, frac = divmod(value, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"
