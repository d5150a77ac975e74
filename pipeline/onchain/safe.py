"""Contract wallets that are bound only when the chain says who owns them: the calls, the strict
ABI readings of the answers, and the rule. Pure: no network (``pipeline.reserves.ownership`` sends
the calls through the balance checks' JSON-RPC client).

A row whose address is a contract wallet names its owners and carries one signature per owner. The
owners' word is not enough: any address, another exchange's cold wallet included, can be listed with
keys the exchange holds. The row is bound only when, at the chain's snapshot height, the address
holds code, its Safe-compatible ``getOwners()`` (selector ``0xa0e67e2b``, ``address[]``) lists every
signer, and its ``getThreshold()`` (``0xe75235b8``, ``uint256``) is at least 1 and met by the
distinct signers whose signatures verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

GET_OWNERS = bytes.fromhex("a0e67e2b")
GET_THRESHOLD = bytes.fromhex("e75235b8")
MAX_OWNERS = 1_000
"""More owners than this in a ``getOwners()`` answer is not read (a Safe has a handful)."""
_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")

Call = tuple[str, list[Any]]


class NotConfirmed(Exception):
    """Why the chain did not confirm the owners (the row stays unbound; the message says what)."""


def calls(address: bytes, height: int) -> list[Call]:
    """``eth_getCode``, ``getOwners()`` and ``getThreshold()`` at the block ``height``."""
    tag = hex(height)
    to = "0x" + address.hex()
    return [("eth_getCode", [to, tag]),
            ("eth_call", [{"to": to, "data": "0x" + GET_OWNERS.hex()}, tag]),
            ("eth_call", [{"to": to, "data": "0x" + GET_THRESHOLD.hex()}, tag])]


def _bytes(answer: Any, what: str) -> bytes:
    if not isinstance(answer, str) or not _DATA.fullmatch(answer):
        raise NotConfirmed(f"{what} answered {str(answer)[:80]!r}, not hex data")
    return bytes.fromhex(answer[2:])


def has_code(answer: Any) -> bool:
    return len(_bytes(answer, "eth_getCode")) > 0


def decode_owners(answer: Any) -> list[bytes]:
    """An ABI-encoded ``address[]`` return value, read strictly: offset 32, a length, exactly that
    many words, each a 20-byte address with 12 zero bytes before it, nothing after."""
    data = _bytes(answer, "getOwners()")
    if len(data) < 64 or len(data) % 32:
        raise NotConfirmed(f"getOwners() returned {len(data)} bytes, not an ABI address[]")
    if int.from_bytes(data[:32], "big") != 32:
        raise NotConfirmed("getOwners() returned an address[] whose offset is not 32")
    count = int.from_bytes(data[32:64], "big")
    if count > MAX_OWNERS or len(data) != 64 + 32 * count:
        raise NotConfirmed(f"getOwners() returned a length of {count} for {(len(data) - 64) // 32} words")
    owners = []
    for i in range(count):
        word = data[64 + 32 * i:96 + 32 * i]
        if any(word[:12]):
            raise NotConfirmed(f"getOwners() entry {i} is not an address (0x{word.hex()})")
        owners.append(word[12:])
    return owners


def decode_threshold(answer: Any) -> int:
    data = _bytes(answer, "getThreshold()")
    if len(data) != 32:
        raise NotConfirmed(f"getThreshold() returned {len(data)} bytes, not one uint256")
    return int.from_bytes(data, "big")


@dataclass(frozen=True)
class Confirmed:
    signers: int
    threshold: int
    owners: int


def confirm(signers: Sequence[bytes], owners: Sequence[bytes], threshold: int) -> Confirmed:
    """The rule: every signer is an owner on chain, and the distinct signers meet a threshold of at
    least 1 (a threshold above the owner count can never be met). ``NotConfirmed`` says which part fails."""
    on_chain = set(owners)
    distinct = list(dict.fromkeys(signers))
    for s in distinct:
        if s not in on_chain:
            raise NotConfirmed(f"signer 0x{s.hex()} is not an owner of the contract (getOwners() lists "
                               f"{len(on_chain)} other address(es))")
    if threshold < 1:
        raise NotConfirmed(f"getThreshold() is {threshold}: no threshold to meet")
    if threshold > len(on_chain):
        raise NotConfirmed(f"getThreshold() is {threshold} for {len(on_chain)} owner(s): it can never be met")
    if len(distinct) < threshold:
        raise NotConfirmed(f"{len(distinct)} distinct owner signature(s), the contract's threshold is {threshold}")
    return Confirmed(len(distinct), threshold, len(on_chain))
