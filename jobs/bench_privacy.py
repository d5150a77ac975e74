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
            f"    proofs showing another user's exact holding: {self.proofs_with_structural} (all of that user's "
            f"fragments under one sibling); proofs with a number that equals some holding by chance: "
            f"{self.proofs_with_chance}",
            f"    largest share of one other user's holding shown: {float(self.largest_share):.4f}; "
            f"median share shown by a leaf sibling: {float(self.median_leaf_share):.4f}",
        ]
        for symbol, (lo, hi) in self.count_bounds.items():
            out.append(f"    holders of {symbol}: between {lo} and {hi} by the published shape")
        return out


def holder_bounds(bucket_bits: int, bucket_height: int, fragments: int, padding: int) -> tuple[int, int]:
    """The holders of an asset that a tree of this shape allows (the default bucket bits assumed):
    ``L`` is in ``(2^(k+14), 2^(k+15)]`` for ``k > 0``, in ``(2^(h-1), 2^h]`` for ``k = 0``, at most
    ``2^(k+h)``; ``F = s · holders`` is in ``[L / (1 + p/100), L]`` when ``F ≥ 4 096``, and any ``F``
    below 4 096 gives ``L ≤ 4 096 (1 + p/100)`` (the minimum tree plus its random extra)."""
    capacity = 1 << (bucket_bits + bucket_height)
    if bucket_bits > 0:
        low_leaves, high_leaves = (1 << (bucket_bits + 14)) + 1, min(capacity, 1 << (bucket_bits + 15))
    else:
        low_leaves, high_leaves = (1 << max(0, bucket_height - 1)) + 1, capacity
    small = low_leaves * 100 <= v3.MIN_LEAVES * (100 + padding)
    low_fragments = 0 if small else -(-low_leaves * 100 // (100 + padding))
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
                    single = len(owners) == 1 and PADDING_OWNER not in owners and user not in owners
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


def from_bundle(path: str, sample_size: int = 10_000, seed: int = 1) -> PrivacyFigures:
    """``measure`` over a built por-v3 bundle's private store (users, trees): every user's fragment
    keys are derived from their ``uk`` to name each leaf's owner, as an auditor does."""
    import random

    from blake3 import blake3

    from pipeline.formats import bucket_file, users_file
    from pipeline.liabilities import stored
    from pipeline.storage.bundle import open_bundle

    b = open_bundle(path)
    manifest = stored.load_manifest(b)
    index = stored.load_private_index_v3(b, manifest)
    symbols = [a["symbol"] for a in manifest["assets"]]
    m = len(symbols)
    s = int(manifest["parameters"]["fragments"])
    p = int(manifest["parameters"]["padding"])
    holdings: list[dict[int, tuple[int, int]]] = []
    owner_of: dict[bytes, int] = {}
    messages = [[v3.fragment_message(sym, i) for i in range(s)] for sym in symbols]
    for entry in index["user_files"]:
        users = users_file.decode_users(b.read(entry["file"]), entry["file"], m)
        for row in range(users.uks.shape[0]):
            uk = users.uks[row].tobytes()
            mine = {j: (e, d) for j, e, d in stored.user_holdings(users, row, m)}
            user = len(holdings)
            holdings.append(mine)
            for j in mine:
                for message in messages[j]:
                    owner_of[blake3(message, key=uk).digest()] = user
    tables = []
    for j, tree in enumerate(index["trees"]):
        positions, owners, equity, debt = [], [], [], []
        for entry in tree["buckets"]:
            data = bucket_file.decode_bucket(b.read(entry["file"]), entry["file"], bucket_file.V3_COLUMNS)
            positions.append(data.positions.astype(np.int64))
            owners += [owner_of.get(k.tobytes(), PADDING_OWNER) for k in data.uks]
            raw = data.sums_be
            equity += [int.from_bytes(r[:16].tobytes(), "big") for r in raw]
            debt += [int.from_bytes(r[16:32].tobytes(), "big") for r in raw]
        order = np.argsort(np.concatenate(positions)) if positions else np.zeros(0, np.int64)
        position = np.concatenate(positions)[order] if positions else np.zeros(0, np.int64)
        tables.append(LeafTable(symbols[j], tree["bucket_bits"], tree["bucket_height"], position,
                                np.asarray(owners, dtype=np.int64)[order], [equity[i] for i in order.tolist()],
                                [debt[i] for i in order.tolist()]))
    holders = [u for u, h in enumerate(holdings) if h]
    sample = random.Random(seed).sample(holders, min(sample_size, len(holders)))
    return measure(tables, holdings, sample, s, p)


if __name__ == "__main__":
    import sys

    figures = from_bundle(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
    print("\n".join(figures.lines()))
