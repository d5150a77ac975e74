"""The haircuts input (``schemas/haircuts.md``): the fraction of each asset's value that counts as
collateral for a user's debt (``schemas/por-v3.md`` section 10), exactly.

A haircuts file is one JSON object::

    {"format": "por-haircuts-v1", "haircuts": {"BTC": "0.9", "ETH": "0.85", "USDT": "0.95"}}

Every haircut is a decimal string in [0, 1] (digits, at most one point, at most 18 decimals; no
sign, no exponent), for every asset of the asset file and no other, exactly as the prices file
(``formats.prices``). A haircut is read as an exact ``Decimal`` from its string, never through a
float; ``fraction`` gives it as an exact ``Fraction``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Sequence

from ..errors import InputError
from .canonical import unique_keys

FORMAT = "por-haircuts-v1"
_HAIRCUT = re.compile(r"(0|1)(\.[0-9]{1,18})?")
ONE = Decimal(1)


@dataclass(frozen=True)
class Haircuts:
    haircuts: dict[str, Decimal]
    """symbol -> haircut in [0, 1], exact."""

    def fraction(self, symbol: str) -> Fraction:
        return Fraction(self.haircuts[symbol])

    def as_json(self) -> dict[str, Any]:
        """The file's document (strings as given, normalised: ``"0.90"`` stays ``"0.90"``)."""
        return {"format": FORMAT, "haircuts": {k: format(v, "f") for k, v in sorted(self.haircuts.items())}}


def _number(kind: str) -> Any:
    return lambda text: (kind, text)


def parse_haircuts(data: bytes, where: str, symbols: Sequence[str]) -> Haircuts:
    """Validate a haircuts file against the asset file's symbols; errors name the file and the field.

    Refused: anything but UTF-8 JSON holding one object with exactly ``format`` and ``haircuts``; a
    key given twice in any object; a JSON number (``0.9`` instead of ``"0.9"``); a string that is not
    a plain decimal in [0, 1]; an asset that is not in the asset file; an asset of the asset file
    without a haircut."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_float=_number("float"), parse_int=_number("int"),
                         parse_constant=_number("constant"),
                         object_pairs_hook=unique_keys(lambda key: InputError(f"{where}: {key!r} is given twice")))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{where}: not a JSON document ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object with format and haircuts")
    unknown = sorted(set(doc) - {"format", "haircuts"})
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}")
    if doc.get("format") != FORMAT:
        shown = doc.get("format")
        raise InputError(f"{where}: format is {shown[1] if isinstance(shown, tuple) else shown!r}; expected {FORMAT!r}")
    haircuts = doc.get("haircuts")
    if not isinstance(haircuts, dict):
        raise InputError(f"{where}: 'haircuts' must be an object of asset -> decimal string in [0, 1]")
    out: dict[str, Decimal] = {}
    for symbol, value in haircuts.items():
        if symbol not in symbols:
            raise InputError(f"{where}: haircuts.{symbol}: not an asset of the asset file (assets: {list(symbols)})")
        if isinstance(value, tuple):
            raise InputError(f"{where}: haircuts.{symbol} is the JSON number {value[1]}; write it as a decimal "
                             f"string (\"{value[1]}\") so that no float is involved")
        if not isinstance(value, str) or not _HAIRCUT.fullmatch(value) or Decimal(value) > ONE:
            shown = value if not isinstance(value, str) else repr(value)
            raise InputError(f"{where}: haircuts.{symbol} = {shown} is not a decimal string in [0, 1] "
                             "(digits and at most one point, at most 18 decimals, e.g. \"0.95\")")
        out[symbol] = Decimal(value)
    missing = [s for s in symbols if s not in out]
    if missing:
        raise InputError(f"{where}: no haircut for {', '.join(missing)} (every asset of the asset file needs one: "
                         "an asset with a haircut of 0 counts nothing as collateral)")
    return Haircuts(out)
