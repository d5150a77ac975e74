"""Reading a JSON document strictly: objects with unique keys, nothing ambiguous.

Standard library only; used for proofs and manifests (where an ambiguous document is an
invalid one) and for every archived document the tool reads back.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError, VerificationError


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in an object: {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def parse_json(raw: bytes, what: str) -> Any:
    """A JSON document whose objects have unique keys; ``VerificationError('input', …)`` otherwise."""
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise VerificationError("input", f"{what}: not valid JSON ({exc})") from None


def load_json_file(path: str, what: str) -> Any:
    """Read a local JSON document. A file that cannot be read is an ``InputError`` ("cannot read"),
    distinct from a document that is read and found invalid (``VerificationError('input', …)``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read ({exc.strerror})") from None
    return parse_json(raw, f"{what} {path}")
