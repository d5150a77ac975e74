"""``por audit``: recompute every bucket and the root from ``private/`` and check every
invariant, without the master secret (por-v3: ``audit_v3``, also every user's fragments).

What the audit cannot check without the secret: that padding hashes are the
keyed hashes the protocol prescribes (it checks they are used exactly where the
shape requires and carry zero sums).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import AuditError, BundleError, SumOverflow
from ..formats import layout
from ..formats.bucket_file import decode_bucket
from ..formats.canonical import digest
from ..formats.nodes import node_json, nodes_from_json, nodes_json
from ..mapping import Mapper
from ..protocol import shape, v3
from ..storage.bundle import Bundle
from ..tree.fold import hash_pairs
from ..tree.shape import first_disorder, positions, top_bits
from . import collateral
from .audit_v3 import AuditReportV3, audit_v3
from .stored import fold_bucket, load_manifest

MAX_PROBLEMS = 20


@dataclass
class BucketAudit:
    bucket: int
    users: int = 0
    root: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class AuditReport:
    users: int
    buckets: int
    root: dict[str, Any]


def audit_bucket(b: Bundle, entry: Mapping[str, Any], period: str, k: int, h: int, m: int) -> BucketAudit:
    """Check one bucket file against its index entry and re-fold it."""
    bucket = entry["bucket"]
    out = BucketAudit(bucket)
    where = b.where(entry['file'])
    if entry["file"] != layout.bucket_file(bucket):
        out.problems.append(f"bucket {bucket}: index names file {entry['file']!r}")
        return out
    try:
        raw = b.read(entry["file"])
    except BundleError as exc:
        out.problems.append(str(exc))
        return out
    got = digest(raw)
    if got != entry["digest"]:
        out.problems.append(f"{where}: blake3 {got} differs from private/index.json's {entry['digest']}")
    try:
        data = decode_bucket(raw, where)
    except BundleError as exc:
        out.problems.append(str(exc))
        return out
    meta = data.meta
    for key, want in (("period", period), ("bucket", bucket), ("bucket_bits", k), ("bucket_height", h)):
        if meta.get(key) != want:
            out.problems.append(f"{where}: metadata {key} is {meta.get(key)!r}, expected {want!r}")
    n = data.uks.shape[0]
    out.users = n
    if n != entry["users"] or n == 0 or n > (1 << h):
        out.problems.append(f"{where}: holds {n} users; index says {entry['users']}, capacity 2^{h}")
        return out
    if data.sums_be.shape[1] != 16 * m:
        out.problems.append(f"{where}: balances are {data.sums_be.shape[1]} bytes, expected {16 * m}")
        return out
    disorder = first_disorder(data.uks)
    if disorder is not None:
        rank, repeated, count = disorder
        kind = "duplicate" if repeated else "out-of-order"
        out.problems.append(f"{where}: {count} leaves not strictly ascending by uk (first: {kind} at rank {rank})")
    wrong = np.flatnonzero(top_bits(data.uks, k) != bucket)
    if len(wrong):
        out.problems.append(f"{where}: {len(wrong)} leaves whose uk is not in bucket {bucket} (first at rank {wrong[0]})")
    expected_pos = positions(bucket, h, n)
    misplaced = np.flatnonzero(data.positions != expected_pos)
    if len(misplaced):
        out.problems.append(f"{where}: {len(misplaced)} leaves at wrong positions (first at rank {misplaced[0]})")
    try:
        sub, padding = fold_bucket(data, bucket, h, m, where)
    except SumOverflow as exc:
        out.problems.append(f"{where}: sum of asset #{exc.asset_index} overflows 2^128 at level {exc.level}")
        return out
    except BundleError as exc:
        out.problems.append(str(exc))
        return out
    level = layout.checkpoint_level(h)
    stored = meta.get("checkpoint")
    if level is None and stored is not None:
        out.problems.append(f"{where}: stores a checkpoint, bucket height {h} needs none")
    elif level is not None:
        assert sub.recorded is not None
        want = {"level": level, "nodes": nodes_json(*sub.recorded)}
        if stored != want:
            out.problems.append(f"{where}: checkpoint nodes at level {level} differ from the re-folded leaves")
    unused = padding.unused()
    if unused:
        out.problems.append(f"{where}: stores padding nodes the shape does not use: {unused[:5]}")
    out.root = node_json(sub.root_hash, sub.root_sums)
    if out.root != meta.get("root") or out.root != entry.get("root"):
        out.problems.append(f"{where}: leaves fold to {out.root}, stored root is {meta.get('root')} "
                            f"(index: {entry.get('root')})")
    return out


def _public_file_problems(b: Bundle, manifest: Mapping[str, Any]) -> list[str]:
    """Every public file the manifest lists has its digest, and the manifest lists every public file."""
    problems = []
    files = manifest.get("files")
    if not isinstance(files, dict) or layout.TOP_TREE not in files:
        raise AuditError(f"{b.where(layout.MANIFEST)}: 'files' must list {layout.TOP_TREE} with its digest")
    for name, want in sorted(files.items()):
        try:
            got = digest(b.read(name))
        except BundleError as exc:
            problems.append(str(exc))
            continue
        if got != want:
            problems.append(f"{b.where(name)}: blake3 {got} differs from the manifest's {want}")
    public = b.public_names() - layout.OUTSIDE_MANIFEST
    unlisted = sorted(public - set(files))
    if unlisted:
        problems.append(f"{b.shown}: public files not covered by the manifest: {unlisted}")
    return problems


def _local_map(fn: Callable[..., Any], items: Sequence[Any]) -> list[Any]:
    return [fn(item) for item in items]


def audit_bundle(b: Bundle, mapper: Mapper = _local_map, terms: collateral.Terms | None = None,
                 scratch: Bundle | None = None) -> AuditReport | AuditReportV3:
    """Check every invariant of bundle ``b``. Raises ``AuditError`` listing what failed.

    ``mapper(fn, items)`` runs the per-bucket checks (e.g. on a Dask cluster). por-v3 bundles go to
    ``audit_v3`` (with ``terms``: also every user's collateral against their debt, reported in the
    result; por-v1/v2 have no debt and no such rule; ``scratch``: where por-v3's audit writes the users'
    fragments, by default a hidden sibling of ``b``; por-v1/v2's audit writes nothing).
    """
    problems: list[str] = []
    manifest = load_manifest(b)
    problems += _public_file_problems(b, manifest)
    if manifest["version"] == v3.VERSION:
        return audit_v3(b, manifest, mapper, terms, problems, scratch)
    if terms is not None:
        raise AuditError(f"the collateral rule is por-v3's; {b.shown} is {manifest['version']}")
    period, tree = manifest["period"], manifest["tree"]
    k, h = tree["bucket_bits"], tree["bucket_height"]
    m = len(manifest["assets"])

    top = b.read_json(layout.TOP_TREE)
    index = b.read_json(layout.PRIVATE_INDEX)
    for key, want in (("period", period), ("bucket_bits", k), ("bucket_height", h)):
        for what, doc in ((layout.TOP_TREE, top), (layout.PRIVATE_INDEX, index)):
            if doc.get(key) != want:
                problems.append(f"{what}: {key} is {doc.get(key)!r}, the manifest says {want!r}")
    levels = top.get("levels", [])
    if len(levels) != k + 1 or any(len(lv) != 1 << (k - j) for j, lv in enumerate(levels)):
        problems.append(f"{layout.TOP_TREE}: levels do not form a tree of 2^{k} buckets")
        raise AuditError("; ".join(problems), problems)

    entries = index.get("buckets", [])
    buckets = [e["bucket"] for e in entries]
    if buckets != sorted(set(buckets)) or any(not 0 <= x < (1 << k) for x in buckets):
        problems.append(f"{layout.PRIVATE_INDEX}: bucket list is not unique, sorted and within [0, 2^{k})")
    stray = sorted(set(b.listdir(layout.BUCKET_DIR)) - {e.get("file") for e in entries})
    if stray:
        problems.append(f"{layout.BUCKET_DIR}: files not in {layout.PRIVATE_INDEX}: {stray[:5]}")
    results: list[BucketAudit] = mapper(lambda e: audit_bucket(b, e, period, k, h, m), entries)
    users = 0
    largest = 0
    for r in results:
        problems += r.problems
        users += r.users
        largest = max(largest, r.users)
        if r.root is not None and levels[0][r.bucket] != r.root:
            problems.append(f"{layout.TOP_TREE}: bucket {r.bucket} root {levels[0][r.bucket]} differs from its "
                            f"re-folded leaves {r.root}")
    if users != index.get("users"):
        problems.append(f"{layout.PRIVATE_INDEX}: says {index.get('users')} users, the buckets hold {users}")
    if shape.height_for(largest) != h:
        problems.append(f"bucket height {h} is not the smallest fitting the largest bucket ({largest} users)")

    # re-fold the top tree: a node is real iff some bucket below it has users
    nonempty = np.zeros(1 << k, dtype=bool)
    nonempty[[x for x in buckets if 0 <= x < (1 << k)]] = True
    try:
        hashes, sums = nodes_from_json(levels[0], m)
        for j in range(k):
            zero_empty = ~nonempty & sums.reshape(len(sums), -1).any(axis=1)
            if zero_empty.any():
                problems.append(f"{layout.TOP_TREE}: level {h + j} node {np.flatnonzero(zero_empty)[0]} has no users below but non-zero sums")
            p_hashes, p_sums = hash_pairs(hashes, sums, h + j)
            nonempty = nonempty[0::2] | nonempty[1::2]
            g_hashes, g_sums = nodes_from_json(levels[j + 1], m)
            differs = np.flatnonzero(nonempty & ((p_hashes != g_hashes).any(axis=1) | (p_sums != g_sums).reshape(len(g_sums), -1).any(axis=1)))
            if len(differs):
                problems.append(f"{layout.TOP_TREE}: level {h + j + 1} node {differs[0]} does not match its children")
            hashes, sums = g_hashes, g_sums
    except SumOverflow as exc:
        problems.append(f"{layout.TOP_TREE}: sum of asset #{exc.asset_index} overflows at level {exc.level}")
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        problems.append(f"{layout.TOP_TREE}: malformed ({exc})")
    if levels[-1][0] != manifest["root"]:
        problems.append(f"{layout.TOP_TREE}: root {levels[-1][0]} differs from the manifest's root {manifest['root']}")
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise AuditError(f"audit of {b.shown} FAILED: " + "; ".join(shown) + more, problems)
    return AuditReport(users, len(entries), manifest["root"])
