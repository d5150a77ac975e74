"""por-v3's bucket stage (worker side): the leaves of a range of one asset's buckets from every leaf
file, sorted by key, folded bucket by bucket into subtrees, and stored as private bucket files
(``private/trees/AAA/NNNNNNNN.parquet``) with their padding nodes and checkpoint, as por-v1's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BundleError, Problem, SumOverflow
from ..formats import bucket_file as bucket_files
from ..formats import layout
from ..formats.canonical import digest
from ..formats.nodes import pair_json, pairs_json
from ..protocol import v3
from ..protocol.keys import SecretKey
from ..storage.bundle import Bundle
from ..tree import fragments as frag
from ..tree.fold import V3_NODES, build_buckets
from ..tree.shape import positions, top_bits
from ..tree.sums import amounts_to_sums, sums_from_ints
from .buckets import MAC_SUFFIX, mac
from .rows import bucket_rows, sort_rows
from .shuffle import LeafFile, read_leaves

KINDS = ("equity", "debt")


@dataclass(frozen=True)
class TreeShape:
    symbol: str
    bucket_bits: int
    bucket_height: int


@dataclass(frozen=True)
class TreeSpec:
    """What a tree task needs. Holds the per-period padding key, never the master secret."""

    period: str
    shapes: tuple[TreeShape, ...]
    k_pad: SecretKey
    staging: Bundle
    scratch: Bundle
    sources: tuple[LeafFile, ...]
    mac_key: SecretKey
    run_key: str
    resume: bool


@dataclass
class TreeBucket:
    """A stored bucket: its asset and index, leaves, root (sums (2, 2): equity, debt), file and digest."""

    asset: int
    bucket: int
    leaves: int
    hash: bytes
    sums: np.ndarray
    file: str
    digest: str


@dataclass
class TreeUnitResult:
    buckets: list[TreeBucket] = field(default_factory=list)
    problem: Problem | None = None
    reused: int = 0


def partition_range(bits: int, bucket_bits: int, lo: int, hi: int) -> tuple[int, int]:
    """The partitions (of ``bits`` key bits) that hold buckets ``[lo, hi)`` (of ``bucket_bits``)."""
    if bits <= bucket_bits:
        return lo >> (bucket_bits - bits), ((hi - 1) >> (bucket_bits - bits)) + 1
    return lo << (bits - bucket_bits), hi << (bits - bucket_bits)


def gather_leaves(scratch: Bundle, sources: tuple[LeafFile, ...], shapes: tuple[TreeShape, ...],
                  ranges: list[tuple[int, int, int]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every leaf of each range ``(asset, bucket_lo, bucket_hi)`` from the leaf files (each opened once):
    ``(keys, amounts, bounds)``, bucket ``lo + b`` at rows ``bounds[b]:bounds[b+1]``, sorted by key (then
    by amounts: equal keys, which the caller refuses, still give one order)."""
    pieces: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in ranges]
    for src in sources:
        wanted: list[list[int]] = []
        for asset, lo, hi in ranges:
            part = src.parts[asset]
            if part is None:
                wanted.append([])
                continue
            bits, first = part
            p_lo, p_hi = partition_range(bits, shapes[asset].bucket_bits, lo, hi)
            wanted.append(list(range(first + p_lo, first + p_hi)))
        if not any(wanted):
            continue
        for r, (k, a) in enumerate(read_leaves(scratch, src.name, wanted)):
            if len(k):
                pieces[r].append((k, a))
    out = []
    for (asset, lo, hi), got in zip(ranges, pieces, strict=True):
        keys, amounts, bounds = bucket_rows([k for k, _ in got], [a for _, a in got], shapes[asset].bucket_bits,
                                            lo, hi)
        sorted_keys, sorted_amounts = np.empty_like(keys), np.empty_like(amounts)
        for b in range(hi - lo):  # each bucket sorted on its own: small enough for the caches
            first, last = int(bounds[b]), int(bounds[b + 1])
            if last > first:
                sort_rows([keys[first:last]], [amounts[first:last]],
                          (sorted_keys[first:last], sorted_amounts[first:last]))
        out.append((sorted_keys, sorted_amounts, bounds))
    return out


def reuse_tree_bucket(spec: TreeSpec, asset: int, bucket: int, leaves: int, name: str) -> TreeBucket | None:
    """A bucket file an interrupted run of the same ``run_key`` finished, if its MAC verifies and its
    metadata is this bucket's; None otherwise (recompute)."""
    staging = spec.staging
    if not (staging.exists(name) and staging.exists(name + MAC_SUFFIX)):
        return None
    data = staging.read(name)
    file_digest = digest(data)
    if staging.read(name + MAC_SUFFIX).decode(errors="replace").strip() != mac(spec.mac_key, spec.run_key,
                                                                               file_digest.encode()):
        return None
    shape = spec.shapes[asset]
    try:
        meta = bucket_files.decode_bucket(data, name, bucket_files.V3_COLUMNS).meta
        root = meta["root"]
        sums = sums_from_ints([[int(root["equity"]), int(root["debt"])]], 2)[0]
        root_hash = bytes.fromhex(root["hash"])
    except (BundleError, KeyError, TypeError, ValueError):
        return None
    if (meta.get("asset"), meta.get("bucket"), meta.get("bucket_bits"), meta.get("bucket_height"),
            meta.get("leaves")) != (shape.symbol, bucket, shape.bucket_bits, shape.bucket_height, leaves):
        return None
    return TreeBucket(asset, bucket, leaves, root_hash, sums, name, file_digest)


def build_trees(unit: list[tuple[int, int, int]], spec: TreeSpec) -> TreeUnitResult:
    """Build and store every non-empty bucket of each ``(asset, bucket_lo, bucket_hi)`` of ``unit``."""
    result = TreeUnitResult()
    for (asset, lo, hi), (keys, amounts, bounds) in zip(unit, gather_leaves(spec.scratch, spec.sources, spec.shapes,
                                                                            unit), strict=True):
        problem = _build_range(asset, lo, hi, keys, amounts, bounds, spec, result)
        if problem is not None:
            return TreeUnitResult(problem=problem)
    return result


def _build_range(asset: int, lo: int, hi: int, keys: np.ndarray, amounts: np.ndarray, bounds: np.ndarray,
                 spec: TreeSpec, result: TreeUnitResult) -> Problem | None:
    shape = spec.shapes[asset]
    k, h, symbol = shape.bucket_bits, shape.bucket_height, shape.symbol
    if len(keys) > 1:  # sorted: equal keys are neighbours (their first words first)
        words = keys.view(np.uint64)
        near = np.flatnonzero(words[1:, 0] == words[:-1, 0])
        same = near[(keys[near + 1] == keys[near]).all(axis=1)] if len(near) else near
        if len(same):
            return Problem(f"two leaves of asset {symbol} share a leaf key (bucket "
                           f"{int(top_bits(keys[same[:1]], k)[0])}); the build is refused")
    checkpoint = layout.checkpoint_level(h)
    k_pad = spec.k_pad

    def padding(level: int, index: int) -> bytes:
        return v3.padding_hash(k_pad, symbol, level, index)

    todo = []
    for offset, b in enumerate(range(lo, hi)):
        first, last = int(bounds[offset]), int(bounds[offset + 1])
        if first == last:
            continue
        if spec.resume:
            earlier = reuse_tree_bucket(spec, asset, b, last - first, layout.tree_bucket_file(asset, b))
            if earlier is not None:
                result.buckets.append(earlier)
                result.reused += 1
                continue
        todo.append((b, first, last))
    if not todo:
        return None
    sums = amounts_to_sums(amounts)
    try:
        subtrees = build_buckets(frag.leaf_hashes(keys, amounts), sums, todo, h, padding, record_level=checkpoint,
                                 rule=V3_NODES)
    except SumOverflow as exc:
        return Problem(f"the total of asset {symbol} overflows 2^128 ({KINDS[exc.asset_index]}, buckets {lo}..{hi - 1})")
    for (b, first, last), sub in zip(todo, subtrees, strict=True):
        n = last - first
        name = layout.tree_bucket_file(asset, b)
        meta = {
            "version": v3.VERSION,
            "period": spec.period,
            "asset": symbol,
            "asset_index": asset,
            "bucket": b,
            "bucket_bits": k,
            "bucket_height": h,
            "leaves": n,
            "root": pair_json(sub.root_hash, sub.root_sums),
            "padding": [{"level": lv, "index": ix, "hash": hx.hex()} for lv, ix, hx in sub.padding],
        }
        if sub.recorded is not None:
            meta["checkpoint"] = {"level": checkpoint, "nodes": pairs_json(*sub.recorded)}
        data = bucket_files.encode_bucket(keys[first:last], positions(b, h, n), amounts[first:last], meta,
                                          bucket_files.V3_COLUMNS)
        spec.staging.write(name, data)
        file_digest = digest(data)
        spec.staging.write(name + MAC_SUFFIX, mac(spec.mac_key, spec.run_key, file_digest.encode()).encode())
        result.buckets.append(TreeBucket(asset, b, n, sub.root_hash, sub.root_sums, name, file_digest))
    return None
