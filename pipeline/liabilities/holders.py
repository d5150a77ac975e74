"""por-v3's leaves before the trees (worker side): a read task's fragments (wide layout,
``read_and_split``), a group's users and their private file (long layout: and their fragments,
``users_group``), the padding leaves (``padding_task``). Every leaf goes to a scratch leaf file
partitioned by asset and key bits (``shuffle.LeafFile``), and the task returns per asset how many
leaves it wrote and a histogram of their keys' first bits (which give every tree's shape before any
tree is built).

A *group* is the set of users whose ``uk`` starts with given ``group_bits`` bits (``build``'s
shuffle groups). Nothing observable depends on the groups, the tasks or the partitions: the trees
are sorted by leaf key, the user files by ``uk``, and the partitions are only scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from ..errors import Problem
from ..formats import layout
from ..formats.canonical import digest
from ..formats.users_file import encode_users, held_mask
from ..protocol import v3
from ..protocol.keys import SecretKey
from ..storage.bundle import Bundle
from ..tree import fragments as frag
from ..tree.shape import first_words
from ..tree.sums import sums_to_amounts
from .buckets import _duplicate_report, _uk_order
from .rows import Part, SparseAmounts, partition_rows
from .read import FragmentResult, ReadSpec, read_fragment
from .shuffle import LeafFile, fixed_view, leaf_file, read_part, read_part_batch, read_part_batches, write_leaves
from .snapshot import LONG, Fragment, SnapshotPlan

MAX_PARTITION_BITS = 16


def partition_bits(estimate: int, part_rows: int) -> int:
    """Bits of leaf key that split an asset's leaves of a file so that each partition covers about
    ``part_rows`` leaves of the whole tree (``estimate`` leaves): at most 16."""
    return min(MAX_PARTITION_BITS, max(0, (int(estimate) // max(1, part_rows)).bit_length()))


@njit(cache=True, nogil=True)
def _touched_counts(ids, bins, dense, touched):  # type: ignore[no-untyped-def]
    k = 0
    for i in range(ids.shape[0]):
        b = ids[i]
        if dense[b] == 0:
            touched[k] = b
            k += 1
        dense[b] += 1
    return k


def _sparse_counts(ids: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids that occur, how often)``, in order of first occurrence: one pass, no scan of every bin."""
    dense = np.zeros(bins, dtype=np.int64)
    touched = np.empty(min(bins, len(ids)), dtype=np.int64)
    k = int(_touched_counts(np.ascontiguousarray(ids, dtype=np.int64), bins, dense, touched))
    return touched[:k], dense[touched[:k]]


@dataclass
class LeafCounts:
    """What a task that wrote leaves returns: its file, leaves per asset, and the histogram of their
    keys' first ``hist_bits`` bits as sparse ``(ids, counts)``, ``id = asset << hist_bits | bits``."""

    file: LeafFile
    counts: np.ndarray  # (m,) int64
    hist_ids: np.ndarray  # int64
    hist_counts: np.ndarray  # int64


def emit_leaves(scratch: Bundle, name: str, asset: np.ndarray, keys: np.ndarray, amounts: np.ndarray, m: int,
                estimates: np.ndarray, hist_bits: int, part_rows: int) -> LeafCounts:
    """Write leaves (``asset`` (n,), ``keys`` and ``amounts`` (n, 32)) partitioned by asset and key bits
    into leaf file ``name``; ``estimates[j]``: about how many leaves asset ``j``'s whole tree holds."""
    counts = np.bincount(asset, minlength=m).astype(np.int64) if len(asset) else np.zeros(m, np.int64)
    parts: list[tuple[int, int] | None] = []
    first = np.zeros(m, dtype=np.int64)
    bits = np.zeros(m, dtype=np.int64)
    total = 0
    for j in range(m):
        if counts[j] == 0:
            parts.append(None)
            continue
        bits[j] = partition_bits(int(estimates[j]), part_rows)
        first[j] = total
        parts.append((int(bits[j]), total))
        total += 1 << int(bits[j])
    top = first_words(keys)
    shift = np.where(bits > 0, 64 - bits, 63).astype(np.uint64)
    pid = first[asset] + np.where(bits[asset] > 0, top >> shift[asset], np.uint64(0)).astype(np.int64)
    grouped_keys, grouped_amounts, bounds = partition_rows(keys, amounts, pid, total)
    write_leaves(scratch, name, grouped_keys, grouped_amounts, bounds)
    ids = (asset.astype(np.int64) << hist_bits) | (top >> np.uint64(64 - hist_bits)).astype(np.int64)
    if hist_bits <= 16 and len(ids):
        hist_ids, hist_counts = _sparse_counts(ids, m << hist_bits)
    else:
        hist_ids, hist_counts = np.unique(ids, return_counts=True)
    return LeafCounts(LeafFile(name, tuple(parts)), counts, hist_ids.astype(np.int64), hist_counts.astype(np.int64))


# ------------------------------------------------------------------ the users stage


@dataclass(frozen=True)
class UsersSpec:
    """What a users task needs. Holds no key: ``uk`` comes from the read stage."""

    scratch: Bundle
    staging: Bundle
    read_fragments: int
    """How many shuffle files the read stage wrote (one per snapshot fragment)."""
    layout: str
    symbols: tuple[str, ...]
    parameters: v3.Parameters
    group_bits: int
    hist_bits: int
    part_rows: int
    period: str
    plan: SnapshotPlan
    """For naming rows in error messages (``fragments=()``: the files only)."""
    make_leaves: bool = True
    """False when the read tasks wrote the fragments (``read_and_split``): the task writes the user file only."""


@dataclass
class UsersResult:
    problem: Problem | None = None
    users: int = 0
    user_file: dict[str, object] | None = None
    """The ``user_files`` entry of ``private/index.json`` (None for an empty group)."""
    leaves: LeafCounts | None = None
    holders: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Users holding each asset (equity or debt)."""


def merge_users(merged: Part, long: bool, lanes: int, plan: SnapshotPlan
                ) -> tuple[np.ndarray, SparseAmounts, Problem | None]:
    """A group's rows from every shuffle file as users ascending by ``uk``, with their amounts over
    ``lanes`` lanes (sparse); a repeated user (wide) or (user, lane) (long) is a ``Problem``."""
    n = merged.uk.shape[0]
    empty = SparseAmounts(np.zeros((0, lanes), bool), np.zeros((0, 2), np.uint64))
    if n == 0:
        return np.zeros((0, 32), np.uint8), empty, None
    if long:
        assert merged.asset_index is not None
        order, _ = _uk_order(merged.uk, merged.asset_index)
        s = merged.take(order)
        assert s.asset_index is not None and isinstance(s.values, np.ndarray)
        same_user = np.zeros(n, dtype=bool)
        same_user[1:] = (s.uk[1:] == s.uk[:-1]).all(axis=1)
        dup = same_user.copy()
        dup[1:] &= s.asset_index[1:] == s.asset_index[:-1]
        if dup.any():
            return np.zeros((0, 32), np.uint8), empty, _duplicate_report(s, dup, "(user_id, asset) rows", plan)
        user_row = np.cumsum(~same_user) - 1
        users = int(user_row[-1]) + 1
        nonzero = (s.values[:, 0] | s.values[:, 1]) != 0
        held = np.zeros((users, lanes), dtype=bool)
        held[user_row[nonzero], s.asset_index[nonzero]] = True
        return s.uk[~same_user], SparseAmounts(held, s.values[nonzero]), None
    order, ties = _uk_order(merged.uk)
    if ties:
        s = merged.take(order)
        dup = np.zeros(n, dtype=bool)
        dup[1:] = (s.uk[1:] == s.uk[:-1]).all(axis=1)
        if dup.any():
            return np.zeros((0, 32), np.uint8), empty, _duplicate_report(s, dup, "user_id", plan)
    assert isinstance(merged.values, SparseAmounts)
    return np.take(merged.uk, order, axis=0), merged.values.take(order), None


@njit(cache=True, nogil=True)
def _ordered_holdings(lane_masks, row_starts, values, order, m, user_masks, user, asset, amounts):  # type: ignore[no-untyped-def]
    """Holdings of the rows in ``order`` (sparse lanes: bit ``l`` of ``lane_masks[r]`` when lane ``l`` of
    row ``r`` is non-zero, its amounts at ``values[row_starts[r]:]`` in lane order); with ``user`` of
    size 0 only counts them. Fills each user's asset mask. Returns how many holdings."""
    h = 0
    count_only = user.shape[0] == 0
    for i in range(order.shape[0]):
        r = order[i]
        k = row_starts[r]
        for j in range(m):
            e = (lane_masks[r, (2 * j) >> 3] >> ((2 * j) & 7)) & 1
            d = (lane_masks[r, (2 * j + 1) >> 3] >> ((2 * j + 1) & 7)) & 1
            if not (e or d):
                continue
            if not count_only:
                user_masks[i, j >> 3] |= np.uint8(1 << (j & 7))
                user[h] = i
                asset[h] = j
                for t in range(2):
                    amounts[h, t, 0] = 0
                    amounts[h, t, 1] = 0
                if e:
                    amounts[h, 0, 0] = values[k, 0]
                    amounts[h, 0, 1] = values[k, 1]
                if d:
                    amounts[h, 1, 0] = values[k + e, 0]
                    amounts[h, 1, 1] = values[k + e, 1]
            k += e + d
            h += 1
    return h


def _wide_rows(batches: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle batches of the wide layout as one table: ``(uks, lane masks, row starts, amounts)``."""
    uks = np.concatenate([fixed_view(b.column("uk")) for b in batches])
    masks = np.concatenate([fixed_view(b.column("held")) for b in batches])
    starts, values = [], []
    base = 0
    for b in batches:
        lists = b.column("amounts")
        offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
        starts.append(offsets[:-1] - offsets[0] + base)
        values.append(fixed_view(lists.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))))
        base += int(offsets[-1] - offsets[0])
    row_starts = np.concatenate([*starts, np.array([base], dtype=np.int64)])
    flat = np.concatenate(values).view("<u8").astype(np.uint64, copy=False) if base else np.zeros((0, 2), np.uint64)
    return uks, masks, row_starts, flat


def _holdings_in_order(masks: np.ndarray, row_starts: np.ndarray, flat: np.ndarray, order: np.ndarray, m: int
                       ) -> tuple[np.ndarray, frag.Holdings]:
    """The users' asset masks and holdings, rows taken in ``order``."""
    n = len(order)
    user_masks = np.zeros((n, (m + 7) // 8), dtype=np.uint8)
    empty = np.zeros(0, dtype=np.int64)
    count = int(_ordered_holdings(masks, row_starts, flat, order, m, user_masks, empty, empty,
                                  np.zeros((0, 2, 2), np.uint64))) if n else 0
    holdings = frag.Holdings(np.empty(count, np.int64), np.empty(count, np.int64), np.empty((count, 2, 2), np.uint64))
    if count:
        _ordered_holdings(masks, row_starts, flat, order, m, user_masks, holdings.user, holdings.asset,
                          holdings.amounts)
    return user_masks, holdings


def _wide_group(spec: UsersSpec, group: int) -> tuple[np.ndarray, np.ndarray, frag.Holdings] | None:
    """The wide layout's fast path: the group's users ascending by ``uk``, their asset masks and holdings,
    straight from the shuffle files' buffers; None when two rows share their first 64 bits (a repeated
    user, most likely: the general path names it)."""
    m = len(spec.symbols)
    uks, masks, row_starts, flat = _wide_rows([read_part_batch(spec.scratch, i, group)
                                               for i in range(spec.read_fragments)])
    top = first_words(uks)
    order = np.argsort(top)
    sorted_top = top[order]
    if len(top) > 1 and not (sorted_top[1:] != sorted_top[:-1]).all():
        return None
    user_masks, holdings = _holdings_in_order(masks, row_starts, flat, order, m)
    return uks[order], user_masks, holdings


def users_group(group: int, spec: UsersSpec) -> UsersResult:
    """One group: merge its rows into users, write its user file into the staging bundle, and its
    users' fragments into the scratch leaf file ``leaves/uNNNNNN.arrow``."""
    m = len(spec.symbols)
    long = spec.layout == LONG
    fast = None if long else _wide_group(spec, group)
    if fast is not None:
        uks, user_masks, holdings = fast
    else:
        merged = Part.concat([read_part(spec.scratch, i, group, 0 if long else 2 * m)
                              for i in range(spec.read_fragments)])
        uks, values, problem = merge_users(merged, long, 2 * m, spec.plan)
        del merged
        if problem is not None:
            return UsersResult(problem=problem)
        holdings = frag.holdings_from_lanes(values.held, values.flat)
        user_masks = None
    n = uks.shape[0]
    result = UsersResult(users=n)
    result.holders = np.bincount(holdings.asset, minlength=m).astype(np.int64)
    if n:
        result.user_file = write_user_file(spec.staging, group, spec.group_bits, spec.period, uks, holdings, m,
                                           user_masks)
    if not spec.make_leaves:
        return result
    fragments = frag.make_fragments(uks, holdings, spec.symbols, spec.parameters.fragments)
    estimates = np.bincount(fragments.asset, minlength=m).astype(np.int64) << spec.group_bits
    result.leaves = emit_leaves(spec.scratch, leaf_file("u", group), fragments.asset, fragments.keys,
                                fragments.amounts, m, estimates, spec.hist_bits, spec.part_rows)
    return result


def write_user_file(staging: Bundle, group: int, group_bits: int, period: str, uks: np.ndarray,
                    holdings: frag.Holdings, m: int, masks: np.ndarray | None = None) -> dict[str, object]:
    """``private/users/gNNNNN.parquet`` (schemas/por-v3.md section 11); returns its index entry.
    ``masks``: the users' asset masks, when known (else from the holdings)."""
    n = uks.shape[0]
    if masks is None:
        held = np.zeros((n, m), dtype=bool)
        held[holdings.user, holdings.asset] = True
        masks = held_mask(held)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(holdings.user, minlength=n), out=starts[1:])
    meta = {"version": v3.VERSION, "period": period, "group": group, "user_bits": group_bits, "users": n}
    data = encode_users(uks, masks, starts, sums_to_amounts(holdings.amounts), meta)
    name = layout.users_file(group)
    staging.write(name, data)
    return {"group": group, "users": n, "file": name, "digest": digest(data)}


# ------------------------------------------------------------------ the padding stage


@dataclass(frozen=True)
class PaddingSpec:
    """What a padding task needs. Holds the per-period padding key, never the master secret."""

    scratch: Bundle
    symbols: tuple[str, ...]
    k_pad: SecretKey
    estimates: tuple[int, ...]
    """Leaves of each asset's tree (fragments and padding)."""
    hist_bits: int
    part_rows: int


def padding_chunks(counts: list[int], chunk: int) -> list[list[tuple[int, int, int]]]:
    """The padding leaves ``d = 0 … X_j − 1`` of every asset in tasks of at most ``chunk`` leaves:
    each task a list of ``(asset, first d, count)``."""
    tasks: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    room = chunk
    for j, x in enumerate(counts):
        d = 0
        while d < x:
            take = min(room, x - d)
            current.append((j, d, take))
            d += take
            room -= take
            if room == 0:
                tasks.append(current)
                current, room = [], chunk
    if current:
        tasks.append(current)
    return tasks


def padding_task(index: int, pieces: list[tuple[int, int, int]], spec: PaddingSpec) -> LeafCounts:
    """Padding leaves ``pk[j,d]`` (amounts zero) for each ``(j, first, count)`` into ``leaves/pNNNNNN.arrow``."""
    keys = [frag.padding_leaf_keys(spec.k_pad, spec.symbols[j], first, count) for j, first, count in pieces]
    asset = np.concatenate([np.full(count, j, dtype=np.int64) for j, _, count in pieces])
    all_keys = np.concatenate(keys)
    return emit_leaves(spec.scratch, leaf_file("p", index), asset, all_keys, np.zeros_like(all_keys),
                       len(spec.symbols), np.asarray(spec.estimates, dtype=np.int64), spec.hist_bits, spec.part_rows)


# ------------------------------------------------------------------ the read stage, por-v3's wrapper


@dataclass(frozen=True)
class LeafSpec:
    """How a read task writes its rows' fragments (wide layout): the trees' assets and parameters, the
    histograms' resolution and the partitions' size."""

    symbols: tuple[str, ...]
    parameters: v3.Parameters
    hist_bits: int
    part_rows: int
    total_rows: int


def read_and_split(fragment: Fragment, index: int, spec: ReadSpec, leaves: LeafSpec | None
                   ) -> tuple[FragmentResult, LeafCounts | None]:
    """``read.read_fragment``, then (wide layout, ``leaves`` given) the fragments of every row it read,
    from the shuffle file it wrote (still in memory), into leaf file ``leaves/rNNNNNN.arrow``. A row is
    a whole user in the wide layout; a repeated user, which would give repeated fragments, is refused by
    the users stage, which names it."""
    result = read_fragment(fragment, index, spec)
    if result.problem is not None or leaves is None:
        return result, None
    m = len(leaves.symbols)
    uks, masks, row_starts, flat = _wide_rows(read_part_batches(spec.scratch, index))
    _, holdings = _holdings_in_order(masks, row_starts, flat, np.arange(len(uks), dtype=np.int64), m)
    fragments = frag.make_fragments(uks, holdings, leaves.symbols, leaves.parameters.fragments)
    scale = leaves.total_rows / max(1, len(uks))
    estimates = (np.bincount(fragments.asset, minlength=m) * scale).astype(np.int64)
    return result, emit_leaves(spec.scratch, leaf_file("r", index), fragments.asset, fragments.keys,
                               fragments.amounts, m, estimates, leaves.hist_bits, leaves.part_rows)
