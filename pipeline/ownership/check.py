"""One reserve row in, one status out. Pure: no I/O; the orchestration runs it per chunk of rows.

Statuses: ``bound`` (a valid proof over this period's challenge), ``unbound`` (a valid proof over
some other text, e.g. a fixed sentence: replayable), ``invalid`` (a signature, script, key or
address that does not check out, or a spelling that is not canonical), ``missing`` (no proof),
``unsupported`` (a chain or an address type this tool cannot check). Each comes with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .chains import Chain, Refused, find_chain
from .family import UnknownFamily, family_of
from .rules import OWNERS_NOT_CHECKED, ProofRow, Unsupported, spelling

__all__ = ["BOUND", "INVALID", "MAX_SIGNATURES", "MISSING", "OWNERS_NOT_CHECKED", "STATUSES", "UNBOUND",
           "UNSUPPORTED", "ProofRow", "Status", "Verdict", "canonical_address", "check_row"]


class Status(StrEnum):
    """A row's ownership status; a member is equal to the string files and reports write."""

    BOUND = "bound"
    UNBOUND = "unbound"
    INVALID = "invalid"
    MISSING = "missing"
    UNSUPPORTED = "unsupported"


BOUND, UNBOUND, INVALID, MISSING, UNSUPPORTED = (Status.BOUND, Status.UNBOUND, Status.INVALID, Status.MISSING,
                                                 Status.UNSUPPORTED)
STATUSES = (BOUND, UNBOUND, INVALID, MISSING, UNSUPPORTED)
MAX_SIGNATURES = 16


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    chain: str = ""
    """The chain's canonical name ("" when it is not on the list)."""
    canonical: str = ""
    """The address in its chain's canonical spelling ("" when it does not decode)."""
    note: str = ""
    signers: tuple[str, ...] = ()
    """Contract wallets: the distinct owners (canonical, ``0x`` + 40 hex) whose signatures verified."""
    pending: bool = False
    """A contract wallet signed over this period's challenge: ``bound`` once the chain confirms its owners."""


def canonical_address(chain: Chain, text: str) -> str:
    """``text`` in ``chain``'s canonical spelling, or ``Refused`` (``UnknownFamily`` for a chain whose
    family is not registered)."""
    return family_of(chain).canonical(chain, text)


def check_row(row: ProofRow, challenge: str | None) -> Verdict:
    """The row's status and reason. ``challenge`` is this period's text (None: nothing is bound)."""
    why = spelling(row.chain, "chain")
    if why:
        return Verdict(INVALID, why)
    chain = find_chain(row.chain)
    if chain is None:
        return Verdict(UNSUPPORTED, f"chain {row.chain!r} is not on the supported list (schemas/reserves.md)")
    try:
        family = family_of(chain)
    except UnknownFamily as exc:
        return Verdict(UNSUPPORTED, str(exc), chain.name)
    why = spelling(row.address, "address")
    if why:
        return Verdict(INVALID, why, chain.name)
    try:
        canonical = family.canonical(chain, row.address)
    except Refused as exc:
        return Verdict(INVALID, str(exc), chain.name)
    if not row.signatures:
        return Verdict(MISSING, "no signature", chain.name, canonical)
    if len(row.signatures) > MAX_SIGNATURES:
        return Verdict(INVALID, f"{len(row.signatures)} signatures (at most {MAX_SIGNATURES})", chain.name, canonical)
    message = row.message if row.message is not None else challenge
    if message is None:
        return Verdict(INVALID, "no message, and no challenge to check the signature against", chain.name, canonical)
    try:
        proven, note = family.prove(chain, row, message, canonical)
    except Refused as exc:
        return Verdict(INVALID, str(exc), chain.name, canonical)
    except Unsupported as exc:
        return Verdict(UNSUPPORTED, str(exc), chain.name, canonical)
    if note == OWNERS_NOT_CHECKED:  # never bound on the owners' word: the chain must confirm them
        signers = tuple(dict.fromkeys(family.canonical(chain, o) for o in row.owners))  # EVM: 0x + 40 hex
        over = ("this period's challenge" if challenge is not None and message == challenge
                else f"another text ({message if len(message) <= 60 else message[:57] + '...'!r})")
        return Verdict(UNBOUND, f"{proven} over {over}; not bound: that these owners control the contract and meet "
                       "its threshold was not confirmed on chain (a node for the chain confirms getOwners() and "
                       "getThreshold() at the snapshot height)", chain.name, canonical, note, signers,
                       pending=challenge is not None and message == challenge)
    if challenge is not None and message == challenge:
        return Verdict(BOUND, f"{proven} over this period's challenge", chain.name, canonical, note)
    shown = message if len(message) <= 60 else message[:57] + "..."
    return Verdict(UNBOUND, f"{proven} over another text ({shown!r}): replayable, not bound to this period",
                   chain.name, canonical, note)
