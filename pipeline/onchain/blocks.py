"""Which chain a node is on, and the snapshot block it reports: the calls and strict readings.

Every reserve row of a chain is read at that chain's one declared snapshot height. Before any
balance is read, the node must prove it is on the row's chain (EVM: ``eth_chainId`` is the chain's
EIP-155 id; Bitcoin family: ``getblockhash 0`` is the chain's genesis block, and the blocks that
tell Bitcoin from Bitcoin Cash and its later splits are the chain's own), and the block at the
snapshot height gives its hash and timestamp. The timestamp must fall within ``WINDOW_HOURS``
before the period's end (the snapshot time): a month's reserves are read at blocks of its last
hours, never at an older block where the coins were still at another address.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from ..ownership.chains import Chain
from ..protocol.period import snapshot_time
from .compare import NotChecked
from .sampling import Header

WINDOW_HOURS = 6
"""A snapshot block's timestamp must be at or before the period's end and no more than this many
hours before it (``schemas/reserves.md``). The one place this number lives."""

_HASH = re.compile(r"[0-9a-f]{64}")
_EVM_HASH = re.compile(r"0x[0-9a-f]{64}")
_QUANTITY = re.compile(r"0x[0-9a-f]{1,64}")

Call = tuple[str, list[Any]]


@dataclass(frozen=True)
class Block:
    """The snapshot block of one chain as its node reports it."""

    chain: str
    height: int
    hash: str
    """hex, without 0x (Bitcoin family) or with it (EVM), as the node's own RPC writes it."""
    timestamp: int
    """seconds since 1970-01-01 UTC (the block header's time)."""
    chain_id: str
    """EVM: the decimal EIP-155 chain id; Bitcoin family: the genesis block hash."""


def period_end(period: str) -> int:
    """The period's snapshot time (``protocol.period.snapshot_time``: the first second of the next
    month, UTC) in Unix seconds."""
    return int(snapshot_time(period).timestamp())


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def outside_window(block: Block, period: str) -> str | None:
    """Why the block cannot be the period's snapshot (both times named), or None when it can."""
    end = period_end(period)
    start = end - WINDOW_HOURS * 3600
    if start <= block.timestamp <= end:
        return None
    when = "after" if block.timestamp > end else "more than %d hours before" % WINDOW_HOURS
    return (f"the {block.chain} block at height {block.height} has timestamp {iso(block.timestamp)}, {when} the "
            f"period {period}'s snapshot time {iso(end)}: a snapshot block must be at or before that time and no "
            f"more than {WINDOW_HOURS} hours before it (from {iso(start)})")


# ---------------------------------------------------------------- EVM

def evm_calls(height: int) -> list[Call]:
    """``eth_chainId``, ``eth_blockNumber``, then the block at ``height`` (without transactions)."""
    return [("eth_chainId", []), ("eth_blockNumber", []), ("eth_getBlockByNumber", [hex(height), False])]


def _quantity(answer: Any, what: str) -> int:
    if not isinstance(answer, str) or not _QUANTITY.fullmatch(answer.lower()):
        raise NotChecked(f"the node answered {str(answer)[:80]!r} to {what}, not a hex quantity")
    return int(answer, 16)


def evm_chain(chain: Chain, answer: Any) -> str:
    """The node's chain id as a decimal string; ``NotChecked`` naming the chain when it is another."""
    got = _quantity(answer, "eth_chainId")
    if got != chain.chain_id:
        raise NotChecked(f"the node given for {chain.name} is on chain id {got}, not {chain.name}'s {chain.chain_id}: "
                         f"wrong node (another network or a test chain); nothing of {chain.name} was read from it")
    return str(got)


def evm_block(chain: Chain, height: int, head_answer: Any, block_answer: Any, chain_id: str) -> Block:
    head = _quantity(head_answer, "eth_blockNumber")
    if height > head:
        raise NotChecked(f"block {height} is beyond the node's head ({head}): the node is behind, or the "
                         "snapshot height is wrong")
    if not isinstance(block_answer, dict):
        raise NotChecked(f"the node has no block {height} ({str(block_answer)[:80]!r})")
    number = _quantity(block_answer.get("number"), "the block's number")
    block_hash = block_answer.get("hash")
    if number != height or not isinstance(block_hash, str) or not _EVM_HASH.fullmatch(block_hash.lower()):
        raise NotChecked(f"the node's block for height {height} says number {number}, hash {str(block_hash)[:80]!r}")
    return Block(chain.name, height, block_hash.lower(), _quantity(block_answer.get("timestamp"), "the block's timestamp"),
                 chain_id)


def evm_header(height: int, answer: Any) -> Header:
    """An ``eth_getBlockByNumber`` answer for ``height`` as a header (number, hash, timestamp), read strictly."""
    if not isinstance(answer, dict):
        raise NotChecked(f"the node has no block {height} ({str(answer)[:80]!r})")
    number = _quantity(answer.get("number"), "the block's number")
    block_hash = answer.get("hash")
    if number != height or not isinstance(block_hash, str) or not _EVM_HASH.fullmatch(block_hash.lower()):
        raise NotChecked(f"the node's block for height {height} says number {number}, hash {str(block_hash)[:80]!r}")
    return Header(height, block_hash.lower(), _quantity(answer.get("timestamp"), "the block's timestamp"))


# ---------------------------------------------------------------- Bitcoin family

def fork_checks(chain: Chain, height: int) -> list[tuple[int, str]]:
    """The (height, hash) blocks to ask for at a snapshot ``height``: genesis, then each fork block."""
    assert chain.genesis is not None, chain
    return [(0, chain.genesis)] + [(h, x) for h, x in chain.forks if h <= height]


def bitcoin_hash(answer: Any, what: str) -> str:
    if not isinstance(answer, str) or not _HASH.fullmatch(answer):
        raise NotChecked(f"the node answered {str(answer)[:80]!r} to {what}, not a block hash")
    return answer


def bitcoin_chain(chain: Chain, asked: list[tuple[int, str]], answers: list[Any]) -> str:
    """The genesis hash, once every asked block is the chain's own; ``NotChecked`` naming the chain."""
    for (h, want), answer in zip(asked, answers, strict=True):
        got = bitcoin_hash(answer, f"getblockhash {h}")
        if got != want:
            what = "genesis block" if h == 0 else f"block {h}"
            raise NotChecked(f"the node given for {chain.name} is on another chain: its {what} is {got}, "
                             f"{chain.name}'s is {want}; nothing of {chain.name} was read from it")
    return asked[0][1]


def bitcoin_block(chain: Chain, height: int, info: Any, block_hash: Any, header: Any, chain_id: str) -> Block:
    """From ``getblockchaininfo``, ``getblockhash height`` and ``getblockheader <hash> true``."""
    if not isinstance(info, dict) or not isinstance(info.get("blocks"), int) or isinstance(info.get("blocks"), bool):
        raise NotChecked(f"getblockchaininfo answered {str(info)[:120]!r}")
    if height > info["blocks"]:
        raise NotChecked(f"block {height} is beyond the node's tip ({info['blocks']}): the node is behind, or the "
                         "snapshot height is wrong")
    wanted = bitcoin_hash(block_hash, f"getblockhash {height}")
    if not isinstance(header, dict) or header.get("hash") != wanted or header.get("height") != height:
        raise NotChecked(f"getblockheader {wanted} answered {str(header)[:160]!r}, not that block at height {height}")
    time = header.get("time")
    if not isinstance(time, int) or isinstance(time, bool) or time < 0:
        raise NotChecked(f"getblockheader {wanted}: time {time!r} is not a Unix time")
    return Block(chain.name, height, wanted, time, chain_id)
