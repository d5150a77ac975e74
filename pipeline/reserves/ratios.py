"""Reserve ratios per asset, exactly (integers only). Standard library only.

The ratio is ``reserves / liabilities`` shown as a percentage with two decimals,
rounded **down**: 2 reserves against 3 liabilities is ``66.66``, never ``66.67``.
An asset is flagged when its reserves are below its liabilities (compared exactly,
not on the rounded figure).

por-v3 months (per-asset trees of equity and debt) also carry each asset's **debt** owed by users:
``liabilities`` is then the equity owed to users, ``net = liabilities − debt`` (exact; it can be
negative), and the ratio, the flag and the status are against the net liabilities, with the
**gross** ratio (reserves / equity) beside it. Net liabilities of zero or below have no net ratio
(``None``, shown ``n/a``) and the status ``net-debt``: users owe the exchange at least as much of the
asset as it owes them, so no reserve of it is needed for them (their debt is covered, user by user,
by the collateral rule the audit checks: ``liabilities.collateral``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Mapping, Sequence

from ..formats.numbers import UNDER_100
from ..protocol.amounts import to_units
from ..protocol.versions import per_asset


class Status(StrEnum):
    """An asset's reserve status; a member is equal to (and prints as) the string the report writes."""

    OK = "ok"
    UNDER = "under-100-percent"
    LIABILITIES_ONLY = "liabilities-only"
    RESERVES_ONLY = "reserves-only"
    NEITHER = "neither"
    NET_DEBT = "net-debt"
    """por-v3: users owe at least as much of the asset as they are owed (net liabilities ≤ 0)."""


OK, UNDER, LIABILITIES_ONLY, RESERVES_ONLY, NEITHER = (Status.OK, Status.UNDER, Status.LIABILITIES_ONLY,
                                                       Status.RESERVES_ONLY, Status.NEITHER)
NET_DEBT = Status.NET_DEBT
STATUS_WORDS = {OK: "ok", UNDER: UNDER_100, LIABILITIES_ONLY: "no reserves", RESERVES_ONLY: "no liabilities",
                NEITHER: "none", NET_DEBT: "no net liabilities"}
"""How each status is written for people, everywhere (terminal, Markdown, HTML)."""
LEGACY_STATUS = {"under-collateralised": UNDER.value}
"""Status names of reports published before 2026-11 (same meaning); the new name as a plain string, as a
document read back holds it."""


def percent(part: int, whole: int) -> str | None:
    """``part / whole`` as a percentage with two decimals rounded down, or None when ``whole ≤ 0``."""
    if whole <= 0:
        return None
    bp = part * 10_000 // whole
    return f"{bp // 100}.{bp % 100:02d}"


def signed_units(value: int, decimals: int) -> str:
    """``to_units`` of a value that may be negative (``-1.50``); never ``-0``."""
    return f"-{to_units(-value, decimals)}" if value < 0 else to_units(value, decimals)


@dataclass(frozen=True)
class AssetPosition:
    """One asset's sides, in smallest units: ``liabilities`` (owed to users: por-v3's equity) and
    ``reserves`` non-negative; ``debt`` (owed by users) only for por-v3 months, None before."""

    symbol: str
    decimals: int
    liabilities: int
    reserves: int
    debt: int | None = None

    @property
    def net(self) -> int:
        """Net liabilities: ``liabilities − debt`` (the liabilities when there is no debt column)."""
        return self.liabilities - (self.debt or 0)

    @property
    def basis_points(self) -> int | None:
        """``floor(10000 * reserves / net liabilities)``, or None without (positive) net liabilities."""
        if self.net <= 0:
            return None
        return self.reserves * 10_000 // self.net

    @property
    def ratio(self) -> str | None:
        """The percentage with two decimals rounded down (``"101.25"``), or None without liabilities
        (por-v3: without positive net liabilities)."""
        return percent(self.reserves, self.net)

    @property
    def gross_ratio(self) -> str | None:
        """Reserves / liabilities to users (equity), ignoring the users' debt; None without equity."""
        return percent(self.reserves, self.liabilities)

    @property
    def flagged(self) -> bool:
        """Reserves below the (net) liabilities."""
        return self.reserves < self.net

    @property
    def status(self) -> Status:
        if self.debt is not None and self.net <= 0 and (self.liabilities or self.debt):
            return NET_DEBT
        if self.net == 0:
            return RESERVES_ONLY if self.reserves else NEITHER
        if self.reserves == 0:
            return LIABILITIES_ONLY
        return UNDER if self.flagged else OK

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "symbol": self.symbol,
            "decimals": self.decimals,
            "liabilities": str(self.liabilities),
            "reserves": str(self.reserves),
            "liabilities_units": to_units(self.liabilities, self.decimals),
            "reserves_units": to_units(self.reserves, self.decimals),
            "ratio_percent": self.ratio,
            "status": self.status.value,  # plain data, as a document read back holds it (its repr too)
            "flagged": self.flagged,
        }
        if self.debt is not None:
            doc.update({"debt": str(self.debt), "debt_units": to_units(self.debt, self.decimals),
                        "net_liabilities": str(self.net), "net_liabilities_units": signed_units(self.net, self.decimals),
                        "gross_ratio_percent": self.gross_ratio})
        return doc


def positions(assets: Sequence[Mapping[str, Any]], liabilities: Sequence[int],
              reserves: Mapping[str, int], debt: Sequence[int] | None = None) -> list[AssetPosition]:
    """Every asset's position, in the manifest's asset order.

    Preconditions: ``assets`` are the manifest's assets (``symbol``, ``decimals``),
    ``liabilities`` the root sums (por-v3: the roots' equity) in the same order, ``debt`` (por-v3
    only) the roots' debt, and every key of ``reserves`` is one of the assets' symbols.
    """
    debts: Sequence[int | None] = [int(d) for d in debt] if debt is not None else [None] * len(assets)
    return [AssetPosition(a["symbol"], a["decimals"], int(total), reserves.get(a["symbol"], 0), d)
            for a, total, d in zip(assets, liabilities, debts, strict=True)]


def liability_totals(manifest: Mapping[str, Any]) -> tuple[list[int], list[int] | None]:
    """The manifest's totals per asset, in asset order: (owed to users, owed by users or None).
    por-v1/v2: the root's sums, no debt; por-v3: each asset's tree root's equity and debt."""
    if per_asset(manifest.get("version")):
        trees = manifest["trees"]
        return [int(t["root"]["equity"]) for t in trees], [int(t["root"]["debt"]) for t in trees]
    return [int(s) for s in manifest["root"]["sums"]], None


def manifest_positions(manifest: Mapping[str, Any], reserves: Mapping[str, int]) -> list[AssetPosition]:
    """Every asset's position from a manifest's totals (``liability_totals``) and the reserves."""
    liabilities, debt = liability_totals(manifest)
    return positions(manifest["assets"], liabilities, reserves, debt)
