"""Orchestration of ``por build`` on a Dask cluster.

Stages (few, fat tasks; keys are named ``por-<stage>-<run>-<i>``):

1. *read*: one task per fragment (row groups of one file): validate, convert,
   compute ``uk``, split by the first ``g`` bits of ``uk``.
2. *shuffle*: one task per group merges that group's parts from every
   fragment, sorts by ``uk``, rejects duplicates (long layout: folds rows into
   users).
3. *count*: users per bucket, once ``k`` is known (``k`` needs the user count).
4. *buckets*: one task per unit (a group, or a bucket spanning several groups)
   builds each bucket's subtree and writes its private file.
5. *merge*: the client folds the ``2^k`` bucket roots into the root and writes
   ``top-tree.json``, ``private/index.json`` and, last, ``manifest.json``.

Nothing observable depends on ``g``, the fragments or the workers: groups are
contiguous ``uk`` ranges, and bucket contents are sorted by ``uk``.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from . import bundle, protocol
from .assets import Asset
from .buckets import (
    BucketRoot,
    BuildSpec,
    UnitResult,
    bucket_counts,
    build_unit,
    group_status,
    prepare_group,
)
from .errors import InputError
from .snapshot import LONG, FragmentResult, Part, ReadSpec, SnapshotPlan, read_fragment
from .tree import SumOverflow, build_top

ROWS_PER_GROUP = 131_072
MAX_GROUP_BITS = 12


@dataclass(frozen=True)
class BuildResult:
    manifest: dict[str, Any]
    users: int
    out: str
    stages: dict[str, float] = dataclasses.field(default_factory=dict)
    """Wall seconds per stage (read, shuffle, count, buckets, merge), for benchmarks."""


def fragment_status(result: FragmentResult) -> tuple[str | None, frozenset[str]]:
    return result.error, result.assets_seen


def fragment_part(result: FragmentResult, group: int) -> Part:
    return result.parts[group]


def choose_group_bits(total_rows: int, workers: int) -> int:
    """``g``: enough groups for every worker, about ``ROWS_PER_GROUP`` rows each."""
    wanted = max(2 * max(workers, 1), -(-total_rows // ROWS_PER_GROUP))
    return min(MAX_GROUP_BITS, (wanted - 1).bit_length())


def manifest_for(
    period: str,
    assets: tuple[Asset, ...],
    bucket_bits: int,
    bucket_height: int,
    root: dict[str, Any],
    files: Mapping[str, str],
) -> dict[str, Any]:
    """The public manifest: protocol, period, assets, shape, root and public file digests."""
    return {
        "version": protocol.VERSION,
        "period": period,
        "hash": protocol.HASH_NAME,
        "assets": [{"symbol": a.symbol, "decimals": a.decimals} for a in assets],
        "tree": {"bucket_bits": bucket_bits, "bucket_height": bucket_height, "height": bucket_bits + bucket_height},
        "root": root,
        "files": dict(files),
    }


def top_tree_json(period: str, bucket_bits: int, bucket_height: int, levels: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    return {
        "version": protocol.VERSION,
        "period": period,
        "bucket_bits": bucket_bits,
        "bucket_height": bucket_height,
        "levels": [[bundle.node_json(h.tobytes(), s) for h, s in zip(hashes, sums, strict=True)] for hashes, sums in levels],
    }


def build_bundle(
    client: Any,
    plan: SnapshotPlan,
    period: str,
    secret: protocol.SecretKey,
    out: str,
    bucket_bits: int | None = None,
    force: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> BuildResult:
    """Build the bundle for ``plan`` and publish it atomically at ``out``.

    Preconditions: ``plan`` comes from ``plan_snapshot``; ``client`` is a
    ``distributed.Client``. On any error the staging directory is removed and
    nothing appears at ``out``.
    """
    if not protocol.is_valid_period(period):
        raise InputError(f"period {period!r} is not YYYY-MM")
    if bucket_bits is not None and not 0 <= bucket_bits <= 24:
        raise InputError(f"--bucket-bits {bucket_bits} is outside [0, 24]")
    bundle.check_output(out, force, storage_options)
    k_nonce, k_pad = protocol.period_keys(secret, period)
    staging = bundle.start_staging(out, storage_options)
    try:
        result = _run(client, plan, period, k_nonce, k_pad, staging, bucket_bits)
        bundle.publish(staging)
        return dataclasses.replace(result, out=out)
    except BaseException:
        bundle.abandon(staging)
        raise


def _first_error(errors: list[str | None]) -> None:
    for error in errors:
        if error:
            raise InputError(error)


def _run(
    client: Any,
    plan: SnapshotPlan,
    period: str,
    k_nonce: protocol.SecretKey,
    k_pad: protocol.SecretKey,
    staging: bundle.Staging,
    bucket_bits: int | None,
) -> BuildResult:
    """The stages; intermediate futures are released as soon as the next stage holds them."""
    run = uuid.uuid4().hex[:8]
    stages: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        stages[stage] = now - clock[0]
        clock[0] = now

    m = len(plan.assets)
    workers = len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1
    g = choose_group_bits(plan.total_rows, workers)
    spec = ReadSpec(dataclasses.replace(plan, fragments=()), period, k_nonce, g)
    [spec_f] = client.scatter([spec], broadcast=True, hash=False)

    # 1. read
    reads = [
        client.submit(read_fragment, frag, spec_f, key=f"por-read-{run}-{i}")
        for i, frag in enumerate(plan.fragments)
    ]
    statuses = client.gather([client.submit(fragment_status, r, key=f"por-read-status-{run}-{i}")
                              for i, r in enumerate(reads)])
    _first_error([e for e, _ in statuses])
    if plan.layout == LONG:
        seen = frozenset().union(*(s for _, s in statuses))
        missing = sorted({a.symbol for a in plan.assets} - seen)
        if missing:
            raise InputError(f"declared asset(s) {missing} never appear in the 'asset' column of the snapshot")
    lap("read")

    # 2. shuffle: one merge task per group
    groups = []
    for gi in range(1 << g):
        parts = [client.submit(fragment_part, r, gi, key=f"por-part-{run}-{i}-{gi}") for i, r in enumerate(reads)]
        groups.append(
            client.submit(prepare_group, parts, plan.layout, m, plan.shown_files, key=f"por-shuffle-{run}-{gi}")
        )
    statuses2 = client.gather([client.submit(group_status, p, key=f"por-shuffle-status-{run}-{i}")
                               for i, p in enumerate(groups)])
    _first_error([e for e, _ in statuses2])
    del reads, parts, spec_f
    users = sum(n for _, n in statuses2)
    if users == 0:
        raise InputError("the snapshot holds no users (empty snapshot)")
    lap("shuffle")

    # 3. shape
    k = protocol.default_bucket_bits(users) if bucket_bits is None else bucket_bits
    counts = client.gather([client.submit(bucket_counts, p, k, key=f"por-count-{run}-{i}")
                            for i, p in enumerate(groups)])
    per_bucket: dict[int, int] = {}
    for buckets, users_in in counts:  # with k < g a bucket spans several groups
        for b, c in zip(buckets.tolist(), users_in.tolist(), strict=True):
            per_bucket[b] = per_bucket.get(b, 0) + c
    largest = max(per_bucket.values())
    h = protocol.height_for(largest)
    if k + h > 64:
        raise InputError(f"tree height {k + h} exceeds 64")
    lap("count")

    # 4. buckets
    build_spec = BuildSpec(period, k, h, tuple(a.symbol for a in plan.assets), k_pad, staging.bundle)
    units = []
    if k >= g:
        per = 1 << (k - g)
        for gi, p in enumerate(groups):
            units.append(client.submit(build_unit, [p], gi * per, (gi + 1) * per, build_spec,
                                       key=f"por-buckets-{run}-{gi}"))
    else:
        span = 1 << (g - k)
        for b in range(1 << k):
            units.append(client.submit(build_unit, groups[b * span:(b + 1) * span], b, b + 1, build_spec,
                                       key=f"por-buckets-{run}-{b}"))
    results: list[UnitResult] = client.gather(units)
    _first_error([r.error for r in results])
    roots: list[BucketRoot] = [r for res in results for r in res.roots]
    lap("buckets")

    # 5. merge
    result = _merge(plan, period, k, h, k_pad, staging.bundle, roots, users)
    lap("merge")
    return dataclasses.replace(result, stages=stages)


def _merge(
    plan: SnapshotPlan,
    period: str,
    k: int,
    h: int,
    k_pad: protocol.SecretKey,
    out: bundle.Bundle,
    roots: list[BucketRoot],
    users: int,
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
        hashes[b] = np.frombuffer(protocol.padding_hash(k_pad, h, b), dtype=np.uint8)

    def padding(level: int, index: int) -> bytes:
        return protocol.padding_hash(k_pad, level, index)

    try:
        levels = build_top(hashes, sums, empty, h, padding)
    except SumOverflow as exc:
        raise InputError(
            f"the total of asset {plan.assets[exc.asset_index].symbol} overflows 2^128"
        ) from None
    root_hash, root_sums = levels[-1]
    root = bundle.node_json(root_hash[0].tobytes(), root_sums[0])

    top_bytes = bundle.canonical_json(top_tree_json(period, k, h, levels))
    out.write(bundle.TOP_TREE, top_bytes)
    index = {
        "version": protocol.VERSION,
        "period": period,
        "bucket_bits": k,
        "bucket_height": h,
        "users": users,
        "buckets": [
            {"bucket": r.bucket, "users": r.users, "file": r.file, "digest": r.digest,
             "root": bundle.node_json(r.hash, r.sums)}
            for r in sorted(roots, key=lambda r: r.bucket)
        ],
    }
    out.write(bundle.PRIVATE_INDEX, bundle.canonical_json(index))
    manifest = manifest_for(period, plan.assets, k, h, root, {bundle.TOP_TREE: bundle.digest(top_bytes)})
    out.write(bundle.MANIFEST, bundle.canonical_json(manifest))
    return BuildResult(manifest, users, out.shown)
