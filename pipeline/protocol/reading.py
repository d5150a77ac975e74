"""The field rules every version's verifier reads a document with (``verify`` for por-v1/v2,
``verify_v3`` for por-v3), defined once. Standard library only."""

from __future__ import annotations

import re

from ..errors import VerificationError
from .checks import Check
from .userid import display_user_id, user_id_problem

_HEX32_RE = re.compile(r"[0-9a-f]{64}")

MAX_SAFE_INTEGER = (1 << 53) - 1
"""Integer fields are bounded as JavaScript's exact integers, so every verifier reads the same values."""


def root_option_problem(value: str) -> str | None:
    """Why a ``--root`` value given on a command line is malformed (a usage error, exit 2), or None. Every
    command line that takes the announced value (or a por-v1 root hash) applies this rule."""
    if _HEX32_RE.fullmatch(value):
        return None
    return (f"--root takes the announced value (a por-v1 month: the root hash), 64 lowercase hexadecimal "
            f"characters, not {display_user_id(value)} ({len(value)} characters)")


def hex32(value: object, check: Check, what: str, level: int | None = None) -> bytes:
    """32 bytes written as 64 lowercase hex characters."""
    if not isinstance(value, str) or not _HEX32_RE.fullmatch(value):
        raise VerificationError(check, f"{what} must be 64 lowercase hex characters", level)
    return bytes.fromhex(value)


def unique_and_sorted(symbols: list[str], check: Check, what: str) -> None:
    """Assets are listed once each, ascending by their UTF-8 bytes (a lone surrogate compares, never crashes)."""
    if symbols != sorted(symbols, key=lambda x: x.encode("utf-8", "surrogatepass")) or len(set(symbols)) != len(symbols):
        raise VerificationError(check, f"{what} assets are not unique and sorted by symbol")


def check_user(user_id: str, expected: str | None) -> None:
    """The proof is for the account the user states (two users with equal balances never share a leaf,
    but a verifier that does not look at the id could be shown another user's proof)."""
    if expected is None:
        return
    problem = user_id_problem(expected)
    if problem is not None:
        raise VerificationError(Check.USER_ID, f"the account id given, {display_user_id(expected)}, is not a user id: "
                                f"{problem}", expected=expected, got=user_id)
    if user_id != expected:
        raise VerificationError(Check.USER_ID, f"the proof is for user {display_user_id(user_id)}, not for "
                                f"{display_user_id(expected)}", expected=expected, got=user_id)
