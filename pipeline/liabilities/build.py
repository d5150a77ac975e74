"""Orchestration of ``por build`` on a Dask cluster.

Stages (few, fat tasks; keys are named ``por-<stage>-<run>-<i>``):

1. *read*: one task per fragment (row groups of one file): validate, convert,
   compute ``uk``, and write the rows split by the first ``g`` bits of ``uk``
   to the fragment's shuffle file (``liabilities.shuffle``). Wide layout (one
   row per user, so ``k`` follows from the row count): each task also counts
   its users per bucket, which gives the bucket height ``h``.
2. *shuffle* (long layout only): one task per group reads its batch from every
   shuffle file, folds one row per asset into one row per user, rejects
   duplicates and writes the group file.
3. *count* (long layout only): users per bucket, once ``k`` is known.
4. *buckets*: one task per unit (a group, or a bucket spanning several groups)
   reads its groups (wide: merged from every shuffle file, sorted by ``uk``,
   duplicates rejected; long: the group files), builds each bucket's subtree
   and writes its private file.
5. *merge*: the client folds the ``2^k`` bucket roots into the root and writes
   ``top-tree.json``, ``private/index.json`` and, last, ``manifest.json``.

That is por-v1's and por-v2's build; por-v3 (the default) has its own stages (``build_v3``).

Data moves between stages through storage (a hidden scratch sibling of the
output), so each task's memory is bounded by a fragment or a group and the
cluster holds nothing between stages. Nothing observable depends on ``g``, the
fragments or the workers: groups are contiguous ``uk`` ranges, and bucket
contents are sorted by ``uk``.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from blake3 import blake3

from .. import config
from ..errors import BuildInterrupted, InputError, SumOverflow
from ..formats import layout
from ..formats.canonical import canonical_json, digest
from ..formats.manifest import DEFAULT_PROTOCOL, PROTOCOLS, manifest_for, top_tree_json
from ..formats.nodes import node_json
from ..formats.verifier_page import PAGE_NAME, render_page
from ..protocol import shape, v1, v3
from ..protocol.keys import SecretKey, period_keys, resume_key
from ..protocol.period import is_valid_period
from ..storage import bundle
from ..tree.fold import build_top
from ..webmodule import ensure_browser_module
from .buckets import (
    BucketRoot,
    BuildSpec,
    GroupSpec,
    UnitResult,
    bucket_counts,
    build_unit,
    prepare_group,
)
from .build_v3 import build_v3
from .read import FragmentResult, ReadSpec, read_fragment
from .snapshot import LONG, SnapshotPlan
from .stages import BuildResult, Watch, first_problem


def choose_group_bits(total_rows: int, workers: int) -> int:
    """``g``: at least two groups per worker, about ``por.rows-per-group`` rows each."""
    wanted = max(2 * max(workers, 1), -(-total_rows // config.get("rows-per-group")))
    return min(config.get("max-group-bits"), (wanted - 1).bit_length())


def build_bundle(
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
    protocol: str = DEFAULT_PROTOCOL,
    verifier_page: bool = True,
    parameters: v3.Parameters | None = None,
) -> BuildResult:
    """Build the bundle for ``plan`` and publish it atomically at ``out``, in protocol ``protocol``
    (por-v3 by default: ``build_v3``, with ``parameters``; por-v1 and por-v2 as they always were).

    Preconditions: ``plan`` comes from ``plan_snapshot``; ``client`` is a
    ``distributed.Client``. Bad input (``InputError``) removes everything the
    build wrote. Any other failure keeps the finished buckets (with their MACs)
    where a ``resume`` build of the same snapshot and parameters reuses them;
    nothing appears at ``out`` either way. ``public_dir="public"`` writes the
    archived-period arrangement (``pipeline.publication.archive``).
    """
    if not is_valid_period(period):
        raise InputError("is not YYYY-MM", parameter="period", value=repr(period))
    if protocol not in PROTOCOLS:
        raise InputError(f"is not one of {', '.join(PROTOCOLS)}", parameter="protocol", value=repr(protocol))
    if bucket_bits is not None and not 0 <= bucket_bits <= shape.MAX_BUCKET_BITS:
        raise InputError(f"is outside [0, {shape.MAX_BUCKET_BITS}]", parameter="bucket_bits", value=bucket_bits)
    if protocol == v3.VERSION:
        return build_v3(client, plan, period, secret, out, bucket_bits, force=force, storage_options=storage_options,
                        resume=resume, watch=watch, public_dir=public_dir, verifier_page=verifier_page,
                        parameters=parameters or v3.Parameters())
    if parameters is not None:
        raise InputError(f"are por-v3's; {protocol} has none", parameter="parameters")
    bundle.check_output(out, force, resume, storage_options)
    if verifier_page:
        ensure_browser_module()  # before the long work: the page embeds the pinned BLAKE3 module
    keys = _Keys(*period_keys(secret, period), resume_key(secret, period))
    return _Run(client, plan, period, keys, out, bucket_bits, force, resume, storage_options,
                watch or (lambda stage, futures: None), public_dir, protocol, verifier_page).run()


def _add_counts(counts: list[tuple[Any, Any]]) -> dict[int, int]:
    """Users per bucket from ``(buckets, users)`` pairs (a bucket may appear in several)."""
    per_bucket: dict[int, int] = {}
    for buckets, users_in in counts:
        for b, c in zip(buckets.tolist(), users_in.tolist(), strict=True):
            per_bucket[b] = per_bucket.get(b, 0) + c
    return per_bucket


@dataclass(frozen=True)
class _Keys:
    nonce: SecretKey
    pad: SecretKey
    resume: SecretKey


@dataclass
class _Run:
    """One build: the stages in order; intermediate futures are dropped as soon as the next stage holds them."""

    client: Any
    plan: SnapshotPlan
    period: str
    keys: _Keys
    out: str
    bucket_bits: int | None
    force: bool
    resume: bool
    storage_options: Mapping[str, Any] | None
    watch: Watch
    public_dir: str = ""
    protocol: str = DEFAULT_PROTOCOL
    verifier_page: bool = True

    def __post_init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.stages: dict[str, float] = {}
        self.clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = now - self.clock
        self.clock = now

    def gather(self, stage: str, futures: list[Any]) -> list[Any]:
        self.watch(stage, futures)
        return self.client.gather(futures)

    def run(self) -> BuildResult:
        scratch = bundle.start_scratch(self.out, self.tag, self.storage_options)
        try:
            return self._stages(scratch)
        finally:
            bundle.remove_tree(scratch)

    def _stages(self, scratch: bundle.Bundle) -> BuildResult:
        client, plan, tag = self.client, self.plan, self.tag
        m = len(plan.assets)
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1
        g = choose_group_bits(plan.total_rows, workers)
        wide = plan.layout != LONG
        bare = dataclasses.replace(plan, fragments=())
        # wide: one row per user, so k is known before reading and the read tasks count the
        # users per bucket (a duplicate fails the build later, whatever the counts say)
        k = self.bucket_bits if self.bucket_bits is not None or not wide else self.default_k(plan.total_rows)
        spec = ReadSpec(bare, self.period, self.keys.nonce, g, scratch, count_bits=k if wide else None)
        [spec_f] = client.scatter([spec], broadcast=True, hash=False)

        # 1. read: each task writes its rows, split by group, to one shuffle file
        statuses: list[FragmentResult] = self.gather("read", [
            client.submit(read_fragment, frag, i, spec_f, key=f"por-read-{tag}-{i}")
            for i, frag in enumerate(plan.fragments)])
        first_problem([r.problem for r in statuses])
        if plan.layout == LONG:
            seen = frozenset().union(*(r.assets_seen for r in statuses))
            missing = sorted({a.symbol for a in plan.assets} - seen)
            if missing:
                raise InputError(f"declared asset(s) {missing} never appear in the 'asset' column of the snapshot")
        run_key = self.run_key([r.digest for r in statuses])
        self.lap("read")
        group_spec = GroupSpec(scratch, len(plan.fragments), plan.layout, m, bare)

        if wide:
            users = plan.total_rows
            per_bucket = _add_counts([r.buckets for r in statuses if r.buckets is not None])
        else:
            # 2. shuffle (long layout): one merge task per group folds its rows into users
            merged = self.gather("shuffle", [client.submit(prepare_group, gi, group_spec,
                                                           key=f"por-shuffle-{tag}-{gi}")
                                             for gi in range(1 << g)])
            first_problem([p for p, _ in merged])
            users = sum(n for _, n in merged)
            self.lap("shuffle")
            if k is None:
                k = self.default_k(users)
            per_bucket = _add_counts(self.gather("count", [
                client.submit(bucket_counts, scratch, gi, k, key=f"por-count-{tag}-{gi}")
                for gi in range(1 << g)]))
        if users == 0:
            raise InputError("the snapshot holds no users (empty snapshot)")
        assert k is not None  # wide: chosen before the read; long: from the count above

        # 3. shape
        h = shape.height_for(max(per_bucket.values()))
        if k + h > shape.MAX_HEIGHT:
            raise InputError(f"tree height {k + h} exceeds {shape.MAX_HEIGHT}")
        self.lap("count")

        # 4. buckets, into the staging area (all input is valid from here on, but for overflow)
        staging = bundle.start_staging(self.out, run_key, self.resume, self.force, self.storage_options,
                                       self.public_dir)
        try:
            build_spec = BuildSpec(self.period, k, h, tuple(a.symbol for a in plan.assets), self.keys.pad,
                                   staging.bundle, scratch, self.keys.resume, run_key, self.resume, self.protocol,
                                   merge=group_spec if wide else None)
            if k >= g:
                per = 1 << (k - g)
                units = [([gi], gi * per, (gi + 1) * per) for gi in range(1 << g)]
            else:
                span = 1 << (g - k)
                units = [(list(range(b * span, (b + 1) * span)), b, b + 1) for b in range(1 << k)]
            results: list[UnitResult] = self.gather("buckets", [
                client.submit(build_unit, groups, lo, hi, build_spec, key=f"por-buckets-{tag}-{i}")
                for i, (groups, lo, hi) in enumerate(units)])
            first_problem([r.problem for r in results])
            roots: list[BucketRoot] = [r for res in results for r in res.roots]
            # keep only this run's bucket files: MACs are resume aids, and a resumed prefix may
            # hold files of another run
            keep = {r.file for r in roots}
            staging.bundle.remove([f for f in staging.bundle.listdir(layout.BUCKET_DIR) if f not in keep])
            self.lap("buckets")

            # 5. merge
            result = _merge(plan, self.period, k, h, self.keys.pad, staging.bundle, roots, users, self.protocol,
                            self.verifier_page)
            bundle.publish(staging)
            self.lap("merge")
        except InputError:
            bundle.abandon(staging)
            raise
        except Exception as exc:
            raise BuildInterrupted(self.out, exc) from exc
        reused = sum(r.reused for r in results)
        return dataclasses.replace(result, out=self.out, stages=self.stages, reused=reused,
                                   buckets=len(roots))

    @staticmethod
    def default_k(users: int) -> int:
        return shape.default_bucket_bits(users, config.get("bucket-target-log2"), config.get("max-bucket-bits"))

    def run_key(self, fragment_digests: list[str]) -> str:
        """Digest of the snapshot's content and every parameter that shapes the bucket files."""
        doc = {
            "version": self.protocol,
            "period": self.period,
            "layout": self.plan.layout,
            "assets": [[a.symbol, a.decimals] for a in self.plan.assets],
            "bucket_bits": self.bucket_bits if self.bucket_bits is not None
            else ["default", config.get("bucket-target-log2"), config.get("max-bucket-bits")],
            "checkpoint": layout.CHECKPOINT_LEVEL,
            "fragments": fragment_digests,
            "key": blake3(self.keys.resume.reveal()).hexdigest(),
        }
        return digest(canonical_json(doc))


def _merge(
    plan: SnapshotPlan,
    period: str,
    k: int,
    h: int,
    k_pad: SecretKey,
    out: bundle.Bundle,
    roots: list[BucketRoot],
    users: int,
    protocol: str,
    verifier_page: bool,
) -> BuildResult:
    m = len(plan.assets)
    count = 1 << k
    hashes = np.zeros((count, 32), dtype=np.uint8)
    sums = np.zeros((count, m, 2), dtype=np.uint64)
    empty = np.ones(count, dtype=bool)
    for r in roots:
        hashes[r.bucket] = np.frombuffer(r.hash, dtype=np.uint8)
        sums[r.bucket] = r.sums
        empty[r.bucket] = False
    for b in np.flatnonzero(empty).tolist():
        hashes[b] = np.frombuffer(v1.padding_hash(k_pad, h, b), dtype=np.uint8)

    def padding(level: int, index: int) -> bytes:
        return v1.padding_hash(k_pad, level, index)

    try:
        levels = build_top(hashes, sums, empty, h, padding)
    except SumOverflow as exc:
        raise InputError(
            f"the total of asset {plan.assets[exc.asset_index].symbol} overflows 2^128"
        ) from None
    root_hash, root_sums = levels[-1]
    root = node_json(root_hash[0].tobytes(), root_sums[0])

    top_bytes = canonical_json(top_tree_json(period, k, h, levels, protocol))
    out.write(layout.TOP_TREE, top_bytes)
    files = {layout.TOP_TREE: digest(top_bytes)}
    if verifier_page:
        page = render_page()
        out.write(PAGE_NAME, page)
        files[PAGE_NAME] = digest(page)
    index = {
        "version": protocol,
        "period": period,
        "bucket_bits": k,
        "bucket_height": h,
        "users": users,
        "buckets": [
            {"bucket": r.bucket, "users": r.users, "file": r.file, "digest": r.digest,
             "root": node_json(r.hash, r.sums)}
            for r in sorted(roots, key=lambda r: r.bucket)
        ],
    }
    out.write(layout.PRIVATE_INDEX, canonical_json(index))
    manifest = manifest_for(period, plan.assets, k, h, root, files, protocol)
    out.write(layout.MANIFEST, canonical_json(manifest))
    return BuildResult(manifest, users, out.shown)
