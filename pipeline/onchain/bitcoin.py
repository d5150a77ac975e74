"""Bitcoin-family balances from a node's UTXO set: ``scantxoutset start [addr(…), …]``.

Bitcoin Core scans the UTXO set at its current tip and reports the ``height`` it scanned at, with
one entry per unspent output (``scriptPubKey`` hex, ``amount`` in coins with 8 decimals). The
outputs are summed per address by their output script (computed from the address here, not taken
from the node's descriptor strings), exactly: amounts are read as decimals, never as floats. A scan
at any other height than the snapshot's is refused: the UTXO set has moved since.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any, Mapping, Sequence

from .compare import NotChecked

COIN_DECIMALS = 8
_EXACT = Context(prec=200)


def scan_request(addresses: Sequence[str]) -> tuple[str, list[Any]]:
    """One ``scantxoutset`` call for these addresses (canonical spellings)."""
    return "scantxoutset", ["start", [f"addr({a})" for a in addresses]]


def wrong_height(chain: str, scanned: Any, wanted: int) -> str:
    return (f"the {chain} node scanned its UTXO set at height {scanned}, but the snapshot is at height {wanted}: "
            "a scan reports the tip, so the node must be at the snapshot height. Rewind it "
            f"(`bitcoin-cli invalidateblock <hash of block {wanted + 1}>`, scan, then `reconsiderblock`), "
            f"or scan a UTXO dump taken at height {wanted} (`dumptxoutset` on a node at that height)")


def sum_outputs(result: Any, scripts: Mapping[str, str], height: int, chain: str) -> dict[str, int]:
    """Smallest units per address from a ``scantxoutset`` result (``scripts``: output script hex ->
    address). Refuses an unsuccessful scan, a scan at another height, and an amount that is not a
    whole number of smallest units."""
    if not isinstance(result, dict) or result.get("success") is not True:
        raise NotChecked(f"the scan did not succeed: {str(result)[:200]}")
    if result.get("height") != height:
        raise NotChecked(wrong_height(chain, result.get("height"), height))
    totals = dict.fromkeys(scripts.values(), 0)
    unspents = result.get("unspents")
    if not isinstance(unspents, list):
        raise NotChecked("the scan result has no list of unspents")
    for u in unspents:
        script = u.get("scriptPubKey") if isinstance(u, dict) else None
        amount = u.get("amount") if isinstance(u, dict) else None
        if not isinstance(script, str) or script.lower() not in scripts:
            raise NotChecked(f"the scan reported an output not asked for: {str(u)[:160]}")
        if not isinstance(amount, (Decimal, int)) or isinstance(amount, bool):
            raise NotChecked(f"output amount {amount!r} is not an exact number (read the answer with decimals)")
        units = Decimal(amount).scaleb(COIN_DECIMALS, _EXACT)
        if units < 0 or units != units.to_integral_value():
            raise NotChecked(f"output amount {amount} is not a whole number of smallest units")
        totals[scripts[script.lower()]] += int(units)
    return totals
