"""Bitcoin-family balances from a node's UTXO set: ``scantxoutset start [addr(…), …]``.

Bitcoin Core scans the UTXO set at its current tip and reports the ``height`` it scanned at, with
one entry per unspent output (``scriptPubKey`` hex, ``amount`` in coins with 8 decimals). The
outputs are summed per address by their output script (computed from the address here, not taken
from the node's descriptor strings), exactly: amounts are read as decimals, never as floats. A scan
at any other height than the snapshot's is refused: the UTXO set has moved since. So is a scan that
cannot be one honest answer: at another block than the snapshot block (``bestblock``), the same
outpoint (txid, vout) twice, or unspents that do not add up to the scan's ``total_amount``.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal
from typing import Any, Mapping, Sequence

from .compare import NotChecked

COIN_DECIMALS = 8
_EXACT = Context(prec=200)
_TXID = re.compile(r"[0-9a-f]{64}")


def scan_request(addresses: Sequence[str]) -> tuple[str, list[Any]]:
    """One ``scantxoutset`` call for these addresses (canonical spellings)."""
    return "scantxoutset", ["start", [f"addr({a})" for a in addresses]]


def wrong_height(chain: str, scanned: Any, wanted: int) -> str:
    return (f"the {chain} node scanned its UTXO set at height {scanned}, but the snapshot is at height {wanted}: "
            "a scan reports the tip, so the node must be at the snapshot height. Rewind it "
            f"(`bitcoin-cli invalidateblock <hash of block {wanted + 1}>`, scan, then `reconsiderblock`), "
            f"or scan a UTXO dump taken at height {wanted} (`dumptxoutset` on a node at that height)")


def _units(amount: Any, what: str) -> int:
    if not isinstance(amount, (Decimal, int)) or isinstance(amount, bool):
        raise NotChecked(f"{what} {amount!r} is not an exact number (read the answer with decimals)")
    units = Decimal(amount).scaleb(COIN_DECIMALS, _EXACT)
    if units < 0 or units != units.to_integral_value():
        raise NotChecked(f"{what} {amount} is not a whole number of smallest units")
    return int(units)


def sum_outputs(result: Any, scripts: Mapping[str, str], height: int, chain: str,
                block_hash: str | None = None) -> dict[str, int]:
    """Smallest units per address from a ``scantxoutset`` result (``scripts``: output script hex ->
    address). Refuses an unsuccessful scan, a scan at another height or at another block than
    ``block_hash``, an amount that is not a whole number of smallest units, an outpoint reported
    twice, and unspents whose sum is not the scan's ``total_amount``."""
    if not isinstance(result, dict) or result.get("success") is not True:
        raise NotChecked(f"the scan did not succeed: {str(result)[:200]}")
    if result.get("height") != height:
        raise NotChecked(wrong_height(chain, result.get("height"), height))
    if block_hash is not None and result.get("bestblock") != block_hash:
        raise NotChecked(f"the {chain} node scanned at block {str(result.get('bestblock'))[:80]!r}, not the snapshot "
                         f"block {block_hash} at height {height} (the chain reorganised, or the answer is not honest)")
    totals = dict.fromkeys(scripts.values(), 0)
    seen: set[tuple[str, int]] = set()
    total = 0
    unspents = result.get("unspents")
    if not isinstance(unspents, list):
        raise NotChecked("the scan result has no list of unspents")
    for u in unspents:
        script = u.get("scriptPubKey") if isinstance(u, dict) else None
        amount = u.get("amount") if isinstance(u, dict) else None
        if not isinstance(script, str) or script.lower() not in scripts:
            raise NotChecked(f"the scan reported an output not asked for: {str(u)[:160]}")
        txid, vout = u.get("txid"), u.get("vout")
        if (not isinstance(txid, str) or not _TXID.fullmatch(txid.lower()) or not isinstance(vout, int)
                or isinstance(vout, bool) or vout < 0):
            raise NotChecked(f"the scan reported an output without a valid outpoint (txid, vout): {str(u)[:160]}")
        outpoint = (txid.lower(), vout)
        if outpoint in seen:
            raise NotChecked(f"the scan reported outpoint {txid}:{vout} twice: one coin counted twice is not "
                             "an honest answer")
        seen.add(outpoint)
        units = _units(amount, "output amount")
        totals[scripts[script.lower()]] += units
        total += units
    if "total_amount" not in result:
        raise NotChecked("the scan result has no total_amount to check its unspents against")
    stated = _units(result["total_amount"], "the scan's total_amount")
    if stated != total:
        raise NotChecked(f"the scan's unspents add up to {total} smallest units, but its total_amount says {stated}: "
                         "not one honest answer")
    return totals
