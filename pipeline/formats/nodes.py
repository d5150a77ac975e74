"""Tree nodes as JSON: ``{"hash": hex, "sums": [decimal strings]}``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tree.sums import ints_from_sums, sums_from_ints


def node_json(hash_: bytes, sums: np.ndarray) -> dict[str, Any]:
    """One node with ``(m, 2)`` sums."""
    return {"hash": hash_.hex(), "sums": [str(v) for v in ints_from_sums(sums[None])[0]]}


def nodes_json(hashes: np.ndarray, sums: np.ndarray) -> list[dict[str, Any]]:
    """``(n, 32)`` hashes and ``(n, m, 2)`` sums."""
    return [{"hash": h.tobytes().hex(), "sums": [str(v) for v in row]}
            for h, row in zip(hashes, ints_from_sums(sums), strict=True)]


def nodes_from_json(nodes: list[dict[str, Any]], m: int) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of ``nodes_json``; raises ``ValueError``/``KeyError`` on malformed input."""
    hashes = np.frombuffer(b"".join(bytes.fromhex(nd["hash"]) for nd in nodes), np.uint8).reshape(-1, 32)
    return hashes, sums_from_ints([[int(v) for v in nd["sums"]] for nd in nodes], m)
