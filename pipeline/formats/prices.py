"""The prices input (``schemas/prices.md``): each asset's US-dollar price at the snapshot time, and
the exact arithmetic that turns smallest units into dollars.

A prices file is one JSON object::

    {"format": "por-prices-v1", "source": "…", "timestamp": "2026-11-30T23:59:59Z",
     "prices": {"BTC": "91234.56", "ETH": "3021.4", …}}

Every price is a decimal string (digits, at most one point; no sign, no exponent), for every asset
of the asset file and no other. Dollar figures are computed exactly (``units × price / 10^decimals``)
and rounded once, at the end, to cents with round-half-to-even; a total is the rounded sum of the
exact per-asset values (so it can differ by a cent from the sum of the rounded lines).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Mapping, Sequence

from ..errors import InputError
from .canonical import unique_keys
from ..protocol.period import snapshot_time

FORMAT = "por-prices-v1"
ROUNDING = ("US dollars computed exactly from smallest units and the price, then rounded to cents, half to even; "
            "totals are the rounded sum of the exact values")
_PRICE = re.compile(r"(0|[1-9][0-9]{0,20})(\.[0-9]{1,18})?")
_EXACT = Context(prec=200)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Prices:
    source: str
    timestamp: str
    """ISO 8601 with a UTC offset, as given."""
    prices: dict[str, Decimal]

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "timestamp": self.timestamp,
                "prices": {k: format(v, "f") for k, v in sorted(self.prices.items())}}


def parse_prices(data: bytes, where: str, symbols: Sequence[str]) -> Prices:
    """Validate a prices file against the asset file's symbols; errors name the file and the field."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_float=lambda s: ("float", s), parse_int=lambda s: ("int", s),
                         object_pairs_hook=unique_keys(lambda key: InputError(f"{where}: {key!r} is given twice")))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{where}: not a JSON document ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object with format, source, timestamp and prices")
    unknown = sorted(set(doc) - {"format", "source", "timestamp", "prices"})
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}")
    if doc.get("format") != FORMAT:
        raise InputError(f"{where}: format is {doc.get('format')!r}; expected {FORMAT!r}")
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"{where}: 'source' must name where the prices come from (a non-empty string)")
    stamp = doc.get("timestamp")
    if not isinstance(stamp, str):
        raise InputError(f"{where}: 'timestamp' must be an ISO 8601 string with a UTC offset")
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise InputError(f"{where}: timestamp {stamp!r} is not ISO 8601") from None
    if when.tzinfo is None:
        raise InputError(f"{where}: timestamp {stamp!r} has no UTC offset (e.g. 2026-11-30T23:59:59Z)")
    prices = doc.get("prices")
    if not isinstance(prices, dict):
        raise InputError(f"{where}: 'prices' must be an object of asset -> decimal string")
    out: dict[str, Decimal] = {}
    for symbol, value in prices.items():
        if symbol not in symbols:
            raise InputError(f"{where}: prices.{symbol}: not an asset of the asset file (assets: {list(symbols)})")
        if isinstance(value, tuple):
            raise InputError(f"{where}: prices.{symbol} is the JSON number {value[1]}; write it as a decimal "
                             f"string (\"{value[1]}\") so that no float is involved")
        if not isinstance(value, str) or not _PRICE.fullmatch(value):
            shown = value if not isinstance(value, str) else repr(value)
            raise InputError(f"{where}: prices.{symbol} = {shown} is not a non-negative decimal string "
                             "(digits and at most one point, e.g. \"91234.56\")")
        out[symbol] = Decimal(value)
    missing = [s for s in symbols if s not in out]
    if missing:
        raise InputError(f"{where}: no price for {', '.join(missing)} (every asset of the asset file needs one)")
    return Prices(source.strip(), stamp, out)


PRICES_WINDOW = dt.timedelta(hours=24)
"""The prices' timestamp must lie within this much of the period's snapshot time (either side)."""


def prices_time_problem(prices: Prices, period: str) -> str | None:
    """Why the prices cannot be the period's (their time, the snapshot time and the window), or None."""
    when, snap = dt.datetime.fromisoformat(prices.timestamp), snapshot_time(period)
    if abs(when - snap) <= PRICES_WINDOW:
        return None
    return (f"the prices' timestamp {prices.timestamp} is not within {PRICES_WINDOW.total_seconds() / 3600:g} hours "
            f"of the period's snapshot time {snap.strftime('%Y-%m-%dT%H:%M:%SZ')}")


def zero_price_problems(prices: Prices, held: Mapping[str, int]) -> list[str]:
    """Assets priced at zero although something of them is owed or held (``held``: symbol -> units)."""
    return [f"{symbol} is priced at 0 US dollars but {units} smallest units of it are owed or held"
            for symbol, units in held.items() if units and prices.prices.get(symbol) == 0]


def exact_usd(units: int, decimals: int, price: Decimal) -> Decimal:
    """``units / 10^decimals × price``, exactly."""
    return _EXACT.multiply(Decimal(units).scaleb(-decimals, _EXACT), price)


def cents(value: Decimal) -> str:
    """Rounded to cents, half to even, as a decimal string (``"1234567.89"``)."""
    return format(value.quantize(CENT, rounding=ROUND_HALF_EVEN, context=_EXACT), "f")


def usd_section(prices: Prices, decimals: Mapping[str, int], liabilities: Mapping[str, int],
                reserves: Mapping[str, int], bound: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The report's dollar figures: per asset and in total, liabilities and reserves (and bound
    reserves when known), decimal strings in dollars and cents."""
    assets: dict[str, dict[str, str]] = {}
    totals = {"liabilities": Decimal(0), "reserves": Decimal(0), "reserves_bound": Decimal(0)}
    for symbol in decimals:
        price = prices.prices[symbol]
        values = {"liabilities": exact_usd(liabilities.get(symbol, 0), decimals[symbol], price),
                  "reserves": exact_usd(reserves.get(symbol, 0), decimals[symbol], price)}
        if bound is not None:
            values["reserves_bound"] = exact_usd(bound.get(symbol, 0), decimals[symbol], price)
        for k, v in values.items():
            totals[k] += v
        assets[symbol] = {"price": format(price, "f"), **{k: cents(v) for k, v in values.items()}}
    total = {k: cents(v) for k, v in totals.items() if bound is not None or k != "reserves_bound"}
    return {"source": prices.source, "timestamp": prices.timestamp, "rounding": ROUNDING, "assets": assets, "total": total}


def report_usd(prices: Prices, rows: Sequence[Mapping[str, Any]], ownership: Mapping[str, Any] | None) -> dict[str, Any]:
    """A report's dollar section recomputed from its asset rows (``symbol, decimals, liabilities,
    reserves``) and its ownership sums (bound reserves count when the month had a challenge)."""
    bound = ({s: int(v.get("bound", 0)) for s, v in ownership["by_asset"].items()}
             if ownership and ownership.get("challenge") else None)
    return usd_section(prices, {r["symbol"]: r["decimals"] for r in rows},
                       {r["symbol"]: int(r["liabilities"]) for r in rows}, {r["symbol"]: int(r["reserves"]) for r in rows},
                       bound)


def report_usd_problems(usd: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                        ownership: Mapping[str, Any] | None) -> list[str]:
    """A report's dollar figures recomputed from its own prices and amounts. Empty when they agree."""
    prices = Prices(usd["source"], usd["timestamp"], {k: Decimal(v["price"]) for k, v in usd["assets"].items()})
    want = report_usd(prices, rows, ownership)
    return [f"usd.{key} differs from the figures recomputed from the report's own prices and amounts "
            f"(report {usd.get(key)}, recomputed {want[key]})" for key in ("assets", "total", "rounding")
            if usd.get(key) != want[key]]
