"""Reading a stored bundle back: its manifest, its top tree, and re-folding a stored bucket.

One place for what ``prove``, ``audit`` and ``export-proofs`` all do with ``private/``: fold a
bucket from its stored leaves and padding nodes (whole, or only the 2^c leaves under one
checkpoint node), and walk a path up the top tree.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..errors import BundleError, VerificationError
from ..formats import layout
from ..formats.bucket_file import BucketData
from ..formats.canonical import digest
from ..formats.nodes import nodes_from_json
from ..protocol import shape
from ..protocol.verify import check_manifest
from ..storage.bundle import Bundle
from ..tree.fold import Subtree, build_bucket, leaf_hashes, sibling_path
from ..tree.sums import sums_from_be_bytes


def load_manifest(b: Bundle) -> dict[str, Any]:
    """The bundle's manifest, structurally checked."""
    manifest = b.read_json(layout.MANIFEST)
    try:
        check_manifest(manifest)
    except VerificationError as exc:
        raise BundleError(f"{b.shown}/{layout.MANIFEST}: {exc}") from None
    return manifest


def load_top_tree(b: Bundle, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``top-tree.json``, after checking its digest against the manifest."""
    raw = b.read(layout.TOP_TREE)
    expected = manifest.get("files", {}).get(layout.TOP_TREE)
    got = digest(raw)
    if got != expected:
        raise BundleError(f"{b.shown}/{layout.TOP_TREE}: digest differs from the manifest's (blake3 {got}, manifest {expected})")
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
        raise BundleError(f"{b.shown}/{layout.PRIVATE_INDEX}: not this manifest's proof store: " + "; ".join(differ))
    return index


def top_path(levels: list[list[dict[str, Any]]], bucket: int) -> list[dict[str, Any]]:
    """The path entries above ``bucket``: its siblings in the top tree's levels, lowest first."""
    below = levels[:-1]
    return [{"hash": level[sib]["hash"], "sums": list(level[sib]["sums"])}
            for level, sib in zip(below, shape.sibling_indices(bucket, len(below)), strict=True)]


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


def fold_bucket(data: BucketData, bucket: int, height: int, m: int, where: str, keep_levels: bool = False
                ) -> tuple[Subtree, StoredPadding]:
    """Re-fold a whole stored bucket from its leaves, recording its checkpoint level (for audits);
    with ``keep_levels`` every level too (for exports)."""
    sums = sums_from_be_bytes(data.sums_be, m)
    padding = StoredPadding(data.meta, where)
    sub = build_bucket(leaf_hashes(data.uks, sums), sums, bucket, height, padding, keep_levels=keep_levels,
                       record_level=layout.checkpoint_level(height))
    return sub, padding


def bucket_path(data: BucketData, bucket: int, height: int, rank: int, m: int, where: str
                ) -> tuple[list[tuple[bytes, np.ndarray]], Subtree]:
    """The in-bucket part of a proof (levels ``0 … height-1``) and the bucket's subtree.

    With a stored checkpoint only the 2^c leaves around ``rank`` and the
    checkpoint nodes are folded; the caller checks the resulting bucket root
    against the top tree, so a corrupt checkpoint cannot yield a valid proof.
    """
    checkpoint = data.meta.get("checkpoint")
    if checkpoint is None:
        sub, _ = fold_bucket(data, bucket, height, m, where, keep_levels=True)
        assert sub.levels is not None
        return sibling_path(sub.levels, rank), sub
    padding = StoredPadding(data.meta, where)
    level = checkpoint["level"]
    chunk = rank >> level
    lo, hi = chunk << level, min(data.uks.shape[0], (chunk + 1) << level)
    sums = sums_from_be_bytes(data.sums_be[lo:hi], m)
    low = build_bucket(leaf_hashes(data.uks[lo:hi], sums), sums, shape.node_index(bucket, height, level, chunk),
                       level, padding, keep_levels=True)
    try:
        cp_hashes, cp_sums = nodes_from_json(checkpoint["nodes"], m)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{where}: malformed checkpoint ({exc})") from None
    if chunk >= len(cp_hashes) or cp_hashes[chunk].tobytes() != low.root_hash:
        raise BundleError(f"{where}: checkpoint node {chunk} differs from its leaves")
    high = build_bucket(cp_hashes, cp_sums, bucket, height, padding, keep_levels=True, base_level=level)
    assert low.levels is not None and high.levels is not None
    return sibling_path(low.levels, rank - lo) + sibling_path(high.levels, chunk), high
