"""The order in which a family tries the digests a signature over a text may sign (EVM and TRON: the
text or its keccak; Filecoin: Lotus's, FRC-102's, OKX's framing).

Each digest tried costs one public-key recovery; a file is signed one way as a rule, so the variant
that proved the most rows of the same text so far (in this process, per key such as chain and text)
is tried first, then the others in their usual order; the counts are halved when one reaches ``CAP``, so
a file that changes its way of signing part way is followed within ``CAP`` rows, and a file that
alternates keeps one leader (a tie does not change it). Only the order changes: a row is refused only
after every variant failed, and which variant proved a row is the one whose recovered key gives the
address (two variants cannot both recover the address's key without a hash collision), so a row's
verdict and note are the same whatever rows came before it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

LIMIT = 64
"""At most this many keys are remembered (then all are forgotten): a key holds its text, so a file of many
(or long) texts holds no more of them than the families' digest caches do (64 texts each)."""
CAP = 32
"""A variant's count reaching this halves every count of the key: recent rows weigh most."""


class VariantOrder:
    """Per key, the variant indexes in the order to try them, the most successful first."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._order: dict[Hashable, tuple[int, ...]] = {}
        self._wins: dict[Hashable, list[int]] = {}

    def order(self, key: Hashable, count: int) -> Sequence[int]:
        """The indexes ``0 .. count - 1`` in the order to try them for ``key`` (each exactly once)."""
        found = self._order.get(key)
        return found if found is not None and len(found) == count else range(count)

    def proved(self, key: Hashable, index: int, count: int) -> None:
        """Variant ``index`` (of ``count``) proved a row for ``key``."""
        wins = self._wins.get(key)
        if wins is None or len(wins) != count:
            if len(self._wins) >= self._limit:
                self._wins.clear()
                self._order.clear()
            wins = self._wins[key] = [0] * count
        wins[index] += 1
        if wins[index] >= CAP:
            wins[:] = [w // 2 for w in wins]
        first = self.order(key, count)[0]
        if index != first and wins[index] > wins[first]:
            self._order[key] = (index, *(i for i in range(count) if i != index))
