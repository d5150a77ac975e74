"""What por-v3 proofs reveal about other users, measured (``por bench --privacy``).

For a sample of users, every sibling their proofs hold (per fragment, one node per level of that
asset's tree) is compared with the snapshot's holdings:

- *exact*: a sibling whose equity (or debt) is exactly some other user's non-zero equity (or debt)
  in that asset. Split in two: *structural* (the sibling holds non-zero leaves of exactly one other
  user, all of that user's fragments: the proof shows that user's exact holding) and *chance* (the
  number happens to equal some holding);
- *largest share*: over siblings whose non-zero leaves all belong to one other user, the largest
  fraction of that user's holding they show;
- *count bound*: per asset, the range of holders the published shape allows (spec section 9).

The measurement works on leaf tables (position, owner, equity, debt per asset), so it applies to
the reference builder's output in tests and to a real build's private store in the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import accumulate
from typing import Iterable, Sequence

import numpy as np

from pipeline.protocol import v3

PADDING_OWNER = -1


@dataclass
class LeafTable:
    """One asset's leaves ascending by position; ``owner`` indexes users, -1 for padding leaves."""

    symbol: str
    bucket_bits: int
    bucket_height: int
    position: np.ndarray  # (L,) int64
    owner: np.ndarray  # (L,) int64
    equity: list[int]
    debt: list[int]

    def __post_init__(self) -> None:
        nonzero = np.array([e != 0 or d != 0 for e, d in zip(self.equity, self.debt, strict=True)], dtype=np.int64)
        self._nonzero_prefix = np.concatenate([[0], np.cumsum(nonzero)])
        self._equity_prefix = [0, *accumulate(self.equity)]
        self._debt_prefix = [0, *accumulate(self.debt)]

    def sums_in(self, a: int, b: int) -> tuple[int, int]:
        """Equity and debt of leaves ``[a, b)`` (exact)."""
        return self._equity_prefix[b] - self._equity_prefix[a], self._debt_prefix[b] - self._debt_prefix[a]

    def leaves_in(self, lo: int, hi: int) -> tuple[int, int]:
        """Indices ``[a, b)`` of the leaves with ``lo <= position < hi``."""
        a, b = np.searchsorted(self.position, [lo, hi])
        return int(a), int(b)

    def nonzero_in(self, a: int, b: int) -> int:
        return int(self._nonzero_prefix[b] - self._nonzero_prefix[a])


@dataclass
class PrivacyFigures:
    proofs: int = 0
    siblings: int = 0
    proofs_with_exact: int = 0
    proofs_with_structural: int = 0
    proofs_with_chance: int = 0
    largest_share: Fraction = Fraction(0)
    median_leaf_share: Fraction = Fraction(0)
    count_bounds: dict[str, tuple[int, int]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"  privacy over {self.proofs} proofs ({self.siblings} siblings):",
            f"    proofs showing another user's exact holding: {self.proofs_with_exact} "
            f"(structural {self.proofs_with_structural}, by chance {self.proofs_with_chance})",
            f"    largest share of one other user's holding shown: {float(self.largest_share):.4f}; "
            f"median share shown by a leaf sibling: {float(self.median_leaf_share):.4f}",
        ]
        for symbol, (lo, hi) in self.count_bounds.items():
            out.append(f"    holders of {symbol}: between {lo} and {hi} by the published shape")
        return out


def holder_bounds(bucket_bits: int, bucket_height: int, fragments: int, padding: int) -> tuple[int, int]:
    """The holders of an asset that a tree of this shape allows (default bucket bits assumed):
    ``L`` is in ``(2^(k+14), 2^(k+15)]`` for ``k > 0`` (at most ``2^(k+h)``), at least 4 096, and
    ``F = s · holders`` in ``[L / (1 + p/100), L]``."""
    capacity = 1 << (bucket_bits + bucket_height)
    low_leaves = (1 << (bucket_bits + 14)) + 1 if bucket_bits > 0 else 1
    high_leaves = min(capacity, 1 << (bucket_bits + 15)) if bucket_bits > 0 else capacity
    low_fragments = -(-low_leaves * 100 // (100 + padding))
    if high_leaves <= v3.MIN_LEAVES:
        low_fragments = 0  # a tree at the minimum size may hold any number of fragments up to it
    return -(-low_fragments // fragments), high_leaves // fragments


def measure(tables: Sequence[LeafTable], holdings: Sequence[dict[int, tuple[int, int]]],
            sample: Iterable[int], fragments: int, padding: int) -> PrivacyFigures:
    """``holdings[u]``: user ``u``'s ``{asset index: (equity, debt)}``; ``sample``: the users whose
    proofs are examined."""
    figures = PrivacyFigures()
    amounts = [({h[j][0] for h in holdings if j in h and h[j][0]}, {h[j][1] for h in holdings if j in h and h[j][1]})
               for j in range(len(tables))]
    leaf_shares: list[Fraction] = []
    for t in tables:
        figures.count_bounds[t.symbol] = holder_bounds(t.bucket_bits, t.bucket_height, fragments, padding)
    for user in sample:
        figures.proofs += 1
        exact = structural = chance = False
        for j, (own_e, own_d) in holdings[user].items():
            t = tables[j]
            mine = np.flatnonzero(t.owner == user)
            for leaf in mine.tolist():
                position = int(t.position[leaf])
                for level in range(t.bucket_bits + t.bucket_height):
                    sibling = (position >> level) ^ 1
                    a, b = t.leaves_in(sibling << level, (sibling + 1) << level)
                    figures.siblings += 1
                    nonzero = t.nonzero_in(a, b)
                    if nonzero == 0:
                        continue
                    equity, debt = t.sums_in(a, b)
                    owners = ({int(o) for o, e, d in zip(t.owner[a:b].tolist(), t.equity[a:b], t.debt[a:b], strict=True)
                               if e or d} if nonzero <= fragments else {PADDING_OWNER})
                    single = len(owners) == 1 and PADDING_OWNER not in owners
                    hit = (equity and equity in amounts[j][0] and equity != own_e) or (
                        debt and debt in amounts[j][1] and debt != own_d)
                    if single:
                        [other] = owners
                        whole_e, whole_d = holdings[other][j]
                        share = max(Fraction(equity, whole_e) if whole_e else Fraction(0),
                                    Fraction(debt, whole_d) if whole_d else Fraction(0))
                        figures.largest_share = max(figures.largest_share, share)
                        if level == 0:
                            leaf_shares.append(share)
                        if (equity, debt) == (whole_e, whole_d):
                            structural = True
                    if hit:
                        exact = True
                        if not (single and (equity, debt) == holdings[next(iter(owners))][j]):
                            chance = True
        figures.proofs_with_exact += exact
        figures.proofs_with_structural += structural
        figures.proofs_with_chance += chance
    if leaf_shares:
        leaf_shares.sort()
        figures.median_leaf_share = leaf_shares[len(leaf_shares) // 2]
    return figures
