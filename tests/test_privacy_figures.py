"""The privacy measurement of ``por bench`` (jobs/bench_privacy.py) finds what it claims to find."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.bench_privacy import LeafTable, holder_bounds, measure
from pipeline.protocol import shape, v3


def table(owners: list[int], amounts: list[int], k: int = 0, h: int | None = None) -> LeafTable:
    n = len(owners)
    return LeafTable("BTC", k, h if h is not None else shape.height_for(n), np.arange(n, dtype=np.int64),
                     np.asarray(owners, dtype=np.int64), amounts, [0] * n)


def test_a_sibling_holding_all_of_one_users_fragments_is_counted_as_showing_that_holding():
    # user 1's two fragments (3 + 4) sit together at positions 2 and 3: user 0's proof sees 7 at level 1
    t = table([0, 0, 1, 1], [5, 6, 3, 4])
    holdings = [{0: (11, 0)}, {0: (7, 0)}]
    figures = measure([t], holdings, [0], fragments=2, padding=0)
    assert figures.proofs_with_structural == 1
    assert figures.largest_share == 1


def test_split_and_scattered_fragments_show_only_shares():
    t = table([0, 1, 0, 1], [5, 3, 6, 4])
    holdings = [{0: (11, 0)}, {0: (7, 0)}]
    figures = measure([t], holdings, [0], fragments=2, padding=0)
    assert figures.proofs_with_structural == 0
    assert figures.largest_share == Fraction(4, 7)  # the level-0 sibling of fragment 2 (position 2 → 3)


def test_one_leaf_per_user_shows_a_whole_portfolio_in_every_proof():
    """por-v2's shape as a leaf table: the measurement reports the leak it was built to find."""
    owners = list(range(8))
    amounts = [100 + i for i in range(8)]
    holdings = [{0: (a, 0)} for a in amounts]
    figures = measure([table(owners, amounts)], holdings, range(8), fragments=1, padding=0)
    assert figures.proofs_with_structural == 8
    assert figures.largest_share == 1


def test_padding_leaves_and_own_fragments_are_not_other_users():
    t = table([0, -1, 0, -1], [5, 0, 6, 0])
    figures = measure([t], [{0: (11, 0)}], [0], fragments=2, padding=25)
    assert figures.proofs_with_structural == 0 and figures.largest_share == 0


@settings(max_examples=300, deadline=None)
@given(holders=st.integers(1, 1_500_000), padding=st.integers(0, 100), share=st.integers(0, 2**64 - 1),
       s=st.integers(2, 8), data=st.data())
def test_the_shape_bound_holds_the_true_number_of_holders(holders, padding, share, s, data):
    fragments = s * holders
    leaves = fragments + v3.padding_leaf_count(fragments, padding, share)
    k = shape.default_bucket_bits(leaves)
    average = -(-leaves // (1 << k))
    largest = data.draw(st.integers(average, min(leaves, 4 * average)))  # the largest bucket
    low, high = holder_bounds(k, shape.height_for(largest), s, padding)
    assert low <= holders <= high
