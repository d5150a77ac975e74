"""``por prove``: a user's inclusion proof, answered from ``private/`` without rebuilding the tree
(only the user's own bucket is re-folded from its stored leaves and padding nodes)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from . import bundle, protocol
from .errors import BundleError, InputError, VerificationError
from .tree import Subtree, build_bucket, leaf_hashes, sibling_path, sums_from_be_bytes
from .verify import check_manifest


def load_manifest(b: bundle.Bundle) -> dict[str, Any]:
    manifest = b.read_json(bundle.MANIFEST)
    try:
        check_manifest(manifest)
    except VerificationError as exc:
        raise BundleError(f"{b.shown}/{bundle.MANIFEST}: {exc}") from None
    return manifest


def load_top_tree(b: bundle.Bundle, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``top-tree.json``, after checking its digest against the manifest."""
    raw = b.read(bundle.TOP_TREE)
    expected = manifest.get("files", {}).get(bundle.TOP_TREE)
    if bundle.digest(raw) != expected:
        raise BundleError(f"{b.shown}/{bundle.TOP_TREE}: digest differs from the manifest's")
    return b.read_json(bundle.TOP_TREE)


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


def fold_bucket(data: bundle.BucketData, bucket: int, height: int, m: int, where: str) -> tuple[Subtree, StoredPadding]:
    """Re-fold a whole stored bucket from its leaves, recording its checkpoint level (for audits)."""
    sums = sums_from_be_bytes(data.sums_be, m)
    padding = StoredPadding(data.meta, where)
    sub = build_bucket(leaf_hashes(data.uks, sums), sums, bucket, height, padding,
                       record_level=bundle.checkpoint_level(height))
    return sub, padding


def bucket_path(data: bundle.BucketData, bucket: int, height: int, rank: int, m: int, where: str
                ) -> tuple[list[tuple[bytes, np.ndarray]], Subtree]:
    """The in-bucket part of a proof (levels ``0 … height-1``) and the bucket's subtree.

    With a stored checkpoint only the 2^c leaves around ``rank`` and the
    checkpoint nodes are folded; the caller checks the resulting bucket root
    against the top tree, so a corrupt checkpoint cannot yield a valid proof.
    """
    padding = StoredPadding(data.meta, where)
    checkpoint = data.meta.get("checkpoint")
    if checkpoint is None:
        sums = sums_from_be_bytes(data.sums_be, m)
        sub = build_bucket(leaf_hashes(data.uks, sums), sums, bucket, height, padding, keep_levels=True)
        assert sub.levels is not None
        return sibling_path(sub.levels, rank), sub
    level = checkpoint["level"]
    chunk = rank >> level
    lo, hi = chunk << level, min(data.uks.shape[0], (chunk + 1) << level)
    sums = sums_from_be_bytes(data.sums_be[lo:hi], m)
    low = build_bucket(leaf_hashes(data.uks[lo:hi], sums), sums, (bucket << (height - level)) + chunk,
                       level, padding, keep_levels=True)
    try:
        cp_hashes, cp_sums = bundle.nodes_from_json(checkpoint["nodes"], m)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{where}: malformed checkpoint ({exc})") from None
    if chunk >= len(cp_hashes) or cp_hashes[chunk].tobytes() != low.root_hash:
        raise BundleError(f"{where}: checkpoint node {chunk} differs from its leaves")
    high = build_bucket(cp_hashes, cp_sums, bucket, height, padding, keep_levels=True, base_level=level)
    assert low.levels is not None and high.levels is not None
    return sibling_path(low.levels, rank - lo) + sibling_path(high.levels, chunk), high


def node_from_json(node: Mapping[str, Any]) -> dict[str, Any]:
    return {"hash": node["hash"], "sums": list(node["sums"])}


def make_proof(b: bundle.Bundle, user_id: str, secret: protocol.SecretKey) -> dict[str, Any]:
    """The por-v1 inclusion proof of ``user_id`` in bundle ``b``."""
    if user_id == "" or "\x00" in user_id:
        raise InputError("--user must be non-empty and contain no NUL")
    manifest = load_manifest(b)
    period = manifest["period"]
    k = manifest["tree"]["bucket_bits"]
    h = manifest["tree"]["bucket_height"]
    symbols = [a["symbol"] for a in manifest["assets"]]
    k_nonce, _ = protocol.period_keys(secret, period)
    nonce = protocol.user_nonce(k_nonce, user_id)
    uk = protocol.user_key(nonce, period, user_id)
    bucket = protocol.bucket_of(uk, k)
    name = bundle.bucket_file(bucket)
    not_found = InputError(
        f"user {user_id!r} is not in the bundle for {period} (or the secret file is not this bundle's)"
    )
    if not b.fs.exists(b.file(name)):
        raise not_found
    where = f"{b.shown}/{name}"
    data = bundle.decode_bucket(b.read(name), where)
    match = np.flatnonzero((data.uks == np.frombuffer(uk, dtype=np.uint8)).all(axis=1))
    if len(match) == 0:
        raise not_found
    rank = int(match[0])
    lower_path, sub = bucket_path(data, bucket, h, rank, len(symbols), where)
    top = load_top_tree(b, manifest)
    top_levels = top["levels"]
    bucket_root = top_levels[0][bucket]
    if bucket_root != bundle.node_json(sub.root_hash, sub.root_sums):
        raise BundleError(f"{where}: bucket {bucket} folds to a root that differs from {bundle.TOP_TREE}")
    path = [bundle.node_json(hx, sx) for hx, sx in lower_path]
    index = bucket
    for level_nodes in top_levels[:-1]:
        path.append(node_from_json(level_nodes[index ^ 1]))
        index >>= 1
    balances = bundle.node_json(b"", sums_from_be_bytes(data.sums_be[rank : rank + 1], len(symbols))[0])["sums"]
    return {
        "version": protocol.VERSION,
        "period": period,
        "assets": symbols,
        "user_id": user_id,
        "nonce": nonce.hex(),
        "balances": balances,
        "position": (bucket << h) + rank,
        "path": path,
        "root": node_from_json(manifest["root"]),
    }
