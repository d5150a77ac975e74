"""What every chain family's rules share: the row a proof arrives in, the one-signature rule, the
plain-spelling rule, and the two ways a proof does not stand (``Refused``: ``invalid``;
``Unsupported``: ``unsupported``). Pure; the families' modules (``bitcoin``, ``evm``, ``ed25519``)
import it, ``check`` and ``family`` build on them.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from .chains import Refused

OWNERS_NOT_CHECKED = "owners not confirmed on chain"
"""The note of a contract-wallet row whose owners' signatures verify: on their word alone the row is
at most ``unbound``; ``pipeline.reserves.ownership`` makes it ``bound`` only when the chain's node
confirms the owners and the threshold (``pipeline.onchain.safe``)."""


class Unsupported(Exception):
    """A chain, an address type or a proof this tool cannot check; the message is the row's reason."""


@dataclass(frozen=True)
class ProofRow:
    chain: str
    address: str
    signatures: tuple[str, ...] = ()
    message: str | None = None
    script: str | None = None
    """The redeem/witness script (Bitcoin multisig) or the public key (Ed25519 chains), hex."""
    owners: tuple[str, ...] = ()
    """Owner addresses of a contract wallet (EVM chains), one signature each, in order."""


def spelling(text: str | None, what: str) -> str | None:
    """Why ``text`` is not a plain spelling (None when it is): a null (a file's missing value) is not."""
    if text and text.isascii() and text.isprintable() and " " not in text:
        return None  # the common case, without a loop per character
    if text is None:
        return f"{what} is null"
    if text != text.strip():
        return f"{what} {text!r} has surrounding spaces"
    for ch in text:
        if not ch.isascii() or not ch.isprintable() or ch.isspace():
            name = unicodedata.name(ch, "unnamed")
            return f"{what} {text!r} contains U+{ord(ch):04X} ({name}); only printable ASCII is accepted"
    return None if text else f"{what} is empty"


def one_signature(row: ProofRow) -> str:
    """The row's one signature (a single-key address), or ``Refused``."""
    if len(row.signatures) != 1:
        raise Refused(f"a single-key address takes one signature, not {len(row.signatures)}")
    return row.signatures[0]


OKX_HEADER = b"OKX Signed Message:\n"
"""The header a major exchange's published reserve files frame their fixed sentence with, on the
chains without a message-signing convention of their own in its verifier (okx/proof-of-reserves,
``HashEd25519Msg``/``HashEcdsaMsg``): read, by the families that name it, as one more way a key
signs a text (a fixed sentence so signed is ``unbound``, this period's challenge so signed ``bound``)."""


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


@functools.lru_cache(maxsize=64)
def okx_framed(message: str) -> bytes:
    """``varint(len(header)) ‖ header ‖ varint(len(message)) ‖ message`` (Bitcoin's var_str twice)."""
    data = message.encode("utf-8")
    return _varint(len(OKX_HEADER)) + OKX_HEADER + _varint(len(data)) + data
