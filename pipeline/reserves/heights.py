"""One snapshot height per chain: the reserves' declaration, and every row held to it.

Without this rule, address A holding 100 ETH at block h1 and then sending them to B could be listed
as A at h1 and B at h2, and both rows would match the chain: 200 ETH confirmed. So a month's reserves
declare one height per chain, inside the reserves input (``por publish`` archives and digests it):

* a reserves directory: ``heights.json`` at its top, ``{"ethereum": 21000000, "bitcoin": 870000}``
  (chain names or aliases from the supported list, each chain once, non-negative integers);
* the published CSV layout: its totals block, whose ``snapshot height`` is each coin's height;
* a single Parquet file (such as a published ``public/reserves.parquet``): the rows themselves, whose
  heights must then agree per chain.

A row at another height than its chain's declared height, a row with a height on a chain the
declaration leaves out, two coins of one chain at two heights: refused, naming the file and row. A
row without a height takes its chain's.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence, TypeVar

from ..errors import InputError
from ..formats.canonical import unique_keys
from ..ownership.chains import find_chain
from .okx_csv import OkxRow, OkxTotal

HEIGHTS_FILE = "heights.json"
MAX_HEIGHT = 2**63 - 1
_Row = TypeVar("_Row", bound=Mapping[str, Any])
"""A row of any of the layouts (its own record type): ``chain`` (as written) and ``height`` (or None)
are what is read of it."""


def parse_heights(data: bytes, shown: str) -> dict[str, int]:
    """``heights.json``: chain -> height (canonical chain names), read strictly."""
    pairs = unique_keys(lambda k: InputError(f"{shown}: {k!r} appears twice"))
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_float=lambda t: t,
                         parse_constant=lambda t: t)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{shown}: not a JSON object of chain -> snapshot height ({exc})") from None
    if not isinstance(doc, dict) or not doc:
        raise InputError(f'{shown}: expected a JSON object such as {{"ethereum": 21000000, "bitcoin": 870000}}')
    heights: dict[str, int] = {}
    for name, height in doc.items():
        chain = find_chain(name) if name == name.strip() else None
        if chain is None:
            raise InputError(f"{shown}: {name!r} is not a chain on the supported list (schemas/reserves.md)")
        if not isinstance(height, int) or isinstance(height, bool) or not 0 <= height <= MAX_HEIGHT:
            raise InputError(f"{shown}: the height of {name} is {height!r}, not a block number (a non-negative integer)")
        if chain.name in heights:
            raise InputError(f"{shown}: {chain.name} is declared twice (as {name!r} too)")
        heights[chain.name] = height
    return heights


def hold_rows(rows: Sequence[_Row], declared: Mapping[str, int] | None, source: str,
              where: Callable[[int, _Row], str] | None = None) -> list[int | None]:
    """Each row's snapshot height (its chain's), in order; ``InputError`` naming the row that breaks
    the rule. ``rows``: ``chain`` (as written), ``height`` (or None); ``where(i, row)`` names row ``i``.
    ``declared`` None: the first row of a chain with a height declares the chain's."""
    name: Callable[[int, _Row], str] = where or (lambda i, r: f"row {i}")
    chains: dict[str, tuple[int, str]] = {}
    if declared is not None:
        chains = {c: (h, source) for c, h in declared.items()}
    out: list[int | None] = []
    for i, r in enumerate(rows):
        chain = find_chain(r["chain"]) if isinstance(r["chain"], str) else None
        height = r.get("height")
        if height is not None and height < 0:
            raise InputError(f"{name(i, r)}: snapshot height {height} is negative")
        if chain is None:  # not on the list: never balance-checked, nothing to hold it to
            out.append(height)
            continue
        known = chains.get(chain.name)
        if known is None:
            if height is not None and declared is not None:
                raise InputError(f"{name(i, r)}: {chain.name} at height {height}, but {source} declares no height "
                                 f"for {chain.name} (declared: {dict(sorted(declared.items()))})")
            if height is not None:
                chains[chain.name] = (height, name(i, r))
            out.append(height)
            continue
        if height is not None and height != known[0]:
            raise InputError(f"{name(i, r)}: {chain.name} at height {height}, but {known[1]} puts {chain.name} at "
                             f"height {known[0]}: one snapshot height per chain (a coin moved between two blocks "
                             "would otherwise count twice)")
        out.append(known[0])
    return out


def per_chain(rows: Sequence[Mapping[str, Any]], heights: Sequence[int | None]) -> dict[str, int]:
    """chain -> its height, from rows already held to the rule."""
    out: dict[str, int] = {}
    for r, h in zip(rows, heights, strict=True):
        chain = find_chain(r["chain"]) if isinstance(r["chain"], str) else None
        if chain is not None and h is not None:
            out[chain.name] = h
    return out


def okx_declared(totals: Mapping[str, OkxTotal], rows: Sequence[OkxRow], shown: str) -> list[int | None]:
    """The CSV layout: each row's coin's totals-block height is its declared height (a row at another
    height is refused); then one height per chain across coins."""
    coin_height: dict[str, tuple[int, int]] = {}
    for coin, (text, _, line) in totals.items():
        t = text.strip()
        if t in ("", "-"):
            continue
        if not (t.isascii() and t.isdigit()):
            raise InputError(f"{shown}, line {line}: snapshot height {text!r} of {coin} is not a block number")
        coin_height[coin] = (int(t), line)
    held = []
    for r in rows:
        declared = coin_height.get(r["coin"])
        height = r["height"]
        if declared is not None:
            if height is not None and height != declared[0]:
                raise InputError(f"{shown}, line {r['line']}: {r['coin']} at height {height}, but the totals block "
                                 f"(line {declared[1]}) declares {r['coin']} at height {declared[0]}: one snapshot "
                                 "height per chain")
            height = declared[0]
        held.append({"chain": r["chain"], "height": height, "line": r["line"]})
    return hold_rows(held, None, "the totals block", lambda i, r: f"{shown}, line {r['line']}")
