"""Canonical JSON (RFC 8785, through ``rfc8785``) and the digest of a document's bytes."""

from __future__ import annotations

from typing import Any

import rfc8785
from blake3 import blake3


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 canonical JSON bytes (what digests and signatures cover)."""
    return rfc8785.dumps(obj)


def digest(data: bytes) -> str:
    """blake3 of ``data``, 64 lowercase hex characters."""
    return blake3(data).hexdigest()
