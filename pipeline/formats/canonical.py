"""Canonical JSON (RFC 8785, through ``rfc8785``), the digest of a document's bytes, and the one rule
for reading the exchange's own JSON inputs: a key given twice is an error, never "the last one wins"."""

from __future__ import annotations

from typing import Any, Callable

import rfc8785
from blake3 import blake3


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 canonical JSON bytes (what digests and signatures cover)."""
    return rfc8785.dumps(obj)


def digest(data: bytes) -> str:
    """blake3 of ``data``, 64 lowercase hex characters."""
    return blake3(data).hexdigest()


def unique_keys(duplicate: Callable[[str], Exception]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A ``json.loads`` ``object_pairs_hook`` that raises ``duplicate(key)`` for a key given twice in
    one object (input files: asset decimals, heights, prices)."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise duplicate(key)
            out[key] = value
        return out
    return pairs
