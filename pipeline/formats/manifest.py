"""The public documents of a bundle: the manifest and the top tree."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..protocol import v1, v2
from .assets import Asset
from .nodes import node_json

PROTOCOLS = (v1.VERSION, v2.VERSION)
DEFAULT_PROTOCOL = v2.VERSION


def manifest_for(
    period: str,
    assets: Sequence[Asset],
    bucket_bits: int,
    bucket_height: int,
    root: dict[str, Any],
    files: Mapping[str, str],
    version: str = DEFAULT_PROTOCOL,
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
    (recomputed from the manifest's fields and ``root``, the manifest's own root by default), or the
    root hash of a por-v1 month (which has no announced value of its own)."""
    root = root if root is not None else manifest["root"]
    if manifest.get("version") != v2.VERSION:
        return str(root["hash"])
    return v2.commitment(
        manifest["period"], [(a["symbol"], a["decimals"]) for a in manifest["assets"]],
        manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"],
        bytes.fromhex(root["hash"]), [int(s) for s in root["sums"]]).hex()


def announced_name(manifest: Mapping[str, Any]) -> str:
    """What that value is called: ``announced value`` (por-v2) or ``root hash`` (por-v1)."""
    return "announced value" if manifest.get("version") == v2.VERSION else "root hash"


def top_tree_json(period: str, bucket_bits: int, bucket_height: int,
                  levels: list[tuple[np.ndarray, np.ndarray]], version: str = DEFAULT_PROTOCOL) -> dict[str, Any]:
    """Every node from the ``2^k`` bucket roots up to the root, level by level."""
    return {
        "version": version,
        "period": period,
        "bucket_bits": bucket_bits,
        "bucket_height": bucket_height,
        "levels": [[node_json(h.tobytes(), s) for h, s in zip(hashes, sums, strict=True)] for hashes, sums in levels],
    }
