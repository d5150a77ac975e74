"""Reserves held all month, not only at the snapshot: which further heights every address is read at.

Borrowing coins for the snapshot block ("window dressing") passes any check made at that one block.
So, on chains whose node answers at past heights (EVM archive nodes), every checked row is also read
at ``count`` further heights of the month, which nobody can know before the month is over:

* **The seed** is the hash of the period's **closing block**: the chain's last block whose timestamp
  is at or before the period's snapshot time (its end). The snapshot block is at or before it (its
  timestamp is in the window before the end), so the closing block is the snapshot block itself or a
  later one. It is fixed by the period, not by the exchange: the exchange chooses its snapshot height
  within the window (hundreds of blocks), and a seed taken from the snapshot block's own hash would
  let it try each of them and keep the one whose heights suit it. The closing block exists only once
  the month has ended, and its hash is known only once it is mined.
* **The range** is every block after the previous month's snapshot block on that chain (as the
  previous month's signed report records it) up to the block before the snapshot block; without a
  previous month (the archive's first month, a chain new this month), from the period's first block
  (the first whose timestamp is at or after the period's start).
* **The heights** (``sample_heights``): the range of ``size`` blocks is cut into ``count`` strata of
  near-equal size, stratum ``i`` being the blocks ``first + floor(i*size/count)`` up to (excluding)
  ``first + floor((i+1)*size/count)``, and one height is drawn in each: with ``d_i = BLAKE3(DOMAIN ‖
  0x00 ‖ chain ‖ 0x00 ‖ seed ‖ u32be(i))`` (``DOMAIN`` the ASCII bytes of ``RULE``, ``chain`` the
  chain's canonical name in UTF-8, ``seed`` the closing block's 32 hash bytes) and ``x_i`` its first 16
  bytes as a big-endian integer, the height is ``lo_i + floor(x_i * width_i / 2^128)``. A range of at
  most ``count`` blocks is read at every one of its blocks; an empty range at none.

Stratified, the heights are distinct and spread over the whole month: coins missing for longer than
two strata in a row (``2/count`` of the month) are always caught, and a shorter absence of a share
``f`` of the month is caught with a probability of about ``count * f``.

Pure: no network. The searches for the closing and the first block take a function that fetches
block headers by height (``Header``), and refuse answers whose times are not in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from blake3 import blake3

from .compare import NotChecked

RULE = "por-sample-heights-v1"
"""The name of the rule above (``report.json`` ``balances.sampling.rule``)."""
DOMAIN = RULE.encode("ascii")
DEFAULT_COUNT = 8
"""Sampled heights per chain unless ``--sample-heights`` says otherwise."""
MAX_COUNT = 1_000
FIRST_AFTER_PREVIOUS = "previous-snapshot"
"""The range starts after the previous month's snapshot block (as its signed report records it)."""
FIRST_OF_PERIOD = "period-start"
"""The range starts at the period's first block (no previous month recorded a snapshot of the chain)."""
PROBES_PER_ROUND = 32
"""Headers asked for in one batch while searching for a block by its time."""


@dataclass(frozen=True)
class Header:
    """A block as its node reports it: height, hash (as the node writes it), Unix timestamp."""

    height: int
    hash: str
    timestamp: int

    def as_json(self) -> dict[str, object]:
        return {"height": self.height, "hash": self.hash, "timestamp": self.timestamp}


def seed_bytes(block_hash: str) -> bytes:
    """A block hash (64 hex digits, with or without ``0x``) as its 32 bytes; ``ValueError`` otherwise."""
    text = block_hash[2:] if block_hash.startswith("0x") else block_hash
    raw = bytes.fromhex(text)
    if len(raw) != 32 or len(text) != 64:
        raise ValueError(f"{block_hash!r} is not a 32-byte block hash")
    return raw


def sample_heights(chain: str, seed_hash: str, first: int, last: int, count: int) -> list[int]:
    """The sampled heights of ``chain`` in the range ``first..last`` (both included), increasing (the rule
    in the module's docstring). ``seed_hash``: the closing block's hash."""
    seed = seed_bytes(seed_hash)
    size = last - first + 1
    if count <= 0 or size <= 0:
        return []
    if size <= count:
        return list(range(first, last + 1))
    out = []
    for i in range(count):
        lo = first + i * size // count
        width = first + (i + 1) * size // count - lo
        d = blake3(DOMAIN + b"\x00" + chain.encode("utf-8") + b"\x00" + seed + i.to_bytes(4, "big")).digest()
        out.append(lo + (int.from_bytes(d[:16], "big") * width >> 128))
    return out


Fetch = Callable[[Sequence[int]], Sequence[Header]]
"""Headers of these heights, in order (one batch of calls to the node)."""


def _fetched(fetch: Fetch, heights: Sequence[int]) -> list[Header]:
    got = list(fetch(heights))
    if [h.height for h in got] != list(heights):
        raise NotChecked(f"the node answered blocks {[h.height for h in got][:8]} when asked for {list(heights)[:8]}")
    return got


def first_where(lo: Header, hi: Header, after: Callable[[int], bool], fetch: Fetch) -> Header:
    """The first block in ``lo.height+1 .. hi.height`` whose timestamp ``after`` holds for, given that it
    fails for ``lo`` and holds for ``hi``; up to ``PROBES_PER_ROUND`` headers per round. ``NotChecked``
    when the node's times are not in order (a later block failing where an earlier one holds)."""
    if after(lo.timestamp) or not after(hi.timestamp) or lo.height >= hi.height:
        raise NotChecked(f"the node's blocks {lo.height} (time {lo.timestamp}) and {hi.height} (time {hi.timestamp}) "
                         "do not bracket the time searched for")
    while hi.height - lo.height > 1:
        gap = hi.height - lo.height
        step = max(1, -(-gap // (PROBES_PER_ROUND + 1)))
        probes = list(range(lo.height + step, hi.height, step))[:PROBES_PER_ROUND]
        got = _fetched(fetch, probes)
        for a, b in zip([lo, *got], [*got, hi], strict=True):
            if a.timestamp > b.timestamp:
                raise NotChecked(f"the node's block {b.height} has time {b.timestamp}, before block {a.height}'s "
                                 f"{a.timestamp}: block times out of order are not an honest answer")
        before = [h for h in got if not after(h.timestamp)]
        later = [h for h in got if after(h.timestamp)]
        lo = before[-1] if before else lo
        hi = later[0] if later else hi
    return hi


def in_order(blocks: Sequence[Header], lower: Header | None, upper: Header) -> str | None:
    """Why the sampled blocks cannot be the chain's (their times out of order, after the snapshot block's
    or before the range's first block), or None."""
    chain = ([lower] if lower is not None else []) + list(blocks) + [upper]
    for a, b in zip(chain, chain[1:], strict=False):
        if a.timestamp > b.timestamp:
            return (f"the node's block {b.height} has time {b.timestamp}, before block {a.height}'s {a.timestamp}: "
                    "block times out of order are not an honest answer")
    return None
