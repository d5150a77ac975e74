"""Orchestration of ``por build`` for protocol por-v3 on a Dask cluster (schemas/por-v3.md).

Stages (few, fat tasks; keys ``por-<stage>-<run>-<i>``):

1. *read*: por-v1's read task (``read.read_fragment``) with two lanes per asset (equity ``2j``, debt
   ``2j + 1``): each snapshot fragment's rows, keyed by ``uk``, split by group into a shuffle file.
   Wide layout (a row is a whole user): the same task then splits every holding of its rows into its
   ``s`` fragments (keys, splits: ``tree.fragments``) into a leaf file partitioned by asset and key
   bits (``holders.read_and_split``), and returns its leaves per asset and a histogram of their keys'
   first bits.
2. *users*: one task per group (``holders.users_group``): its rows from every shuffle file merged into
   users (a repeated user is refused, named) and the private user file; long layout (a user's rows
   may lie in several files): also the fragments, as above, and the padding waits for them. Wide
   layout: nothing waits for these tasks but the merge; they run beside the next stages.
3. *padding*: ``X_j`` per asset (``v3.padding_leaf_count`` from ``F_j``); tasks write the padding leaves
   ``pk[j,d]`` in chunks the same way.
4. *shape* (client): ``L_j``, ``k_j`` (by default from ``L_j``: at most 16, the histograms' resolution,
   unless ``bucket_bits`` says more) and ``h_j`` (from the histograms: the largest bucket).
5. *buckets*: tasks over ranges of one or more trees' buckets (``trees.build_trees``) read their leaves
   from every leaf file, sort them by key, fold each bucket and store it.
6. *merge* (client): per asset the ``2^k_j`` bucket roots folded into the root; ``top-tree.json``,
   ``private/index.json`` and, last, ``manifest.json`` with ``C``, published atomically.

Data moves between stages through storage (the scratch sibling of the output), so each task's memory
is bounded by a group, a chunk or a range of buckets. Nothing observable depends on the workers, the
snapshot's files or its row order: groups are ``uk`` ranges chosen from the row count, trees are sorted
by leaf key, user files by ``uk``. Bad input (``InputError``) removes everything; any other failure
keeps the finished bucket files (with MACs) for a ``resume`` build of the same run.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from blake3 import blake3

from .. import config
from ..errors import BuildInterrupted, InputError, SumOverflow
from ..formats import layout
from ..formats.canonical import canonical_json, digest
from ..formats.manifest import AssetTree, manifest_v3, top_tree_v3
from ..formats.nodes import pair_json
from ..formats.verifier_page import PAGE_NAME, render_page
from ..protocol import shape, v3
from ..protocol.keys import SecretKey, resume_key
from ..storage import bundle
from ..storage import fs as storage
from ..tree.fold import V3_NODES, build_top
from ..webmodule import ensure_browser_module
from .holders import (
    LeafCounts,
    LeafSpec,
    PaddingSpec,
    UsersResult,
    UsersSpec,
    padding_chunks,
    padding_task,
    read_and_split,
    users_group,
)
from .read import FragmentResult, ReadSpec
from .snapshot import LONG, SnapshotPlan
from .stages import BuildResult, Clock, Watch, first_problem
from .trees import TreeBucket, TreeShape, TreeSpec, TreeUnitResult, build_trees

HIST_BITS = 16
"""The resolution of the key histograms: the default ``k_j`` is at most this (``bucket_bits`` beyond
it makes the histograms finer)."""
LEAVES_PER_TASK = 1 << 20
"""At most this many leaves per bucket task (unless one bucket holds more), and per padding task."""
MIN_LEAVES_PER_TASK = 1 << 15


def group_bits(total_rows: int) -> int:
    """``g``: about ``por.rows-per-group`` snapshot rows per group, from the row count alone (so the
    private user files do not depend on the cluster)."""
    wanted = max(1, -(-total_rows // config.get("rows-per-group")))
    return min(config.get("max-group-bits"), (wanted - 1).bit_length())


def _forget_listings(b: bundle.Bundle) -> None:
    """Drop the client's cached listings below ``b`` (object stores: fsspec caches directory listings)."""
    invalidate = getattr(b.fs, "invalidate_cache", None)
    if invalidate is not None:
        invalidate(b.path)


def _prune(b: bundle.Bundle, keep: set[str]) -> None:
    """Remove every file below ``b`` but the ``keep`` names (relative to ``b``)."""
    _forget_listings(b)
    root = b.path.rstrip("/")
    found = storage.retrying(lambda: b.fs.find(root)) if storage.retrying(lambda: b.fs.exists(root)) else []
    stale = [path for path in found if path[len(root) + 1:] not in keep]
    if stale:
        storage.retrying(lambda: b.fs.rm(stale))


class KeyHistogram:
    """Leaves per asset by their keys' first ``bits`` bits, summed over every task's sparse histogram."""

    def __init__(self, m: int, bits: int) -> None:
        self.m, self.bits = m, bits
        self.dense = np.zeros(m << bits, dtype=np.int64) if bits <= HIST_BITS else None
        self.sparse: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, counts: LeafCounts) -> None:
        if self.dense is not None:
            self.dense[counts.hist_ids] += counts.hist_counts  # ids are unique within one task
        else:
            self.sparse.append((counts.hist_ids, counts.hist_counts))

    def buckets(self, asset: int, bucket_bits: int) -> np.ndarray:
        """Leaves per bucket (``2^bucket_bits``, ``bucket_bits <= bits``) of ``asset``'s tree."""
        if self.dense is not None:
            row = self.dense[asset << self.bits:(asset + 1) << self.bits]
            return row.reshape(1 << bucket_bits, -1).sum(axis=1)
        out = np.zeros(1 << bucket_bits, dtype=np.int64)
        for ids, counts in self.sparse:
            mine = (ids >> self.bits) == asset
            np.add.at(out, (ids[mine] & ((1 << self.bits) - 1)) >> (self.bits - bucket_bits), counts[mine])
        return out


def plan_units(counts: list[np.ndarray], per_task: int) -> list[list[tuple[int, int, int]]]:
    """Bucket tasks: ranges ``(asset, bucket_lo, bucket_hi)`` of about ``per_task`` leaves (a bucket is
    never split), small trees' ranges packed together."""
    ranges: list[tuple[int, int, int, int]] = []
    for j, c in enumerate(counts):
        total = int(c.sum())
        pieces = max(1, -(-total // per_task))
        cum = np.cumsum(c)
        cuts = np.searchsorted(cum, (np.arange(1, pieces, dtype=np.int64) * total) // pieces, side="left") + 1
        edges = np.unique(np.concatenate([[0], cuts, [len(c)]]))
        for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            ranges.append((j, lo, hi, int(c[lo:hi].sum())))
    units: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    size = 0
    for j, lo, hi, n in ranges:
        if current and size + n > per_task:
            units.append(current)
            current, size = [], 0
        current.append((j, lo, hi))
        size += n
    if current:
        units.append(current)
    return units


def build_v3(
    client: Any,
    plan: SnapshotPlan,
    period: str,
    secret: SecretKey,
    out: str,
    bucket_bits: int | None = None,
    *,
    force: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    resume: bool = False,
    watch: Watch | None = None,
    public_dir: str = "",
    verifier_page: bool = True,
    parameters: v3.Parameters = v3.Parameters(),
) -> BuildResult:
    """The por-v3 bundle of ``plan`` published at ``out`` (``build.build_bundle``'s contract)."""
    problem = parameters.problem()
    if problem:
        raise InputError(problem, parameter="parameters")
    if len(plan.assets) > v3.MAX_ASSETS:
        raise InputError(f"por-v3 takes at most {v3.MAX_ASSETS} assets, the asset file declares {len(plan.assets)}")
    bundle.check_output(out, force, resume, storage_options)
    if verifier_page:
        ensure_browser_module()  # before the long work: the page embeds the pinned BLAKE3 module
    k_nonce, k_pad = v3.period_keys(secret, period)
    run = _RunV3(client, plan, period, k_nonce, k_pad, resume_key(secret, period), out, bucket_bits, parameters,
                 force, resume, storage_options, watch or (lambda stage, futures: None), public_dir, verifier_page)
    return run.run()


@dataclass
class _RunV3:
    client: Any
    plan: SnapshotPlan
    period: str
    k_nonce: SecretKey
    k_pad: SecretKey
    mac_key: SecretKey
    out: str
    bucket_bits: int | None
    parameters: v3.Parameters
    force: bool
    resume: bool
    storage_options: Mapping[str, Any] | None
    watch: Watch
    public_dir: str
    verifier_page: bool

    def __post_init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.clock = Clock()
        self.symbols = tuple(a.symbol for a in self.plan.assets)

    def gather(self, stage: str, futures: list[Any]) -> list[Any]:
        self.watch(stage, futures)
        return list(self.client.gather(futures))

    def gather_leaves(self, stage: str, futures: list[Any], histogram: KeyHistogram) -> list[Any]:
        """Results in task order, each task's histogram added as it arrives (and dropped from it)."""
        from distributed import as_completed

        self.watch(stage, futures)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        for future in as_completed(futures, loop=self.client.loop):
            result = future.result()
            future.release()
            counts = (result.leaves if isinstance(result, UsersResult) else result[1] if isinstance(result, tuple)
                      else result)
            if counts is not None:
                histogram.add(counts)
                counts.hist_ids = counts.hist_counts = np.zeros(0, np.int64)
            results[index[future.key]] = result
        return results

    def run(self) -> BuildResult:
        scratch = bundle.start_scratch(self.out, self.tag, self.storage_options)
        try:
            return self._stages(scratch)
        finally:
            bundle.remove_tree(scratch)

    def run_key(self, fragment_digests: list[str]) -> str:
        """Digest of the snapshot's content and every parameter that shapes the bucket files."""
        doc = {
            "version": v3.VERSION,
            "period": self.period,
            "layout": self.plan.layout,
            "assets": [[a.symbol, a.decimals] for a in self.plan.assets],
            "parameters": self.parameters.as_json(),
            "bucket_bits": self.bucket_bits if self.bucket_bits is not None
            else ["default", config.get("bucket-target-log2"), config.get("max-bucket-bits"), HIST_BITS],
            "checkpoint": layout.CHECKPOINT_LEVEL,
            "fragments": fragment_digests,
            "key": blake3(self.mac_key.reveal()).hexdigest(),
        }
        return digest(canonical_json(doc))

    def _stages(self, scratch: bundle.Bundle) -> BuildResult:
        client, plan, tag = self.client, self.plan, self.tag
        m = len(plan.assets)
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1
        g = group_bits(plan.total_rows)
        bare = dataclasses.replace(plan, fragments=())
        spec = ReadSpec(bare, self.period, self.k_nonce, g, scratch, equity_debt=True)
        hist_bits = max(HIST_BITS, self.bucket_bits or 0)
        histogram = KeyHistogram(m, hist_bits)
        # the leaf files' partitions follow the bucket tasks' size, guessed before the leaves are counted
        # (about s leaves per snapshot row); only scratch depends on it
        guess = self.parameters.fragments * plan.total_rows
        per_task = max(MIN_LEAVES_PER_TASK, min(LEAVES_PER_TASK, -(-guess // (4 * workers))))
        # wide layout: a row is a whole user, so the read tasks write the fragments themselves (a repeated
        # user is named by the users stage); long layout: the users stage folds a user's rows first
        leaf_spec = (LeafSpec(self.symbols, self.parameters, hist_bits, max(1, per_task // 2), plan.total_rows)
                     if plan.layout != LONG else None)
        [spec_f, leaf_f] = client.scatter([spec, leaf_spec], broadcast=True, hash=False)

        # 1. read: each task writes its rows, split by group, to one shuffle file (wide: and its fragments)
        read: list[tuple[FragmentResult, LeafCounts | None]] = self.gather_leaves("read", [
            client.submit(read_and_split, frag, i, spec_f, leaf_f, key=f"por-read-{tag}-{i}")
            for i, frag in enumerate(plan.fragments)], histogram)
        statuses = [r for r, _ in read]
        first_problem([r.problem for r in statuses])
        if plan.layout == LONG:
            seen = frozenset().union(*(r.assets_seen for r in statuses))
            missing = sorted({a.symbol for a in plan.assets} - seen)
            if missing:
                raise InputError(f"declared asset(s) {missing} never appear in the 'asset' column of the snapshot")
        run_key = self.run_key([r.digest for r in statuses])
        del spec_f, leaf_f
        self.clock.lap("read")

        staging = bundle.start_staging(self.out, run_key, self.resume, self.force, self.storage_options,
                                       self.public_dir)
        try:
            result = self._after_read(scratch, staging, run_key, g, m, workers, histogram, per_task,
                                      [c for _, c in read if c is not None] if leaf_spec is not None else None)
        except InputError:
            _forget_listings(staging.bundle)  # workers wrote there: what the client listed before is stale
            bundle.abandon(staging)
            raise
        except Exception as exc:
            raise BuildInterrupted(self.out, exc) from exc
        return result

    def _after_read(self, scratch: bundle.Bundle, staging: bundle.Staging, run_key: str, g: int, m: int,
                    workers: int, histogram: KeyHistogram, per_task: int, read_leaves: list[LeafCounts] | None
                    ) -> BuildResult:
        client, tag, plan = self.client, self.tag, self.plan
        users_spec = UsersSpec(scratch, staging.bundle, len(plan.fragments), plan.layout, self.symbols,
                               self.parameters, g, histogram.bits, max(1, per_task // 2), self.period,
                               dataclasses.replace(plan, fragments=()), make_leaves=read_leaves is None)
        [users_f] = client.scatter([users_spec], broadcast=True, hash=False)

        # 2. users: one task per group (the user files; long layout: and the fragments). 3. padding
        # leaves. When the read tasks wrote the fragments, the users tasks run beside the padding and the
        # bucket tasks (nothing waits for them but the merge)
        users_futures = [client.submit(users_group, gi, users_f, key=f"por-users-{tag}-{gi}") for gi in range(1 << g)]
        users_results: list[UsersResult] | None = None
        if read_leaves is None:
            users_results = self.gather_leaves("users", users_futures, histogram)
            first_problem([r.problem for r in users_results])
            leaf_counts = [r.leaves for r in users_results if r.leaves is not None]
            self.clock.lap("users")
        else:
            leaf_counts = read_leaves
        fragments = (np.sum([c.counts for c in leaf_counts], axis=0).astype(np.int64) if leaf_counts
                     else np.zeros(m, np.int64))
        pad_futures, padding, leaves, per_task = self._padding_futures(scratch, fragments, histogram.bits, workers)
        pad_results: list[LeafCounts] = self.gather_leaves("padding", pad_futures, histogram)
        self.clock.lap("padding")

        # 4. shapes
        shapes = []
        counts = []
        for j, symbol in enumerate(self.symbols):
            k = self.bucket_bits if self.bucket_bits is not None else shape.default_bucket_bits(
                leaves[j], config.get("bucket-target-log2"), min(config.get("max-bucket-bits"), HIST_BITS))
            per_bucket = histogram.buckets(j, k)
            assert int(per_bucket.sum()) == leaves[j]
            h = shape.height_for(int(per_bucket.max()))
            if k + h > shape.MAX_HEIGHT:
                raise InputError(f"the tree of {symbol} would be {k + h} levels high, more than {shape.MAX_HEIGHT}")
            shapes.append(TreeShape(symbol, k, h))
            counts.append(per_bucket)
        del histogram

        # 5. buckets
        sources = tuple(c.file for c in leaf_counts) + tuple(r.file for r in pad_results)
        tree_spec = TreeSpec(self.period, tuple(shapes), self.k_pad, staging.bundle, scratch, sources, self.mac_key,
                             run_key, self.resume)
        [tree_f] = client.scatter([tree_spec], broadcast=True, hash=False)
        units = plan_units(counts, per_task)
        tree_futures = [client.submit(build_trees, unit, tree_f, key=f"por-buckets-{tag}-{i}")
                        for i, unit in enumerate(units)]
        if users_results is None:  # a repeated user is named by the users stage, before any tree's problem
            users_results = self.gather("users", users_futures)
            first_problem([r.problem for r in users_results])
            self.clock.lap("users")
        users = sum(r.users for r in users_results)
        if users == 0:
            raise InputError("the snapshot holds no users (empty snapshot)")
        results: list[TreeUnitResult] = self.gather("buckets", tree_futures)
        first_problem([r.problem for r in results])
        stored = [b for r in results for b in r.buckets]
        # keep only this run's files: MACs are resume aids, and a resumed prefix may hold another run's files
        keep = {b.file for b in stored} | {str(r.user_file["file"]) for r in users_results if r.user_file}
        _prune(staging.bundle, keep)
        self.clock.lap("buckets")

        # 6. merge
        manifest = self._merge(staging.bundle, shapes, stored, users, g, users_results, fragments, leaves)
        bundle.publish(staging)
        self.clock.lap("merge")
        return BuildResult(manifest, users, self.out, self.clock.stages, len(stored), sum(r.reused for r in results))

    def _padding_futures(self, scratch: bundle.Bundle, fragments: np.ndarray, hist_bits: int, workers: int
                         ) -> tuple[list[Any], list[int], list[int], int]:
        """The padding tasks of trees of ``fragments`` fragments each: ``(futures, X_j, L_j, leaves per task)``."""
        m = len(self.symbols)
        shares = [v3.padding_share(self.k_pad, s) for s in self.symbols]
        padding = [v3.padding_leaf_count(int(fragments[j]), self.parameters.padding, shares[j]) for j in range(m)]
        leaves = [int(fragments[j]) + padding[j] for j in range(m)]
        per_task = max(MIN_LEAVES_PER_TASK, min(LEAVES_PER_TASK, -(-sum(leaves) // (4 * workers))))
        pad_spec = PaddingSpec(scratch, self.symbols, self.k_pad, tuple(leaves), hist_bits, max(1, per_task // 2))
        [pad_f] = self.client.scatter([pad_spec], broadcast=True, hash=False)
        futures = [self.client.submit(padding_task, i, pieces, pad_f, key=f"por-padding-{self.tag}-{i}")
                   for i, pieces in enumerate(padding_chunks(padding, per_task))]
        return futures, padding, leaves, per_task

    def _merge(self, out: bundle.Bundle, shapes: list[TreeShape], stored: list[TreeBucket], users: int, g: int,
               users_results: list[UsersResult], fragments: np.ndarray, leaves: list[int]) -> dict[str, Any]:
        k_pad = self.k_pad
        by_asset: list[list[TreeBucket]] = [[] for _ in shapes]
        for b in stored:
            by_asset[b.asset].append(b)
        trees = []
        for j, sh in enumerate(shapes):
            count = 1 << sh.bucket_bits
            hashes = np.zeros((count, 32), dtype=np.uint8)
            sums = np.zeros((count, 2, 2), dtype=np.uint64)
            empty = np.ones(count, dtype=bool)
            for b in by_asset[j]:
                hashes[b.bucket] = np.frombuffer(b.hash, dtype=np.uint8)
                sums[b.bucket] = b.sums
                empty[b.bucket] = False
            symbol = sh.symbol

            def padding(level: int, index: int, symbol: str = symbol) -> bytes:
                return v3.padding_hash(k_pad, symbol, level, index)

            for e in np.flatnonzero(empty).tolist():
                hashes[e] = np.frombuffer(padding(sh.bucket_height, e), dtype=np.uint8)
            try:
                levels = build_top(hashes, sums, empty, sh.bucket_height, padding, V3_NODES)
            except SumOverflow as exc:
                kind = ("equity", "debt")[exc.asset_index]
                raise InputError(f"the total of asset {symbol} overflows 2^128 ({kind})") from None
            trees.append(AssetTree(symbol, sh.bucket_bits, sh.bucket_height, levels))

        top_bytes = canonical_json(top_tree_v3(self.period, trees))
        out.write(layout.TOP_TREE, top_bytes)
        files = {layout.TOP_TREE: digest(top_bytes)}
        if self.verifier_page:
            page = render_page()
            out.write(PAGE_NAME, page)
            files[PAGE_NAME] = digest(page)
        index = {
            "version": v3.VERSION,
            "period": self.period,
            "parameters": self.parameters.as_json(),
            "users": users,
            "user_bits": g,
            "user_files": sorted((r.user_file for r in users_results if r.user_file),
                                 key=lambda e: int(str(e["group"]))),
            "trees": [{
                "asset": sh.symbol,
                "bucket_bits": sh.bucket_bits,
                "bucket_height": sh.bucket_height,
                "fragments": int(fragments[j]),
                "leaves": leaves[j],
                "buckets": [{"bucket": b.bucket, "leaves": b.leaves, "file": b.file, "digest": b.digest,
                             "root": pair_json(b.hash, b.sums)} for b in sorted(by_asset[j], key=lambda b: b.bucket)],
            } for j, sh in enumerate(shapes)],
        }
        out.write(layout.PRIVATE_INDEX, canonical_json(index))
        manifest = manifest_v3(self.period, self.plan.assets, self.parameters, trees, files)
        out.write(layout.MANIFEST, canonical_json(manifest))
        return manifest
