"""What a user id may be: the same rule for the snapshot, ``por prove`` and the verifiers.

A user id is hashed as its UTF-8 bytes, so two spellings of one name would be two users, and an
invisible character would make an id that looks like another. An id is therefore 1 to
``MAX_USER_ID_BYTES`` bytes of UTF-8 in Unicode normalisation form NFC, with no control characters
(category Cc, NUL included) and no format characters (category Cf: zero-width spaces, joiners,
bidirectional marks, the byte-order mark). The Node module and the page (``web/verify.mjs``,
``userIdProblem``) apply the same rule, in the same order, so all three refuse the same ids.

Every verifier prints an id the same way (``display_user_id``; ``displayUserId`` in ``web/verify.mjs``;
schemas/por-v2.md, "User ids").
"""

from __future__ import annotations

import unicodedata

MAX_USER_ID_BYTES = 256
LATER_FORMAT_CHARACTERS = range(0x13439, 0x13440)
"""Format characters (Cf) since Unicode 15.0, unassigned in Python 3.11's Unicode 14.0 tables: refused
here too, so this verifier and Node's (whose tables are newer) refuse the same ids."""


def user_id_problem(user_id: str) -> str | None:
    """Why ``user_id`` is not a valid user id, or None when it is. The checks, in order: empty; a lone
    surrogate; more than ``MAX_USER_ID_BYTES`` bytes; the first NUL, Cc or Cf character; not NFC."""
    if user_id == "":
        return "empty user_id"
    try:
        size = len(user_id.encode("utf-8"))
    except UnicodeEncodeError:
        return "user_id is not valid Unicode (a lone surrogate)"
    if size > MAX_USER_ID_BYTES:
        return f"user_id is {size} bytes of UTF-8, more than {MAX_USER_ID_BYTES}"
    for ch in user_id:
        category = "Cf" if ord(ch) in LATER_FORMAT_CHARACTERS else unicodedata.category(ch)
        if ch == "\x00":
            return "user_id contains a NUL character"
        if category in ("Cc", "Cf"):
            kind = "a control" if category == "Cc" else "an invisible format"
            return f"user_id contains {kind} character U+{ord(ch):04X}"
    if unicodedata.normalize("NFC", user_id) != user_id:
        return "user_id is not in Unicode normalisation form NFC"
    return None


def display_user_id(user_id: str) -> str:
    """How every verifier prints an id: in single quotes; ``'`` and ``\\`` preceded by ``\\``; the other
    printable ASCII characters (U+0020 to U+007E) as themselves; every other code point as ``\\u{X}``, X
    its upper-case hexadecimal, at least 4 digits (``\\u{200B}``, ``\\u{00E9}``, ``\\u{1F600}``). So an
    invisible, bidirectional, combining or look-alike character is always visible, and the same id reads
    the same in Python, Node and the page. An id longer than ``MAX_USER_ID_BYTES`` code points (never a
    valid one) is shown by its first ``MAX_USER_ID_BYTES`` code points and ``...``."""
    out = []
    for ch in user_id[:MAX_USER_ID_BYTES]:
        if ch in "'\\":
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):04X}}}")
    return "'" + "".join(out) + "'" + ("..." if len(user_id) > MAX_USER_ID_BYTES else "")
