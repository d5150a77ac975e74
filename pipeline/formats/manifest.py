"""The public documents of a bundle: the manifest and the top tree."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..protocol import v1
from .assets import Asset
from .nodes import node_json


def manifest_for(
    period: str,
    assets: Sequence[Asset],
    bucket_bits: int,
    bucket_height: int,
    root: dict[str, Any],
    files: Mapping[str, str],
) -> dict[str, Any]:
    """The public manifest: protocol, period, assets, shape, root and public file digests."""
    return {
        "version": v1.VERSION,
        "period": period,
        "hash": v1.HASH_NAME,
        "assets": [{"symbol": a.symbol, "decimals": a.decimals} for a in assets],
        "tree": {"bucket_bits": bucket_bits, "bucket_height": bucket_height, "height": bucket_bits + bucket_height},
        "root": root,
        "files": dict(files),
    }


def top_tree_json(period: str, bucket_bits: int, bucket_height: int,
                  levels: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Every node from the ``2^k`` bucket roots up to the root, level by level."""
    return {
        "version": v1.VERSION,
        "period": period,
        "bucket_bits": bucket_bits,
        "bucket_height": bucket_height,
        "levels": [[node_json(h.tobytes(), s) for h, s in zip(hashes, sums, strict=True)] for hashes, sums in levels],
    }
