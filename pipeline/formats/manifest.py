"""The public documents of a bundle: the manifest and the top tree (por-v1/v2: one tree; por-v3:
one per asset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..protocol import v1, v2, v3, versions
from .assets import Asset
from .nodes import node_json, pairs_json

PROTOCOLS = versions.VERSIONS
DEFAULT_PROTOCOL = versions.DEFAULT


def manifest_for(
    period: str,
    assets: Sequence[Asset],
    bucket_bits: int,
    bucket_height: int,
    root: dict[str, Any],
    files: Mapping[str, str],
    version: str = v2.VERSION,
) -> dict[str, Any]:
    """The public manifest: protocol, period, assets, shape, root, (por-v2) the announced value, and
    the public file digests."""
    manifest = {
        "version": version,
        "period": period,
        "hash": v1.HASH_NAME,
        "assets": [{"symbol": a.symbol, "decimals": a.decimals} for a in assets],
        "tree": {"bucket_bits": bucket_bits, "bucket_height": bucket_height, "height": bucket_bits + bucket_height},
        "root": root,
        "files": dict(files),
    }
    if version == v2.VERSION:
        manifest["commitment"] = v2.commitment(
            period, [(a.symbol, a.decimals) for a in assets], bucket_bits, bucket_height,
            bytes.fromhex(root["hash"]), [int(s) for s in root["sums"]]).hex()
    return manifest


def announced_value(manifest: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> str:
    """The one value users and auditors compare with what the exchange announced: por-v2's ``C``
    (recomputed from the manifest's fields and ``root``, the manifest's own root by default), por-v3's
    ``C`` (recomputed from the manifest's fields: its trees' roots), or the root hash of a por-v1 month
    (which has no announced value of its own)."""
    if manifest.get("version") == v3.VERSION:
        from ..protocol.verify import manifest_commitment

        return manifest_commitment(manifest).hex()
    root = root if root is not None else manifest["root"]
    if manifest.get("version") != v2.VERSION:
        return str(root["hash"])
    return v2.commitment(
        manifest["period"], [(a["symbol"], a["decimals"]) for a in manifest["assets"]],
        manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"],
        bytes.fromhex(root["hash"]), [int(s) for s in root["sums"]]).hex()


def announced_name(manifest: Mapping[str, Any]) -> str:
    """What that value is called: ``announced value`` (por-v2) or ``root hash`` (por-v1)."""
    return "announced value" if versions.has_commitment(manifest.get("version")) else "root hash"


def top_tree_json(period: str, bucket_bits: int, bucket_height: int,
                  levels: list[tuple[np.ndarray, np.ndarray]], version: str = v2.VERSION) -> dict[str, Any]:
    """Every node from the ``2^k`` bucket roots up to the root, level by level."""
    return {
        "version": version,
        "period": period,
        "bucket_bits": bucket_bits,
        "bucket_height": bucket_height,
        "levels": [[node_json(h.tobytes(), s) for h, s in zip(hashes, sums, strict=True)] for hashes, sums in levels],
    }


@dataclass(frozen=True)
class AssetTree:
    """One asset's tree of a por-v3 bundle: shape and every level from the bucket roots to the root
    (hashes (n, 32) and sums (n, 2, 2): equity, debt)."""

    symbol: str
    bucket_bits: int
    bucket_height: int
    levels: list[tuple[np.ndarray, np.ndarray]]

    def root(self) -> v3.TreeRoot:
        hashes, sums = self.levels[-1]
        (equity, debt), = [[(int(a) << 64) | int(b) for a, b in row] for row in sums.tolist()]
        return v3.TreeRoot(self.bucket_bits, self.bucket_height, hashes[0].tobytes(), equity, debt)

    def root_json(self) -> dict[str, Any]:
        hashes, sums = self.levels[-1]
        return pairs_json(hashes, sums)[0]


def manifest_v3(period: str, assets: Sequence[Asset], parameters: v3.Parameters, trees: Sequence[AssetTree],
                files: Mapping[str, str]) -> dict[str, Any]:
    """por-v3's manifest (schemas/por-v3.md section 7) with its announced value ``C``."""
    pairs = [(a.symbol, a.decimals) for a in assets]
    c = v3.commitment(period, parameters, pairs, [t.root() for t in trees])
    return {
        "version": v3.VERSION,
        "period": period,
        "hash": v1.HASH_NAME,
        "assets": [{"symbol": a.symbol, "decimals": a.decimals} for a in assets],
        "parameters": parameters.as_json(),
        "trees": [{"asset": t.symbol, "bucket_bits": t.bucket_bits, "bucket_height": t.bucket_height,
                   "height": t.bucket_bits + t.bucket_height, "root": t.root_json()} for t in trees],
        "files": dict(files),
        "commitment": c.hex(),
    }


def top_tree_v3(period: str, trees: Sequence[AssetTree]) -> dict[str, Any]:
    """por-v3's ``top-tree.json``: per asset, every node from the ``2^k_j`` bucket roots to the root."""
    return {
        "version": v3.VERSION,
        "period": period,
        "trees": [{"asset": t.symbol, "bucket_bits": t.bucket_bits, "bucket_height": t.bucket_height,
                   "levels": [pairs_json(hashes, sums) for hashes, sums in t.levels]} for t in trees],
    }
