"""One row's published amount against the chain: one status, one reason.

Statuses: ``match`` (equal, in smallest units), ``mismatch`` (both amounts recorded), ``unchecked``
(no node was given for the row's chain, or the chain has no balance client), ``error`` (the node's
answer, or a row that cannot be checked: no snapshot height, an address that does not decode).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation
from enum import StrEnum


class Status(StrEnum):
    """A row's balance-check status; a member is equal to (and prints as) the string files and reports write."""

    MATCH = "match"
    MISMATCH = "mismatch"
    UNCHECKED = "unchecked"
    ERROR = "error"


MATCH, MISMATCH, UNCHECKED, ERROR = Status.MATCH, Status.MISMATCH, Status.UNCHECKED, Status.ERROR
STATUSES = (MATCH, MISMATCH, UNCHECKED, ERROR)


_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])
"""Wide enough for any 128-bit amount: a scaling that would round raises instead."""


class NotChecked(Exception):
    """Why a row could not be checked; the message is the row's reason (status ``error``)."""


@dataclass(frozen=True)
class Outcome:
    status: Status
    on_chain: int | None
    reason: str


def smallest_units(text: str, decimals: int | None, integer: bool) -> int:
    """A published amount in smallest units: ``text`` is an integer of smallest units (``integer``)
    or a decimal of whole units, converted exactly with ``decimals``; ``NotChecked`` otherwise."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise NotChecked(f"published amount {text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise NotChecked(f"published amount {text!r} is not a non-negative number")
    if integer:
        if value != value.to_integral_value():
            raise NotChecked(f"published amount {text!r} is not a whole number of smallest units")
        return int(value)
    if decimals is None:
        raise NotChecked("the asset's decimals are unknown (give the asset file)")
    scaled = value.scaleb(decimals, _EXACT)
    if scaled != scaled.to_integral_value():
        raise NotChecked(f"published amount {text!r} has more than the asset's {decimals} decimals")
    return int(scaled)


def compare(published: int, on_chain: int) -> Outcome:
    if published == on_chain:
        return Outcome(MATCH, on_chain, "")
    return Outcome(MISMATCH, on_chain, f"published {published}, on chain {on_chain} (smallest units)")
