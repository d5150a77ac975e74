"""What a user id may be: the same rule for the snapshot, ``por prove`` and the verifiers.

A user id is hashed as its UTF-8 bytes, so two spellings of one name would be two users, and an
invisible character would make an id that looks like another. An id is therefore 1 to
``MAX_USER_ID_BYTES`` bytes of UTF-8 in Unicode normalisation form NFC, with no control characters
(category Cc, NUL included) and no format characters (category Cf: zero-width spaces, joiners,
bidirectional marks, the byte-order mark).
"""

from __future__ import annotations

import unicodedata

MAX_USER_ID_BYTES = 256


def user_id_problem(user_id: str) -> str | None:
    """Why ``user_id`` is not a valid user id, or None when it is."""
    if user_id == "":
        return "empty user_id"
    try:
        size = len(user_id.encode("utf-8"))
    except UnicodeEncodeError:
        return "user_id is not valid Unicode (a lone surrogate)"
    if size > MAX_USER_ID_BYTES:
        return f"user_id is {size} bytes of UTF-8, more than {MAX_USER_ID_BYTES}"
    for ch in user_id:
        category = unicodedata.category(ch)
        if ch == "\x00":
            return "user_id contains a NUL character"
        if category in ("Cc", "Cf"):
            kind = "a control" if category == "Cc" else "an invisible format"
            return f"user_id contains {kind} character U+{ord(ch):04X}"
    if unicodedata.normalize("NFC", user_id) != user_id:
        return "user_id is not in Unicode normalisation form NFC"
    return None
