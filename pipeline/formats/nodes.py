"""Tree nodes as JSON: ``{"hash": hex, "sums": [decimal strings]}`` (por-v1/v2), ``{"hash", "equity", "debt"}`` (por-v3)."""

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


def pair_json(hash_: bytes, sums: np.ndarray) -> dict[str, Any]:
    """One por-v3 node ``{"hash", "equity", "debt"}`` from its ``(2, 2)`` sums (equity, debt)."""
    equity, debt = ints_from_sums(sums[None])[0]
    return {"hash": hash_.hex(), "equity": str(equity), "debt": str(debt)}


def pairs_json(hashes: np.ndarray, sums: np.ndarray) -> list[dict[str, Any]]:
    """por-v3 nodes: ``(n, 32)`` hashes and ``(n, 2, 2)`` sums."""
    return [{"hash": h.tobytes().hex(), "equity": str(e), "debt": str(d)}
            for h, (e, d) in zip(hashes, ints_from_sums(sums), strict=True)]


def pairs_from_json(nodes: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of ``pairs_json``; raises ``ValueError``/``KeyError``/``TypeError`` on malformed input."""
    hashes = np.frombuffer(b"".join(_hash32(nd["hash"]) for nd in nodes), np.uint8).reshape(-1, 32)
    return hashes, sums_from_ints([[int(nd["equity"]), int(nd["debt"])] for nd in nodes], 2)


def _hash32(text: str) -> bytes:
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError(f"a node hash is 32 bytes, got {len(raw)}")
    return raw
