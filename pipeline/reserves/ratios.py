"""Reserve ratios per asset, exactly (integers only). Standard library only.

The ratio is ``reserves / liabilities`` shown as a percentage with two decimals,
rounded **down**: 2 reserves against 3 liabilities is ``66.66``, never ``66.67``.
An asset is flagged when its reserves are below its liabilities (compared exactly,
not on the rounded figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Mapping, Sequence

from ..formats.numbers import UNDER_100
from ..protocol.amounts import to_units


class Status(StrEnum):
    """An asset's reserve status; a member is equal to (and prints as) the string the report writes."""

    OK = "ok"
    UNDER = "under-100-percent"
    LIABILITIES_ONLY = "liabilities-only"
    RESERVES_ONLY = "reserves-only"
    NEITHER = "neither"


OK, UNDER, LIABILITIES_ONLY, RESERVES_ONLY, NEITHER = (Status.OK, Status.UNDER, Status.LIABILITIES_ONLY,
                                                       Status.RESERVES_ONLY, Status.NEITHER)
STATUS_WORDS = {OK: "ok", UNDER: UNDER_100, LIABILITIES_ONLY: "no reserves", RESERVES_ONLY: "no liabilities",
                NEITHER: "none"}
"""How each status is written for people, everywhere (terminal, Markdown, HTML)."""
LEGACY_STATUS = {"under-collateralised": UNDER.value}
"""Status names of reports published before 2026-11 (same meaning); the new name as a plain string, as a
document read back holds it."""


@dataclass(frozen=True)
class AssetPosition:
    """One asset's two sides, in smallest units (non-negative integers)."""

    symbol: str
    decimals: int
    liabilities: int
    reserves: int

    @property
    def basis_points(self) -> int | None:
        """``floor(10000 * reserves / liabilities)``, or None without liabilities."""
        if self.liabilities == 0:
            return None
        return self.reserves * 10_000 // self.liabilities

    @property
    def ratio(self) -> str | None:
        """The percentage with two decimals rounded down (``"101.25"``), or None without liabilities."""
        bp = self.basis_points
        return None if bp is None else f"{bp // 100}.{bp % 100:02d}"

    @property
    def flagged(self) -> bool:
        """Reserves below liabilities."""
        return self.reserves < self.liabilities

    @property
    def status(self) -> Status:
        if self.liabilities == 0:
            return RESERVES_ONLY if self.reserves else NEITHER
        if self.reserves == 0:
            return LIABILITIES_ONLY
        return UNDER if self.flagged else OK

    def as_json(self) -> dict[str, Any]:
        return {
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


def positions(assets: Sequence[Mapping[str, Any]], liabilities: Sequence[int],
              reserves: Mapping[str, int]) -> list[AssetPosition]:
    """Every asset's position, in the manifest's asset order.

    Preconditions: ``assets`` are the manifest's assets (``symbol``, ``decimals``),
    ``liabilities`` the root sums in the same order, and every key of ``reserves``
    is one of the assets' symbols.
    """
    return [AssetPosition(a["symbol"], a["decimals"], int(total), reserves.get(a["symbol"], 0))
            for a, total in zip(assets, liabilities, strict=True)]
