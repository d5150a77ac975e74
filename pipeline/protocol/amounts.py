"""Exact amounts: integers in ``[0, 2^128)``, their canonical decimal strings and human units.

Two ways to show an amount in whole units: ``to_units`` (every digit, for ``--exact`` and files) and
``readable_units``, the one rule for people, used by the report, the command lines and the three
verifiers (``web/verify.mjs`` ``readableUnits`` is its twin; both are tested against
``tests/readable-amounts.json``): thousands grouped with commas, trailing zeros of the
fraction trimmed, at most ``MAX_SHOWN_DECIMALS`` decimals and the rest cut (toward zero, so a figure
never overstates) and marked with ``CUT``.

Standard library only."""

from __future__ import annotations

import re

U128_LIMIT = 1 << 128
MAX_SHOWN_DECIMALS = 8
"""``readable_units`` shows at most this many decimals."""
CUT = "\u2026"
"""Marks a readable amount whose further decimals were cut (``…``)."""

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


def readable_units(value: int, decimals: int) -> str:
    """``value`` smallest units as a whole-unit figure for people: ``12,345.678``, ``0``, ``-1.5``,
    ``0.12345678…`` (at most ``MAX_SHOWN_DECIMALS`` decimals, the rest cut toward zero and marked)."""
    if value < 0:
        return "-" + readable_units(-value, decimals)
    whole, frac = divmod(value, 10**decimals) if decimals else (value, 0)
    text = f"{whole:,}"
    if not frac:
        return text
    digits = f"{frac:0{decimals}d}".rstrip("0")
    if len(digits) > MAX_SHOWN_DECIMALS:
        return f"{text}.{digits[:MAX_SHOWN_DECIMALS]}{CUT}"
    return f"{text}.{digits}"


def is_cut(shown: str) -> bool:
    """Whether ``readable_units`` cut decimals from this figure."""
    return shown.endswith(CUT)


CUT_NOTE = (f"{CUT} marks decimals cut (at most {MAX_SHOWN_DECIMALS} are shown, never rounded up): --exact prints "
            "every digit.")
"""The command lines' line after amounts of which some were cut (Python and Node print it alike)."""


def signed_units(value: int, decimals: int) -> str:
    """``to_units`` with a minus sign for a negative value (a net position)."""
    return ("-" if value < 0 else "") + to_units(abs(value), decimals)


def shown_units(value: int, decimals: int, exact: bool = False) -> str:
    """An amount as the command lines show it: readable, or (``exact``) every digit; signed either way."""
    return signed_units(value, decimals) if exact else readable_units(value, decimals)
