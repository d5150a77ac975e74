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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    out, missing = _held([r["chain"] for r in rows], [r.get("height") for r in rows], declared, source,
                         lambda i: name(i, rows[i]))
    return [None if m else int(v) for v, m in zip(out.tolist(), missing.tolist(), strict=True)]


def _heights(heights: pa.Array | pa.ChunkedArray | Sequence[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """``(values, present)``: int64 values (0 where null), or Python ints (object) when one does not
    fit in 64 bits, and where a height is given."""
    if isinstance(heights, (pa.Array, pa.ChunkedArray)):
        present = heights.is_valid().to_numpy(zero_copy_only=False) if heights.null_count else np.ones(len(heights), bool)
        if pa.types.is_integer(heights.type) and heights.type.bit_width <= 64 and (
                pa.types.is_signed_integer(heights.type) or not len(heights)
                or (pc.max(heights).as_py() or 0) <= MAX_HEIGHT):
            return heights.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), present
        heights = heights.to_pylist()
    values = list(heights)
    present = np.fromiter((v is not None for v in values), bool, len(values))
    try:
        return np.array([0 if v is None else v for v in values], np.int64), present
    except OverflowError:
        return np.array([0 if v is None else v for v in values], object), present


def hold_heights(chains: pa.Array | pa.ChunkedArray | Sequence[Any], heights: pa.Array | pa.ChunkedArray | Sequence[int | None],
                 declared: Mapping[str, int] | None, source: str, where: Callable[[int], str]) -> pa.Array:
    """``hold_rows`` over columns: ``chains`` as written (a non-text value is on no chain), each row's
    height or null; ``where(i)`` names row ``i``. Returns the held heights (int64, null where none)."""
    out, missing = _held(chains, heights, declared, source, where)
    if out.dtype == object:
        return pa.array([None if m else int(v) for v, m in zip(out, missing, strict=True)], pa.int64())
    return pa.array(out.astype(np.int64), pa.int64(), mask=missing)


def _held(chains: pa.Array | pa.ChunkedArray | Sequence[Any], heights: pa.Array | pa.ChunkedArray | Sequence[int | None],
          declared: Mapping[str, int] | None, source: str, where: Callable[[int], str]) -> tuple[np.ndarray, np.ndarray]:
    """The held heights and where there is none (``hold_heights``).

    The same rule, stated over whole columns: the chain's height is its declared one, or (nothing
    declared) the height of its first row with one; a row is refused when its height is negative,
    when it is on a chain the declaration leaves out, or when it disagrees with its chain's height;
    the first such row in order is the one named, as the row-by-row statement of the rule raises
    at it."""
    if isinstance(chains, (pa.Array, pa.ChunkedArray)):
        encoded = pc.dictionary_encode(chains.combine_chunks() if isinstance(chains, pa.ChunkedArray) else chains)
        names = encoded.dictionary.to_pylist()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        index: dict[Any, int] = {}
        codes = np.fromiter((index.setdefault(c, len(index)) if isinstance(c, str) else -1 for c in chains), np.int64,
                            len(chains))
        names = list(index)
    found = [find_chain(c) if isinstance(c, str) else None for c in names]
    canonical = sorted({c.name for c in found if c is not None})
    slot = {name: k for k, name in enumerate(canonical)}
    # each row's chain as an index into ``canonical`` (-1: not on the list)
    of_name = np.array([slot[c.name] if c is not None else -1 for c in found] + [-1], np.int64)
    chain = of_name[codes]
    slotted = np.where(chain >= 0, chain, len(canonical))  # off the list: a last slot, never declared
    values, present = _heights(heights)
    if declared is not None and any(not -2**63 <= h < 2**63 for h in declared.values()):
        values = values.astype(object)
    n = len(values)
    on = chain >= 0
    bad = present & (values < 0).astype(bool)
    known = np.zeros(len(canonical) + 1, values.dtype)
    has = np.zeros(len(canonical) + 1, bool)
    origin = np.full(len(canonical) + 1, -1, np.int64)
    if declared is not None:
        for name, h in declared.items():
            if name in slot:
                known[slot[name]], has[slot[name]] = h, True
        outside = on & present & ~has[slotted]
        holds = on & has[slotted]
    else:
        outside = np.zeros(n, bool)
        given = np.flatnonzero(on & present)
        first_chain, first = np.unique(chain[given], return_index=True)
        origin[first_chain] = given[first]
        known[first_chain], has[first_chain] = values[given[first]], True
        holds = on & has[slotted] & (np.arange(n) >= origin[slotted])
    mismatch = holds & present & (values != known[slotted]).astype(bool)
    refused = np.flatnonzero(bad | outside | mismatch)
    if len(refused):
        i = int(refused[0])
        h = values[i]
        if bad[i]:
            raise InputError(f"{where(i)}: snapshot height {h} is negative")
        name = canonical[chain[i]]
        if outside[i]:
            assert declared is not None
            raise InputError(f"{where(i)}: {name} at height {h}, but {source} declares no height "
                             f"for {name} (declared: {dict(sorted(declared.items()))})")
        by = source if declared is not None else where(int(origin[chain[i]]))
        raise InputError(f"{where(i)}: {name} at height {h}, but {by} puts {name} at "
                         f"height {known[chain[i]]}: one snapshot height per chain (a coin moved between two blocks "
                         "would otherwise count twice)")
    return np.where(holds, known[slotted], values), ~(holds | present)


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
    coins = okx_coin_heights(totals, shown)
    held = [{"chain": r["chain"], "height": okx_row_height(r, coins, shown), "line": r["line"]} for r in rows]
    return hold_rows(held, None, "the totals block", lambda i, r: f"{shown}, line {r['line']}")


def okx_coin_heights(totals: Mapping[str, OkxTotal], shown: str) -> dict[str, tuple[int, int]]:
    """Each coin's height in the totals block, and its line (coins at ``-`` or none left out)."""
    coin_height: dict[str, tuple[int, int]] = {}
    for coin, (text, _, line) in totals.items():
        t = text.strip()
        if t in ("", "-"):
            continue
        if not (t.isascii() and t.isdigit()):
            raise InputError(f"{shown}, line {line}: snapshot height {text!r} of {coin} is not a block number")
        coin_height[coin] = (int(t), line)
    return coin_height


def okx_row_height(row: OkxRow, coins: Mapping[str, tuple[int, int]], shown: str) -> int | None:
    """The row's height: its coin's in the totals block (``okx_coin_heights``), or its own; a row at
    another height than its coin's is refused."""
    declared = coins.get(row["coin"])
    height = row["height"]
    if declared is None:
        return height
    if height is not None and height != declared[0]:
        raise InputError(f"{shown}, line {row['line']}: {row['coin']} at height {height}, but the totals block "
                         f"(line {declared[1]}) declares {row['coin']} at height {declared[0]}: one snapshot "
                         "height per chain")
    return declared[0]
