"""EVM balance reads at a block height, as JSON-RPC calls, and strict readings of the answers.

The native coin is ``eth_getBalance(address, block)``; a token is ``eth_call`` of the ERC-20
``balanceOf(address)`` (selector ``0x70a08231``) on its contract at the same block. Every answer
is a hex quantity; anything else is refused with the raw answer in the reason. A node that no
longer holds the state of an old block (a full node prunes it after about 128 blocks) answers
with an error whose wording depends on the client; those wordings are recognised and explained:
the check needs an archive node.
"""

from __future__ import annotations

import re
from typing import Any

from .compare import NotChecked

BALANCE_OF = bytes.fromhex("70a08231")
DECIMALS = bytes.fromhex("313ce567")
_HEX = re.compile(r"0x[0-9a-fA-F]{1,64}")
_WORD = re.compile(r"0x[0-9a-fA-F]{64}")
PRUNED_WORDINGS = (
    "missing trie node",  # geth, bor
    "historical state",  # geth: "historical state ... is not available"
    "state not available",
    "state is not available",
    "pruned",  # erigon, reth, nethermind
    "header not found",  # geth for a block it dropped
    "blockoutofrange",  # anvil --prune-history
    "state histories haven't been fully indexed",
)

Call = tuple[str, list[Any]]


def block_tag(height: int) -> str:
    return hex(height)


def get_balance(address: bytes, height: int) -> Call:
    return "eth_getBalance", ["0x" + address.hex(), block_tag(height)]


def _call(contract: bytes, data: bytes, height: int) -> Call:
    return "eth_call", [{"to": "0x" + contract.hex(), "data": "0x" + data.hex()}, block_tag(height)]


def balance_of(contract: bytes, holder: bytes, height: int) -> Call:
    return _call(contract, BALANCE_OF + bytes(12) + holder, height)


def decimals_of(contract: bytes, height: int) -> Call:
    return _call(contract, DECIMALS, height)


def quantity(answer: Any) -> int:
    """An ``eth_getBalance``/``eth_blockNumber`` answer: a hex quantity of at most 256 bits."""
    if not isinstance(answer, str) or not _HEX.fullmatch(answer):
        raise NotChecked(f"the node answered {answer!r}, not a hex quantity")
    return int(answer, 16)


def word(answer: Any, contract: bytes, height: int) -> int:
    """An ``eth_call`` answer of one 32-byte word (``balanceOf``, ``decimals``)."""
    if answer == "0x":
        raise NotChecked(f"no contract answers at 0x{contract.hex()} at block {height} (empty return data): "
                         "wrong contract address, or not deployed yet at that height")
    if not isinstance(answer, str) or not _WORD.fullmatch(answer):
        raise NotChecked(f"the contract 0x{contract.hex()} answered {str(answer)[:80]!r}, not one 32-byte word")
    return int(answer, 16)


def explain(error: Any, height: int) -> str:
    """The reason for a JSON-RPC error object, saying when the node has pruned the block's state."""
    if isinstance(error, dict):
        code, message = error.get("code"), str(error.get("message", ""))
    else:
        code, message = None, str(error)
    said = f"the node answered error {code}: {message[:200]}" if code is not None else f"the node answered: {message[:200]}"
    if any(w in message.lower() for w in PRUNED_WORDINGS):
        return (f"{said}. The node no longer holds the state at block {height} (pruned): "
                "the check needs an archive node (or one that keeps the history back to that block)")
    return said
