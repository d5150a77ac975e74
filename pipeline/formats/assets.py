"""The asset file (``assets.json``): symbol -> decimals, in protocol order."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import InputError
from .canonical import unique_keys

MAX_DECIMALS = 38
_SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class Asset:
    symbol: str
    decimals: int


def protocol_order(symbols: list[str]) -> list[str]:
    """Symbols ascending by their UTF-8 bytes (the por-v1 asset order)."""
    return sorted(symbols, key=lambda s: s.encode("utf-8"))


def parse_assets(text: str | bytes, where: str) -> list[Asset]:
    """Parse and validate an asset file; returns the assets in protocol order.

    ``where`` names the file in error messages. Rejects invalid JSON, a
    non-object, duplicate or malformed symbols, and decimals that are not
    integers in ``[0, 38]``.
    """

    no_duplicates = unique_keys(lambda key: InputError(f"{where}: asset {key!r} is declared twice"))
    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f'{where}: must be a non-empty JSON object like {{"BTC": 8, "ETH": 18}}')
    assets = []
    for symbol, decimals in data.items():
        if not _SYMBOL_RE.match(symbol) or symbol in ("user_id",):
            raise InputError(
                f"{where}: asset symbol {symbol!r} must be 1-32 characters of A-Z a-z 0-9 . _ - "
                "starting with a letter or digit, and not 'user_id'"
            )
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
            raise InputError(
                f"{where}: decimals of {symbol!r} must be an integer in [0, {MAX_DECIMALS}], got {decimals!r}"
            )
        assets.append(Asset(symbol, decimals))
    order = protocol_order([a.symbol for a in assets])
    by_symbol = {a.symbol: a for a in assets}
    return [by_symbol[s] for s in order]
