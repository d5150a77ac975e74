"""Reading a JSON document strictly, exactly as the Node module and the page do (``web/verify.mjs``).

Standard library only; used for proofs and manifests (where an ambiguous document is an invalid
one) and for every archived document the tool reads back. Refused, with the check ``input`` (``Check.INPUT``):
a document over ``MAX_DOCUMENT_BYTES``; a byte-order mark; bytes that are not UTF-8; nesting deeper
than ``MAX_DEPTH``; duplicate keys in an object; any number with a fraction or an exponent (no
document of the protocol holds one); an integer of more than ``MAX_INTEGER_DIGITS`` digits (the
sign not counted); a string holding a lone surrogate; anything after the value. Integers are kept
exactly; the verifiers bound them where they are read. The limit does not depend on the interpreter
(Python's own 4,300-digit limit for ``int`` is configurable, Node has none): both readers refuse the
same documents (schemas/por-v2.md, "Reading documents"). por-v3 proofs and manifests are read by the
same rules, the proof first (schemas/por-v3.md section 8); por-v1 documents too.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError, VerificationError
from .checks import Check

MAX_DOCUMENT_BYTES = 16 << 20
MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 40
"""Digits of the longest integer a document may hold: 2^128 has 39; the protocol's integers fit in 16."""
BOM = b"\xef\xbb\xbf"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in an object: {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def _no_fraction(text: str) -> Any:
    raise ValueError(f"number {text} has a fraction or an exponent; only integers are allowed")


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {digits} digits, more than {MAX_INTEGER_DIGITS}")
    return int(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, strings skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


def parse_json(raw: bytes, what: str) -> Any:
    """A strictly read JSON document; ``VerificationError(Check.INPUT, …)`` names what is wrong."""
    def bad(reason: str) -> VerificationError:
        return VerificationError(Check.INPUT, f"{what}: not valid JSON ({reason})")

    if len(raw) > MAX_DOCUMENT_BYTES:
        raise bad(f"{len(raw)} bytes, more than {MAX_DOCUMENT_BYTES}")
    if raw.startswith(BOM):
        raise bad("starts with a byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(f"not UTF-8 at byte {exc.start}") from None
    if _depth(text) > MAX_DEPTH:
        raise bad(f"nested deeper than {MAX_DEPTH}")
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_float=_no_fraction, parse_int=_bounded_int,
                         parse_constant=_no_constant)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if _lone_surrogate(doc):
        raise bad("a string holds a lone surrogate")
    return doc


def load_json_file(path: str, what: str) -> Any:
    """Read a local JSON document. A file that cannot be read is an ``InputError`` ("cannot read"),
    distinct from a document that is read and found invalid (``VerificationError(Check.INPUT, …)``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read ({exc.strerror})") from None
    return parse_json(raw, f"{what} {path}")
