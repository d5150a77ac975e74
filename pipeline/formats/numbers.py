"""How figures are written for people (terminal, Markdown, HTML): thousands separators, decimals
trimmed, one wording for a flagged asset. ``report.json`` keeps every digit; these are views.

* Amounts: ``12,345.678`` — trailing zeros trimmed; at most ``MAX_SHOWN_DECIMALS`` decimals,
  the rest cut (rounded toward zero, marked with ``…``) so a figure never overstates. The rule lives
  in ``protocol.amounts.readable_units`` so that the verifiers, below this layer, show amounts alike.
* Dollars: ``$1,234,567.89`` (always cents).
* Ratios: ``99.99%``.
"""

from __future__ import annotations

from decimal import Decimal

from ..protocol.amounts import MAX_SHOWN_DECIMALS, readable_units

__all__ = ["MAX_SHOWN_DECIMALS", "UNDER_100", "amount", "ratio", "scale", "usd"]

UNDER_100 = "under 100%"
"""The one wording for reserves below liabilities (JSON status ``under-100-percent``)."""


def amount(units: int, decimals: int) -> str:
    """Smallest units as a readable whole-unit figure (``protocol.amounts.readable_units``)."""
    return readable_units(units, decimals)


def usd(text: str) -> str:
    """A dollar figure (a decimal string in dollars and cents) with separators: ``$1,234.50``."""
    value = Decimal(text)
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def ratio(percent: str | None) -> str:
    return "n/a" if percent is None else f"{percent}%"


def scale(value: float) -> tuple[float, str]:
    """A divisor and its word for an axis (chart coordinates only): thousands, millions, billions."""
    for divisor, word in ((1e12, "trillions"), (1e9, "billions"), (1e6, "millions"), (1e3, "thousands")):
        if abs(value) >= divisor:
            return divisor, word
    return 1.0, ""
