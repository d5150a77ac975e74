"""Reading a stored bundle back: its manifest, its top tree, and re-folding a stored bucket (por-v1/v2's
``private/buckets``, por-v3's ``private/trees``: ``StoredKind``).

One place for what ``prove``, ``audit`` and ``export-proofs`` all do with ``private/``: fold a
bucket from its stored leaves and padding nodes (whole, or only the 2^c leaves under one
checkpoint node), and walk a path up the top tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import BundleError, VerificationError
from ..formats import layout
from ..formats.bucket_file import COLUMNS, V3_COLUMNS, BucketData
from ..formats.canonical import digest
from ..formats.nodes import node_json, nodes_from_json, pair_json, pairs_from_json
from ..formats.users_file import UsersData, decode_users, held_assets
from ..protocol import shape
from ..protocol.verify import check_manifest
from ..storage.bundle import Bundle
from ..tree import per_call
from ..tree.fold import V1_NODES, V3_NODES, NodeRule, Subtree, build_bucket, leaf_hashes, sibling_path
from ..tree.sums import amounts_to_sums, sums_from_be_bytes


@dataclass(frozen=True)
class StoredKind:
    """How a stored bucket's rows are read back and folded: por-v1/v2 (one tree, ``m`` sums per node)
    or por-v3 (per asset: leaves keyed by their own key, nodes of two sums, equity and debt)."""

    columns: tuple[str, str, str]
    rule: NodeRule
    per_asset: bool

    def sums(self, raw: np.ndarray, m: int) -> np.ndarray:
        return amounts_to_sums(raw) if self.per_asset else sums_from_be_bytes(raw, m)

    def leaves(self, keys: np.ndarray, raw: np.ndarray, sums: np.ndarray) -> np.ndarray:
        if not self.per_asset:
            return leaf_hashes(keys, sums)
        if keys.shape[0] <= per_call.PER_CALL_MAX:  # a proof's chunk: no compiled kernels to load
            return per_call.leaf_hashes(keys, raw)
        from ..tree import fragments

        return fragments.leaf_hashes(keys, raw)

    def nodes_from_json(self, nodes: list[dict[str, Any]], m: int) -> tuple[np.ndarray, np.ndarray]:
        return pairs_from_json(nodes) if self.per_asset else nodes_from_json(nodes, m)

    def node_json(self, hash_: bytes, sums: np.ndarray) -> dict[str, Any]:
        return pair_json(hash_, sums) if self.per_asset else node_json(hash_, sums)


V1_KIND = StoredKind(COLUMNS, V1_NODES, False)
V3_KIND = StoredKind(V3_COLUMNS, V3_NODES, True)


def load_manifest(b: Bundle) -> dict[str, Any]:
    """The bundle's manifest, structurally checked."""
    manifest = b.read_json(layout.MANIFEST)
    try:
        check_manifest(manifest)
    except VerificationError as exc:
        raise BundleError(f"{b.where(layout.MANIFEST)}: {exc}") from None
    return manifest


def load_top_tree(b: Bundle, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``top-tree.json``, after checking its digest against the manifest."""
    raw = b.read(layout.TOP_TREE)
    expected = manifest.get("files", {}).get(layout.TOP_TREE)
    got = digest(raw)
    if got != expected:
        raise BundleError(f"{b.where(layout.TOP_TREE)}: digest differs from the manifest's (blake3 {got}, manifest {expected})")
    return b.read_json(layout.TOP_TREE)


SHAPE_FIELDS = ("period", "bucket_bits", "bucket_height")


def shape_of(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every private document of a bundle must share with its manifest."""
    return {"period": manifest["period"], "bucket_bits": manifest["tree"]["bucket_bits"],
            "bucket_height": manifest["tree"]["bucket_height"]}


def shape_disagreements(doc: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[str]:
    """``field: X, the manifest says Y`` for each shape field of ``doc`` that differs from the manifest's."""
    want = shape_of(manifest)
    return [f"{key} is {doc.get(key)!r}, the manifest says {want[key]!r}" for key in SHAPE_FIELDS
            if doc.get(key) != want[key]]


def load_private_index(b: Bundle, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``private/index.json``, refused when its shape disagrees with the manifest's (a proof store
    that is not the published tree's)."""
    index = b.read_json(layout.PRIVATE_INDEX)
    differ = shape_disagreements(index, manifest)
    if differ:
        raise BundleError(f"{b.where(layout.PRIVATE_INDEX)}: not this manifest's proof store: " + "; ".join(differ))
    return index


def top_path(levels: list[list[dict[str, Any]]], bucket: int) -> list[dict[str, Any]]:
    """The path entries above ``bucket``: its siblings in the top tree's levels, lowest first."""
    below = levels[:-1]
    return [{"hash": level[sib]["hash"], "sums": list(level[sib]["sums"])}
            for level, sib in zip(below, shape.sibling_indices(bucket, len(below)), strict=True)]


def top_path_v3(levels: list[list[dict[str, Any]]], bucket: int) -> list[dict[str, Any]]:
    """por-v3: the path entries above ``bucket`` in one asset's top-tree levels, lowest first."""
    below = levels[:-1]
    return [{"hash": level[sib]["hash"], "equity": level[sib]["equity"], "debt": level[sib]["debt"]}
            for level, sib in zip(below, shape.sibling_indices(bucket, len(below)), strict=True)]


def load_private_index_v3(b: Bundle, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """por-v3's ``private/index.json``, refused when its period, parameters or any tree's shape
    disagrees with the manifest's (a proof store that is not the published trees')."""
    index = b.read_json(layout.PRIVATE_INDEX)
    differ = [f"{key} is {index.get(key)!r}, the manifest says {manifest[key]!r}"
              for key in ("version", "period", "parameters") if index.get(key) != manifest[key]]
    trees = index.get("trees")
    if not isinstance(trees, list) or len(trees) != len(manifest["trees"]):
        differ.append(f"trees: {len(trees) if isinstance(trees, list) else trees!r}, the manifest has "
                      f"{len(manifest['trees'])}")
    else:
        for mine, theirs in zip(trees, manifest["trees"], strict=True):
            for key in ("asset", "bucket_bits", "bucket_height"):
                if not isinstance(mine, dict) or mine.get(key) != theirs[key]:
                    got = mine.get(key) if isinstance(mine, dict) else mine
                    differ.append(f"tree {theirs['asset']}: {key} is {got!r}, the manifest says {theirs[key]!r}")
    for key, kind in (("user_bits", int), ("user_files", list), ("users", int)):
        if not isinstance(index.get(key), kind) or isinstance(index.get(key), bool):
            differ.append(f"{key} is {index.get(key)!r}")
    if differ:
        raise BundleError(f"{b.where(layout.PRIVATE_INDEX)}: not this manifest's proof store: " + "; ".join(differ))
    return index


class StoredPadding:
    """A padding function backed by the padding nodes stored with a bucket; remembers what it served."""

    def __init__(self, meta: Mapping[str, Any], where: str) -> None:
        self.where = where
        self.table = {(p["level"], p["index"]): bytes.fromhex(p["hash"]) for p in meta.get("padding", [])}
        self.used: set[tuple[int, int]] = set()

    def __call__(self, level: int, index: int) -> bytes:
        try:
            value = self.table[(level, index)]
        except KeyError:
            raise BundleError(f"{self.where}: padding node (level {level}, index {index}) is not stored") from None
        self.used.add((level, index))
        return value

    def unused(self) -> list[tuple[int, int]]:
        return sorted(set(self.table) - self.used)


def fold_bucket(data: BucketData, bucket: int, height: int, m: int, where: str, keep_levels: bool = False,
                kind: StoredKind = V1_KIND) -> tuple[Subtree, StoredPadding]:
    """Re-fold a whole stored bucket from its leaves, recording its checkpoint level (for audits);
    with ``keep_levels`` every level too (for exports)."""
    sums = kind.sums(data.sums_be, m)
    padding = StoredPadding(data.meta, where)
    sub = build_bucket(kind.leaves(data.uks, data.sums_be, sums), sums, bucket, height, padding,
                       keep_levels=keep_levels, record_level=layout.checkpoint_level(height), rule=kind.rule)
    return sub, padding


def bucket_path(data: BucketData, bucket: int, height: int, rank: int, m: int, where: str,
                kind: StoredKind = V1_KIND) -> tuple[list[tuple[bytes, np.ndarray]], Subtree]:
    """The in-bucket part of a proof (levels ``0 … height-1``) and the bucket's subtree.

    With a stored checkpoint only the 2^c leaves around ``rank`` and the
    checkpoint nodes are folded; the caller checks the resulting bucket root
    against the top tree, so a corrupt checkpoint cannot yield a valid proof.
    """
    checkpoint = data.meta.get("checkpoint")
    if checkpoint is None:
        sub, _ = fold_bucket(data, bucket, height, m, where, keep_levels=True, kind=kind)
        assert sub.levels is not None
        return sibling_path(sub.levels, rank), sub
    padding = StoredPadding(data.meta, where)
    level = checkpoint["level"]
    chunk = rank >> level
    lo, hi = chunk << level, min(data.uks.shape[0], (chunk + 1) << level)
    sums = kind.sums(data.sums_be[lo:hi], m)
    low = build_bucket(kind.leaves(data.uks[lo:hi], data.sums_be[lo:hi], sums), sums,
                       shape.node_index(bucket, height, level, chunk), level, padding, keep_levels=True, rule=kind.rule)
    try:
        cp_hashes, cp_sums = kind.nodes_from_json(checkpoint["nodes"], m)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{where}: malformed checkpoint ({exc})") from None
    if chunk >= len(cp_hashes) or cp_hashes[chunk].tobytes() != low.root_hash:
        raise BundleError(f"{where}: checkpoint node {chunk} differs from its leaves")
    high = build_bucket(cp_hashes, cp_sums, bucket, height, padding, keep_levels=True, base_level=level,
                        rule=kind.rule)
    assert low.levels is not None and high.levels is not None
    return sibling_path(low.levels, rank - lo) + sibling_path(high.levels, chunk), high


def user_holdings(data: UsersData, row: int, m: int) -> list[tuple[int, int, int]]:
    """``(asset index, equity, debt)`` of each holding of user ``row`` of a user file, in asset order."""
    assets = np.flatnonzero(held_assets(data.masks[row:row + 1], m)[0]).tolist()
    lo, hi = int(data.starts[row]), int(data.starts[row + 1])
    if hi - lo != len(assets):
        raise BundleError(f"user file row {row}: {len(assets)} assets held, {hi - lo} amounts")
    sums = amounts_to_sums(data.amounts[lo:hi]).tolist()
    return [(j, (e[0] << 64) | e[1], (d[0] << 64) | d[1]) for j, (e, d) in zip(assets, sums, strict=True)]


def find_user(b: Bundle, index: Mapping[str, Any], uk: bytes, m: int) -> list[tuple[int, int, int]] | None:
    """The holdings of the user whose key is ``uk`` (por-v3's private user files), or None when no user
    file holds it."""
    group = shape.bucket_of(uk, index["user_bits"])
    entry = next((e for e in index["user_files"] if isinstance(e, dict) and e.get("group") == group), None)
    if entry is None:
        return None
    name = layout.users_file(group)
    where = b.where(name)
    data = decode_users(b.read(name), where, m)
    match = np.flatnonzero((data.uks == np.frombuffer(uk, dtype=np.uint8)).all(axis=1))
    if len(match) == 0:
        return None
    return user_holdings(data, int(match[0]), m)
