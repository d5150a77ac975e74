"""The text every reserve key signs for a period: format ``por-reserves-challenge-v1``
(``schemas/reserves-challenge-v1.md``).

    Proof of reserves por-reserves-challenge-v1: <exchange> controls this address for period <YYYY-MM>. Previous manifest: <digest>.

``<digest>`` is the blake3 (64 lowercase hex digits) of the previous month's published
``manifest.json`` (the archive's chain head), or ``none`` for an archive's first month. The text
names the exchange and the period, and cannot be written before the previous publication exists:
a signature over it cannot be lent to another exchange, reused in another month, or made in advance.
"""

from __future__ import annotations

import re

from ..errors import InputError
from ..protocol.period import is_valid_period

FORMAT = "por-reserves-challenge-v1"
_EXCHANGE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .&_-]{0,62}[A-Za-z0-9.])?")
_DIGEST = re.compile(r"[0-9a-f]{64}")
NONE = "none"


def challenge_text(exchange: str, period: str, previous_manifest: str | None) -> str:
    """The challenge for ``exchange`` and ``period`` after the publication whose manifest digest is
    ``previous_manifest`` (None: the archive's first month)."""
    if not _EXCHANGE.fullmatch(exchange) or "  " in exchange:
        raise InputError("must be 1 to 64 characters: ASCII letters, digits, single spaces and . & _ -, "
                         "starting with a letter or digit", parameter="exchange", value=repr(exchange))
    if not is_valid_period(period):
        raise InputError("is not YYYY-MM", parameter="period", value=repr(period))
    if previous_manifest is not None and not _DIGEST.fullmatch(previous_manifest):
        raise InputError(f"previous manifest digest {previous_manifest!r} is not 64 lowercase hex digits")
    head = previous_manifest if previous_manifest is not None else NONE
    return (f"Proof of reserves {FORMAT}: {exchange} controls this address for period {period}. "
            f"Previous manifest: {head}.")
