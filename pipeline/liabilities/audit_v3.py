"""``por audit`` of a por-v3 bundle: every tree recomputed from ``private/trees``, every user's fragments
re-derived from ``private/users`` and found in their trees, without the master secret.

Stages (``mapper`` runs them, e.g. on a Dask cluster):

1. *users*: per user file: digest, metadata, order, masks; every holding split into its fragments
   (``tree.fragments``: the build's own kernels, checked against ``protocol.v3``), written to a
   scratch leaf file partitioned as the build's; with collateral terms, every user's collateral
   against their debt (``liabilities.collateral``).
2. *trees*: per range of one asset's buckets: every bucket file (digest, metadata, keys ascending and
   in the bucket, positions, the fold against the stored root, checkpoint, padding nodes), then its
   leaves against the users' fragments: each fragment is a leaf with its amounts, each leaf with a
   non-zero amount is a fragment exactly once; the other leaves (padding) hold zero.
3. *client*: the public files' digests, each asset's top tree re-folded from its bucket roots (a node
   with no leaf below holds zero), the roots against the manifest's (whose ``C`` ``load_manifest``
   recomputed), counts against ``private/index.json``, and each tree's shape.

What needs the master secret: that padding leaves and padding nodes are the keyed values (their
amounts and places are checked).
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import AuditError, BundleError, SumOverflow
from ..formats import layout
from ..formats.bucket_file import V3_COLUMNS, decode_bucket
from ..formats.canonical import digest
from ..formats.nodes import pair_json, pairs_from_json, pairs_json
from ..formats.users_file import decode_users, held_assets, stray_bits
from ..mapping import Mapper
from ..protocol import shape, v3
from ..storage import bundle
from ..storage import fs as storage
from ..storage.bundle import Bundle
from ..tree import fragments as frag
from ..tree.fold import V3_NODES, hash_pairs
from ..tree.shape import first_disorder, first_words, positions, top_bits
from ..tree.sums import amounts_to_sums
from . import collateral
from .holders import emit_leaves
from .shuffle import LeafFile, leaf_file
from .stored import V3_KIND, fold_bucket, load_private_index_v3
from .trees import TreeShape, gather_leaves

MAX_PROBLEMS = 20
PER_TASK = 1 << 20


@dataclass
class AssetAudit:
    """One asset's tree as audited."""

    symbol: str
    holders: int
    fragments: int
    leaves: int
    bucket_bits: int
    bucket_height: int


@dataclass
class UsersAudit:
    group: int
    users: int = 0
    holders: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fragments: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    file: LeafFile | None = None
    collateral: collateral.CollateralResult | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class TreesAudit:
    roots: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    """``(asset, bucket, root)`` of each bucket re-folded."""
    leaves: dict[int, int] = field(default_factory=dict)
    largest: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Spec:
    b: Bundle
    scratch: Bundle
    manifest: dict[str, Any]
    index: dict[str, Any]
    terms: collateral.Terms | None

    @property
    def symbols(self) -> list[str]:
        return [a["symbol"] for a in self.manifest["assets"]]


def audit_users(entry: Mapping[str, Any], spec: _Spec) -> UsersAudit:
    """Stage 1 for one ``user_files`` entry."""
    m = len(spec.symbols)
    group = entry.get("group")
    out = UsersAudit(group if isinstance(group, int) else -1)
    g = spec.index["user_bits"]
    name = entry.get("file")
    if not isinstance(group, int) or not 0 <= group < (1 << g) or name != layout.users_file(group):
        out.problems.append(f"{layout.PRIVATE_INDEX}: user file entry {dict(entry)!r} does not name group "
                            f"{group}'s file")
        return out
    where = spec.b.where(name)
    try:
        raw = spec.b.read(name)
    except BundleError as exc:
        out.problems.append(str(exc))
        return out
    if digest(raw) != entry.get("digest"):
        out.problems.append(f"{where}: blake3 {digest(raw)} differs from {layout.PRIVATE_INDEX}'s {entry.get('digest')}")
    try:
        data = decode_users(raw, where, m)
    except BundleError as exc:
        out.problems.append(str(exc))
        return out
    n = data.uks.shape[0]
    out.users = n
    want = {"version": v3.VERSION, "period": spec.manifest["period"], "group": group, "user_bits": g,
            "users": entry.get("users")}
    for key, value in want.items():
        if data.meta.get(key) != value:
            out.problems.append(f"{where}: metadata {key} is {data.meta.get(key)!r}, expected {value!r}")
    if n != entry.get("users") or n == 0:
        out.problems.append(f"{where}: holds {n} users, {layout.PRIVATE_INDEX} says {entry.get('users')}")
    disorder = first_disorder(data.uks)
    if disorder is not None:
        rank, repeated, count = disorder
        kind = "a repeated user" if repeated else "out of order"
        out.problems.append(f"{where}: users not strictly ascending by uk (row {rank}: {kind})")
    wrong = np.flatnonzero(top_bits(data.uks, g) != group)
    if len(wrong):
        out.problems.append(f"{where}: {len(wrong)} users whose uk is not in group {group} (first: row {wrong[0]})")
    stray = stray_bits(data.masks, m)
    if len(stray):
        out.problems.append(f"{where}: row {stray[0]}'s held mask names an asset beyond the {m} of the manifest")
    held = held_assets(data.masks, m)
    counts = held.sum(axis=1)
    if len(data.starts) != n + 1 or not np.array_equal(np.diff(data.starts), counts):
        first = int(np.flatnonzero(np.diff(data.starts) != counts)[0]) if len(data.starts) == n + 1 else 0
        out.problems.append(f"{where}: row {first} lists {int(np.diff(data.starts)[first]) if n else 0} amounts for "
                            f"{int(counts[first]) if n else 0} assets held")
        return out
    empty = np.flatnonzero(~data.amounts.any(axis=1))
    if len(empty):
        row = int(np.searchsorted(data.starts, empty[0], side="right") - 1)
        out.problems.append(f"{where}: row {row} holds an asset at zero equity and zero debt (a held asset is non-zero)")
    user, asset = np.nonzero(held)
    holdings = frag.Holdings(user.astype(np.int64), asset.astype(np.int64), amounts_to_sums(data.amounts))
    out.holders = np.bincount(holdings.asset, minlength=m).astype(np.int64)
    fragments = frag.make_fragments(data.uks, holdings, spec.symbols, spec.manifest["parameters"]["fragments"])
    estimates = np.array([t["leaves"] if isinstance(t.get("leaves"), int) else 0 for t in spec.index["trees"]],
                         dtype=np.int64)
    counted = emit_leaves(spec.scratch, leaf_file("u", group), fragments.asset, fragments.keys, fragments.amounts, m,
                          estimates, 16, PER_TASK // 2)
    out.fragments, out.file = counted.counts, counted.file
    if spec.terms is not None:
        out.collateral = collateral.check_users(data.masks, data.amounts, spec.terms, file=name)
    return out


def audit_trees(task: tuple[list[tuple[int, int, int]], list[list[Mapping[str, Any]]]], spec: _Spec,
                sources: tuple[LeafFile, ...], shapes: tuple[TreeShape, ...]) -> TreesAudit:
    """Stage 2 for ranges ``(asset, bucket_lo, bucket_hi)`` of the trees' non-empty buckets, each with the
    index's entries of its buckets (``_unit_entries``: a task carries only its own)."""
    out = TreesAudit()
    unit, entries = task
    expected = gather_leaves(spec.scratch, sources, shapes, unit)
    for (asset, lo, hi), (want_keys, want_amounts, _), mine in zip(unit, expected, entries, strict=True):
        keys, amounts = [], []
        for entry in mine:
            found = _audit_bucket(entry, asset, spec, shapes[asset], out)
            if found is not None:
                keys.append(found[0])
                amounts.append(found[1])
        have_keys = np.concatenate(keys) if keys else np.zeros((0, 32), np.uint8)
        have_amounts = np.concatenate(amounts) if amounts else np.zeros((0, 32), np.uint8)
        _claims(shapes[asset].symbol, shapes[asset].bucket_bits, lo, hi, want_keys, want_amounts, have_keys,
                have_amounts, out.problems)
    return out


def _audit_bucket(entry: Mapping[str, Any], asset: int, spec: _Spec, sh: TreeShape,
                  out: TreesAudit) -> tuple[np.ndarray, np.ndarray] | None:
    bucket = entry["bucket"]
    k, h, symbol = sh.bucket_bits, sh.bucket_height, sh.symbol
    name = layout.tree_bucket_file(asset, bucket)
    where = spec.b.where(name)
    if entry.get("file") != name:
        out.problems.append(f"{symbol} bucket {bucket}: {layout.PRIVATE_INDEX} names file {entry.get('file')!r}")
        return None
    try:
        raw = spec.b.read(name)
        got = digest(raw)
        if got != entry.get("digest"):
            out.problems.append(f"{where}: blake3 {got} differs from {layout.PRIVATE_INDEX}'s {entry.get('digest')}")
        data = decode_bucket(raw, where, V3_COLUMNS)
    except BundleError as exc:
        out.problems.append(str(exc))
        return None
    meta = data.meta
    for key, want in (("version", v3.VERSION), ("period", spec.manifest["period"]), ("asset", symbol),
                      ("asset_index", asset), ("bucket", bucket), ("bucket_bits", k), ("bucket_height", h)):
        if meta.get(key) != want:
            out.problems.append(f"{where}: metadata {key} is {meta.get(key)!r}, expected {want!r}")
    n = data.uks.shape[0]
    if n != entry.get("leaves") or n != meta.get("leaves") or n == 0 or n > (1 << h):
        out.problems.append(f"{where}: holds {n} leaves; metadata says {meta.get('leaves')}, index "
                            f"{entry.get('leaves')}, capacity 2^{h}")
        return None
    if data.sums_be.shape[1] != 32:
        out.problems.append(f"{where}: amounts are {data.sums_be.shape[1]} bytes, expected 32")
        return None
    out.leaves[asset] = out.leaves.get(asset, 0) + n
    out.largest[asset] = max(out.largest.get(asset, 0), n)
    disorder = first_disorder(data.uks)
    if disorder is not None:
        rank, repeated, count = disorder
        kind = "a repeated key" if repeated else "out of order"
        out.problems.append(f"{where}: leaves not strictly ascending by key (rank {rank}: {kind})")
    wrong = np.flatnonzero(top_bits(data.uks, k) != bucket)
    if len(wrong):
        out.problems.append(f"{where}: {len(wrong)} leaves whose key is not in bucket {bucket} (first: rank {wrong[0]})")
    misplaced = np.flatnonzero(data.positions != positions(bucket, h, n))
    if len(misplaced):
        out.problems.append(f"{where}: {len(misplaced)} leaves at wrong positions (first: rank {misplaced[0]})")
    try:
        sub, padding = fold_bucket(data, bucket, h, 2, where, kind=V3_KIND)
    except SumOverflow as exc:
        out.problems.append(f"{where}: the {('equity', 'debt')[exc.asset_index]} of {symbol} overflows 2^128 at level "
                            f"{exc.level}")
        return None
    except BundleError as exc:
        out.problems.append(str(exc))
        return None
    level = layout.checkpoint_level(h)
    stored = meta.get("checkpoint")
    if level is None and stored is not None:
        out.problems.append(f"{where}: stores a checkpoint, bucket height {h} needs none")
    elif level is not None:
        assert sub.recorded is not None
        if stored != {"level": level, "nodes": pairs_json(*sub.recorded)}:
            out.problems.append(f"{where}: checkpoint nodes at level {level} differ from the re-folded leaves")
    unused = padding.unused()
    if unused:
        out.problems.append(f"{where}: stores padding nodes the shape does not use: {unused[:5]}")
    root = pair_json(sub.root_hash, sub.root_sums)
    if root != meta.get("root") or root != entry.get("root"):
        out.problems.append(f"{where}: leaves fold to {root}, stored root is {meta.get('root')} "
                            f"(index: {entry.get('root')})")
    out.roots.append((asset, bucket, root))
    return data.uks, data.sums_be


def _claims(symbol: str, k: int, lo: int, hi: int, want_keys: np.ndarray, want_amounts: np.ndarray, have_keys: np.ndarray,
            have_amounts: np.ndarray, problems: list[str]) -> None:
    """The users' fragments (``want``, sorted by key) against the stored leaves (``have``, sorted)."""
    where = f"the tree of {symbol} (buckets {lo}..{hi - 1})"
    if len(want_keys) > 1:
        twice = (want_keys[1:] == want_keys[:-1]).all(axis=1)
        if twice.any():
            problems.append(f"{where}: {int(twice.sum())} fragment keys that two user fragments share")
    have_top, want_top = first_words(have_keys), first_words(want_keys)
    at = np.searchsorted(have_top, want_top, side="left")
    found = np.zeros(len(want_keys), dtype=bool)
    inside = at < len(have_keys)
    found[inside] = (have_keys[at[inside]] == want_keys[inside]).all(axis=1)
    if len(have_top) > 1 and (have_top[1:] == have_top[:-1]).any():  # keys sharing 64 bits: match exactly
        index = {have_keys[i].tobytes(): i for i in range(len(have_keys))}
        at = np.array([index.get(want_keys[i].tobytes(), -1) for i in range(len(want_keys))], dtype=np.int64)
        found = at >= 0
    missing = int((~found).sum())
    if missing:
        problems.append(f"{where}: {missing} fragment(s) of the user files are not leaves of the tree (first in "
                        f"bucket {int(top_bits(want_keys[~found][:1], k)[0])})")
    matched = at[found]
    differ = np.flatnonzero((have_amounts[matched] != want_amounts[found]).any(axis=1))
    if len(differ):
        problems.append(f"{where}: {len(differ)} leaf/leaves hold other amounts than the user's fragment "
                        f"(first: leaf {int(matched[differ[0]])} of the range)")
    claimed = np.zeros(len(have_keys), dtype=bool)
    claimed[matched] = True
    stray = np.flatnonzero(~claimed & have_amounts.any(axis=1))
    if len(stray):
        problems.append(f"{where}: {len(stray)} leaf/leaves with a non-zero amount that no user's fragment claims "
                        f"(padding holds zero; first: leaf {int(stray[0])} of the range)")


def _top_tree_problems(spec: _Spec, top: Mapping[str, Any], roots: dict[int, dict[int, dict[str, Any]]],
                       problems: list[str]) -> None:
    """Each asset's top tree re-folded from its bucket level, checked against the re-folded buckets and
    the manifest's root."""
    trees = top.get("trees")
    if top.get("version") != v3.VERSION or top.get("period") != spec.manifest["period"]:
        problems.append(f"{layout.TOP_TREE}: version/period {top.get('version')!r}/{top.get('period')!r}, the manifest "
                        f"says {v3.VERSION!r}/{spec.manifest['period']!r}")
    if not isinstance(trees, list) or len(trees) != len(spec.manifest["trees"]):
        problems.append(f"{layout.TOP_TREE}: not one tree per asset")
        return
    for j, (mine, theirs) in enumerate(zip(trees, spec.manifest["trees"], strict=True)):
        k, h, symbol = theirs["bucket_bits"], theirs["bucket_height"], theirs["asset"]
        what = f"{layout.TOP_TREE} tree of {symbol}"
        if (mine.get("asset"), mine.get("bucket_bits"), mine.get("bucket_height")) != (symbol, k, h):
            problems.append(f"{what}: shape {mine.get('asset')!r}, k {mine.get('bucket_bits')!r}, h "
                            f"{mine.get('bucket_height')!r} differs from the manifest's")
            continue
        levels = mine.get("levels", [])
        if len(levels) != k + 1 or any(not isinstance(lv, list) or len(lv) != 1 << (k - i) for i, lv in enumerate(levels)):
            problems.append(f"{what}: levels do not form a tree of 2^{k} buckets")
            continue
        nonempty = np.zeros(1 << k, dtype=bool)
        for b, root in roots.get(j, {}).items():
            nonempty[b] = True
            if levels[0][b] != root:
                problems.append(f"{what}: bucket {b} is {levels[0][b]}, its re-folded leaves give {root}")
        try:
            hashes, sums = pairs_from_json(levels[0])
            for i in range(k + 1):
                if i:
                    p_hashes, p_sums = hash_pairs(hashes, sums, h + i - 1, V3_NODES)
                    nonempty = nonempty[0::2] | nonempty[1::2]
                    hashes, sums = pairs_from_json(levels[i])
                    differs = np.flatnonzero(nonempty & ((p_hashes != hashes).any(axis=1)
                                                         | (p_sums != sums).reshape(len(sums), -1).any(axis=1)))
                    if len(differs):
                        problems.append(f"{what}: level {h + i} node {differs[0]} does not match its children")
                zero_empty = ~nonempty & sums.reshape(len(sums), -1).any(axis=1)
                if zero_empty.any():
                    problems.append(f"{what}: level {h + i} node {np.flatnonzero(zero_empty)[0]} has no leaf below "
                                    "but non-zero sums")
        except SumOverflow as exc:
            problems.append(f"{what}: the {('equity', 'debt')[exc.asset_index]} overflows 2^128 at level {exc.level}")
            continue
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            problems.append(f"{what}: malformed ({exc})")
            continue
        if levels[-1][0] != theirs["root"]:
            problems.append(f"{what}: root {levels[-1][0]} differs from the manifest's root {theirs['root']}")


@dataclass
class AuditReportV3:
    users: int
    buckets: int
    commitment: str
    assets: list[AssetAudit]
    collateral: collateral.CollateralResult | None = None

    @property
    def root(self) -> dict[str, Any]:
        """What the audit vouches for, as por-v1's report names it: the announced value ``C``."""
        return {"hash": self.commitment}


def audit_v3(b: Bundle, manifest: dict[str, Any], mapper: Mapper, terms: collateral.Terms | None = None,
             problems: list[str] | None = None, scratch_dir: Bundle | None = None) -> AuditReportV3:
    """Every invariant of por-v3 bundle ``b`` (the module's docstring). Raises ``AuditError`` listing what
    failed. ``problems``: the public files' findings so far (``audit.audit_bundle``). The users' fragments
    go to a hidden sibling of ``b``, or below ``scratch_dir`` (a read-only archive, another volume)."""
    problems = list(problems or [])
    try:
        index = load_private_index_v3(b, manifest)
    except BundleError as exc:
        raise AuditError(f"audit of {b.shown} FAILED: {exc}", [*problems, str(exc)]) from None
    top = b.read_json(layout.TOP_TREE)
    symbols = [a["symbol"] for a in manifest["assets"]]
    m = len(symbols)
    shapes = tuple(TreeShape(t["asset"], t["bucket_bits"], t["bucket_height"]) for t in manifest["trees"])
    scratch = _scratch(b, scratch_dir)
    # every task is pickled with the spec: it holds the index without the entry of every bucket and user
    # file (at 100M users 4.6 MB per task, which held 7.6 GiB in each worker); a trees task gets its own
    # buckets' entries instead
    spec = _Spec(b, scratch, manifest, _slim_index(index), terms)
    try:
        users = mapper(lambda e: audit_users(e, spec), list(index["user_files"]))
        for r in users:
            problems += r.problems
        groups = [r.group for r in users]
        if groups != sorted(set(groups)):
            problems.append(f"{layout.PRIVATE_INDEX}: user files are not one per group, in group order")
        sources = tuple(r.file for r in users if r.file is not None)
        ranges = _ranges(index, shapes, problems)
        tasks = list(zip(ranges, _unit_entries(index, ranges), strict=True))
        trees: list[TreesAudit] = mapper(lambda task: audit_trees(task, spec, sources, shapes), tasks)
    finally:
        bundle.remove_tree(scratch)
    roots: dict[int, dict[int, dict[str, Any]]] = {}
    leaves = np.zeros(m, dtype=np.int64)
    largest = np.zeros(m, dtype=np.int64)
    for t in trees:
        problems += t.problems
        for asset, bucket, root in t.roots:
            roots.setdefault(asset, {})[bucket] = root
        for asset, n in t.leaves.items():
            leaves[asset] += n
        for asset, n in t.largest.items():
            largest[asset] = max(largest[asset], n)
    user_count = sum(r.users for r in users)
    fragments = np.sum([r.fragments for r in users if len(r.fragments)], axis=0) if users else np.zeros(m, np.int64)
    holders = np.sum([r.holders for r in users if len(r.holders)], axis=0) if users else np.zeros(m, np.int64)
    fragments = np.zeros(m, np.int64) if np.ndim(fragments) == 0 else fragments
    holders = np.zeros(m, np.int64) if np.ndim(holders) == 0 else holders
    if user_count != index["users"]:
        problems.append(f"{layout.PRIVATE_INDEX}: says {index['users']} users, the user files hold {user_count}")
    assets = []
    for j, (sh, t) in enumerate(zip(shapes, index["trees"], strict=True)):
        if t.get("fragments") != int(fragments[j]):
            problems.append(f"{layout.PRIVATE_INDEX}: tree of {sh.symbol} says {t.get('fragments')} fragments, the user "
                            f"files split into {int(fragments[j])}")
        if t.get("leaves") != int(leaves[j]):
            problems.append(f"{layout.PRIVATE_INDEX}: tree of {sh.symbol} says {t.get('leaves')} leaves, its bucket "
                            f"files hold {int(leaves[j])}")
        if leaves[j] < v3.MIN_LEAVES:
            problems.append(f"the tree of {sh.symbol} holds {int(leaves[j])} leaves, fewer than {v3.MIN_LEAVES}")
        if shape.height_for(int(largest[j])) != sh.bucket_height:
            problems.append(f"the tree of {sh.symbol}: bucket height {sh.bucket_height} is not the smallest fitting "
                            f"its largest bucket ({int(largest[j])} leaves)")
        stray = sorted(set(b.listdir(layout.tree_dir(j))) - {e.get("file") for e in t.get("buckets", [])})
        if stray:
            problems.append(f"{layout.tree_dir(j)}: files not in {layout.PRIVATE_INDEX}: {stray[:5]}")
        assets.append(AssetAudit(sh.symbol, int(holders[j]), int(fragments[j]), int(leaves[j]), sh.bucket_bits,
                                 sh.bucket_height))
    stray_users = sorted(set(b.listdir(layout.USERS_DIR)) - {e.get("file") for e in index["user_files"]
                                                            if isinstance(e, dict)})
    if stray_users:
        problems.append(f"{layout.USERS_DIR}: files not in {layout.PRIVATE_INDEX}: {stray_users[:5]}")
    _top_tree_problems(spec, top, roots, problems)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise AuditError(f"audit of {b.shown} FAILED: " + "; ".join(shown) + more, problems)
    result = None
    if terms is not None:
        result = collateral.CollateralResult.combine([r.collateral for r in users if r.collateral is not None])
    return AuditReportV3(user_count, sum(len(v) for v in roots.values()), manifest["commitment"], assets, result)


def _slim_index(index: Mapping[str, Any]) -> dict[str, Any]:
    """What the tasks read of the private index: the user bits and each tree's leaf count (not its buckets'
    entries, nor the user files: a task's own entries travel with it)."""
    return {"user_bits": index.get("user_bits"),
            "trees": [{"leaves": t.get("leaves")} if isinstance(t, dict) else {} for t in index["trees"]]}


def _unit_entries(index: Mapping[str, Any], units: list[list[tuple[int, int, int]]]
                  ) -> list[list[list[Mapping[str, Any]]]]:
    """For each unit, for each of its ranges ``(asset, lo, hi)``, the index's entries of the buckets in
    ``[lo, hi)`` (the ranges' trees have sorted, unique integer buckets: ``_ranges``)."""
    numbers = {}
    out = []
    for unit in units:
        mine = []
        for asset, lo, hi in unit:
            entries = index["trees"][asset].get("buckets", [])
            if asset not in numbers:
                numbers[asset] = [e["bucket"] for e in entries]
            first, last = bisect.bisect_left(numbers[asset], lo), bisect.bisect_left(numbers[asset], hi)
            mine.append(entries[first:last])
        out.append(mine)
    return out


def _ranges(index: Mapping[str, Any], shapes: tuple[TreeShape, ...], problems: list[str]) -> list[list[tuple[int, int, int]]]:
    """Tasks over the index's non-empty buckets: ranges of about ``PER_TASK`` leaves."""
    units: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    size = 0
    for j, (t, sh) in enumerate(zip(index["trees"], shapes, strict=True)):
        entries = t.get("buckets", [])
        buckets = [e.get("bucket") for e in entries]
        if (buckets != sorted(set(buckets)) or any(not isinstance(x, int) or not 0 <= x < (1 << sh.bucket_bits)
                                                   for x in buckets)):
            problems.append(f"{layout.PRIVATE_INDEX}: the buckets of {sh.symbol} are not unique, sorted and within "
                            f"[0, 2^{sh.bucket_bits})")
            continue
        lo = 0
        for e in entries:
            n = e.get("leaves") if isinstance(e.get("leaves"), int) else 0
            if size + n > PER_TASK and size:
                if e["bucket"] > lo:
                    current.append((j, lo, e["bucket"]))
                units.append(current)
                current, size, lo = [], 0, e["bucket"]
            size += n
        current.append((j, lo, 1 << sh.bucket_bits))
    if current:
        units.append(current)
    return units


def _scratch(b: Bundle, under: Bundle | None = None) -> Bundle:
    """Where the users' fragments go while the audit runs (removed when it ends): a hidden sibling of the
    audited bundle, or a fresh directory below ``under``."""
    tag = "audit-" + uuid.uuid4().hex[:8]
    if under is not None:
        return Bundle(under.fs, storage.join(under.path, f".{bundle.SCRATCH}-{tag}"),
                      f"{under.shown} (audit scratch)", all_private=True)
    path = bundle.leftover_name(b.path, bundle.SCRATCH, tag)
    return Bundle(b.fs, path, f"{b.shown} (audit scratch)", all_private=True)
