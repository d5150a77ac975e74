"""Worker-side work on groups of buckets: merge the shuffled parts, build subtrees.

A *group* is the set of users whose ``uk`` starts with given ``group_bits``
bits; groups are contiguous ranges of ``uk`` and so of buckets, whatever ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from blake3 import blake3

from ..errors import BundleError, Problem, SumOverflow
from ..formats import bucket_file as bucket_files
from ..formats import layout
from ..formats.canonical import digest
from ..formats.nodes import node_json, nodes_json
from ..protocol import v1
from ..protocol.keys import SecretKey
from ..storage.bundle import Bundle
from ..tree.fold import build_bucket, leaf_hashes
from ..tree.shape import first_words, key_words, positions, top_bits
from ..tree.sums import sums_from_ints, sums_to_be_bytes
from .read import user_id_at
from .rows import Part, SparseAmounts
from .shuffle import Prepared, read_part, read_prepared, write_prepared
from .snapshot import CSV, LONG, SnapshotPlan

MAX_EXAMPLES = 5


def _uk_order(uk: np.ndarray, *extra: np.ndarray) -> tuple[np.ndarray, bool]:
    """The order of rows by ``uk`` (then by ``extra`` keys), as a stable permutation, and whether
    two rows share their first 64 bits (if not, no two keys are equal).

    Fast path: sort on the first 64 bits; the full lexicographic sort runs only
    when two rows share those bits (duplicates, long-layout rows of one user).
    """
    top = first_words(uk)
    order = np.argsort(top)  # not stable, but used only when no two rows share their first 64 bits
    first = top[order]
    if len(first) < 2 or (first[1:] != first[:-1]).all():
        return order, False
    words = key_words(uk)
    return np.lexsort((*extra[::-1], words[:, 3], words[:, 2], words[:, 1], words[:, 0])), True


def _duplicate_report(part: Part, dup: np.ndarray, what: str, plan: SnapshotPlan) -> Problem:
    """``dup[i]`` true when sorted row ``i`` repeats row ``i - 1``. The ids quoted are read back
    from the snapshot (they do not travel through the shuffle)."""
    starts = np.flatnonzero(dup)
    files = plan.shown_files
    examples = []
    # a CSV file's row r is its line r + 2 (the header is line 1; blank lines are refused); Parquet's rows from 0
    place = "line" if plan.file_format == CSV else "row"
    shift = 2 if plan.file_format == CSV else 0
    for i in starts[:MAX_EXAMPLES].tolist():
        a, b = i - 1, i
        places = [f"{files[part.file_index[r]]} {place} {int(part.row[r]) + shift}" for r in (a, b)]
        user = user_id_at(plan, int(part.file_index[b]), int(part.row[b]))
        examples.append(f"{user!r} ({' and '.join(places)})")
    return Problem(f"{len(starts)} duplicate {what}; e.g. " + "; ".join(examples))


@dataclass(frozen=True)
class GroupSpec:
    """What merging a group's rows needs: where the shuffle files are and how many, the layout."""

    scratch: Bundle
    fragments: int
    layout: str
    m: int
    plan: SnapshotPlan
    """For naming rows in error messages (``fragments=()``: the files only)."""


def merge_group(group: int, spec: GroupSpec) -> tuple[Prepared, Problem | None]:
    """One group's rows from every fragment's shuffle file, merged into users sorted by ``uk``."""
    m = spec.m if spec.layout != LONG else 0
    merged = Part.concat([read_part(spec.scratch, i, group, m) for i in range(spec.fragments)])
    return merge_part(merged, spec.layout, spec.m, spec.plan)


def prepare_group(group: int, spec: GroupSpec) -> tuple[Problem | None, int]:
    """Long layout: merge one group (one row per asset folded into one row per user) and write
    the group file. Returns ``(problem, users)``."""
    prepared, problem = merge_group(group, spec)
    if problem is None:
        write_prepared(spec.scratch, group, prepared)
    return problem, prepared.uk.shape[0]


def merge_part(merged: Part, layout: str, m: int, plan: SnapshotPlan) -> tuple[Prepared, Problem | None]:
    n = merged.uk.shape[0]
    empty = Prepared(np.zeros((0, 32), np.uint8), np.zeros((0, m, 2), np.uint64))
    if n == 0:
        return empty, None
    if layout == LONG:
        assert merged.asset_index is not None
        order, _ = _uk_order(merged.uk, merged.asset_index)
        s = merged.take(order)
        assert s.asset_index is not None
        same_user = np.zeros(n, dtype=bool)
        same_user[1:] = (s.uk[1:] == s.uk[:-1]).all(axis=1)
        dup = same_user.copy()
        dup[1:] &= s.asset_index[1:] == s.asset_index[:-1]
        if dup.any():
            return empty, _duplicate_report(s, dup, "(user_id, asset) rows", plan)
        user_row = np.cumsum(~same_user) - 1
        users = int(user_row[-1]) + 1
        sums = np.zeros((users, m, 2), dtype=np.uint64)
        assert isinstance(s.values, np.ndarray)
        sums[user_row, s.asset_index] = s.values
        return Prepared(s.uk[~same_user], sums), None
    order, ties = _uk_order(merged.uk)
    if ties:
        s = merged.take(order)
        dup = np.zeros(n, dtype=bool)
        dup[1:] = (s.uk[1:] == s.uk[:-1]).all(axis=1)
        if dup.any():
            return empty, _duplicate_report(s, dup, "user_id", plan)
    assert isinstance(merged.values, SparseAmounts)
    return Prepared(np.take(merged.uk, order, axis=0), merged.values.dense(order)), None


def bucket_counts(scratch: Bundle, group: int, bucket_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(buckets, users)`` for the non-empty buckets of a group (reads only its user keys)."""
    uk = read_prepared(scratch, group, 0, uk_only=True).uk
    return np.unique(top_bits(uk, bucket_bits), return_counts=True)


@dataclass(frozen=True)
class BuildSpec:
    """What a bucket task needs. Holds the per-period padding key, never the master secret."""

    period: str
    bucket_bits: int
    bucket_height: int
    symbols: tuple[str, ...]
    k_pad: SecretKey
    staging: Bundle
    scratch: Bundle
    mac_key: SecretKey
    run_key: str
    resume: bool
    version: str
    merge: GroupSpec | None = None
    """Wide layout: merge each group from the shuffle files here; otherwise read its group file."""


@dataclass
class BucketRoot:
    bucket: int
    users: int
    hash: bytes
    sums: np.ndarray  # (m, 2)
    file: str
    digest: str


@dataclass
class UnitResult:
    roots: list[BucketRoot] = field(default_factory=list)
    problem: Problem | None = None
    reused: int = 0


MAC_SUFFIX = ".mac"


def mac(mac_key: SecretKey, run_key: str, data: bytes) -> str:
    """The MAC a build writes beside each finished bucket file: a ``resume`` build of the same
    ``run_key`` reuses the file only when it verifies."""
    return blake3(run_key.encode() + data, key=mac_key.reveal()).hexdigest()


def _mac(spec: BuildSpec, data: bytes) -> str:
    return mac(spec.mac_key, spec.run_key, data)


def reuse_bucket(spec: BuildSpec, bucket: int, users: int, name: str) -> BucketRoot | None:
    """A bucket file an interrupted run of the same ``run_key`` finished, if its MAC verifies.

    Anything else (missing, stale, tampered, other shape) returns None: recompute.
    """
    staging = spec.staging
    if not (staging.exists(name) and staging.exists(name + MAC_SUFFIX)):
        return None
    data = staging.read(name)
    if staging.read(name + MAC_SUFFIX).decode(errors="replace").strip() != _mac(spec, data):
        return None
    try:
        meta = bucket_files.decode_bucket(data, name).meta
        root = meta["root"]
        sums = sums_from_ints([[int(v) for v in root["sums"]]], len(spec.symbols))[0]
    except (BundleError, KeyError, TypeError, ValueError):
        return None
    if (meta.get("bucket"), meta.get("bucket_height"), meta.get("bucket_bits"), meta.get("users")) != (
        bucket, spec.bucket_height, spec.bucket_bits, users
    ):
        return None
    return BucketRoot(bucket, users, bytes.fromhex(root["hash"]), sums, name, digest(data))


def build_unit(groups: list[int], bucket_lo: int, bucket_hi: int, spec: BuildSpec) -> UnitResult:
    """Build and store every non-empty bucket in ``[bucket_lo, bucket_hi)``.

    Preconditions: ``groups`` are consecutive groups covering exactly that
    bucket range. Writes one bucket file per non-empty bucket into the staging
    bundle and returns the bucket roots.
    """
    m = len(spec.symbols)
    prepared = []
    for g in groups:
        if spec.merge is None:
            prepared.append(read_prepared(spec.scratch, g, m))
            continue
        merged, problem = merge_group(g, spec.merge)
        if problem is not None:
            return UnitResult(problem=problem)
        prepared.append(merged)
    uk = np.concatenate([p.uk for p in prepared]) if len(prepared) > 1 else prepared[0].uk
    sums = np.concatenate([p.sums for p in prepared]) if len(prepared) > 1 else prepared[0].sums
    b_of = top_bits(uk, spec.bucket_bits)
    bounds = np.searchsorted(b_of, np.arange(bucket_lo, bucket_hi + 1))
    k_pad = spec.k_pad
    h = spec.bucket_height
    checkpoint = layout.checkpoint_level(h)

    def padding(level: int, index: int) -> bytes:
        return v1.padding_hash(k_pad, level, index)

    result = UnitResult()
    for offset, b in enumerate(range(bucket_lo, bucket_hi)):
        lo, hi = int(bounds[offset]), int(bounds[offset + 1])
        if lo == hi:
            continue
        name = layout.bucket_file(b)
        if spec.resume:
            earlier = reuse_bucket(spec, b, hi - lo, name)
            if earlier is not None:
                result.roots.append(earlier)
                result.reused += 1
                continue
        b_uk, b_sums = uk[lo:hi], sums[lo:hi]
        try:
            sub = build_bucket(leaf_hashes(b_uk, b_sums), b_sums, b, h, padding, record_level=checkpoint)
        except SumOverflow as exc:
            return UnitResult(problem=Problem(
                f"the total of asset {spec.symbols[exc.asset_index]} overflows 2^128 (bucket {b})"))
        leaf_positions = positions(b, h, hi - lo)
        meta = {
            "version": spec.version,
            "period": spec.period,
            "bucket": b,
            "bucket_bits": spec.bucket_bits,
            "bucket_height": h,
            "users": hi - lo,
            "root": node_json(sub.root_hash, sub.root_sums),
            "padding": [{"level": lv, "index": ix, "hash": hx.hex()} for lv, ix, hx in sub.padding],
        }
        if sub.recorded is not None:
            meta["checkpoint"] = {"level": checkpoint, "nodes": nodes_json(*sub.recorded)}
        data = bucket_files.encode_bucket(b_uk, leaf_positions, sums_to_be_bytes(b_sums), meta)
        spec.staging.write(name, data)
        spec.staging.write(name + MAC_SUFFIX, _mac(spec, data).encode())
        result.roots.append(BucketRoot(b, hi - lo, sub.root_hash, sub.root_sums, name, digest(data)))
    return result
