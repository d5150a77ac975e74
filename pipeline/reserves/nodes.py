"""The chain nodes the reserves are checked against (``--rpc CHAIN=URL``): parsing, and the probe that
proves a node is on its chain and reads the chain's snapshot block (``pipeline.onchain.blocks``).

A node URL may carry an API key (user, password, path, query): it is parsed strictly here, a
malformed one is a usage error, and only its scheme, host and port are ever shown (``rpc.shown``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

from ..errors import InputError
from ..onchain import blocks
from ..onchain import evm as evm_rpc
from ..onchain.compare import NotChecked
from ..ownership.chains import BITCOIN, EVM, Chain, find_chain
from .rpc import JsonRpc, NodeUnreachable, shown

Mapper = Callable[[Callable[..., Any], Sequence[Any]], list[Any]]

CHECKED_FAMILIES = (EVM, BITCOIN)
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


@dataclass(frozen=True)
class Node:
    chain: Chain
    url: str


def check_url(url: str, chain: str) -> str:
    """``url`` when it is a usable http(s) node URL; ``InputError`` (never showing the URL's user,
    password, path or query) otherwise."""
    def refuse(why: str) -> InputError:
        return InputError(f"the node URL for {chain} {why} (only scheme, host and port are shown: "
                          f"{shown(url)})", parameter="rpc")

    if not url or any(c not in _URL_CHARACTERS for c in url):
        raise refuse("holds spaces, control or non-ASCII characters; write it percent-encoded")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise refuse("does not parse (a bracket, a port that is not a number from 0 to 65535, …)") from None
    if parts.scheme not in ("http", "https") or not url.lower().startswith(parts.scheme + "://"):
        raise refuse("must start with http:// or https://")
    if not host:
        raise refuse("names no host")
    if port == 0 or (":" in parts.netloc.rsplit("@", 1)[-1].rsplit("]", 1)[-1] and port is None):
        raise refuse("has an empty or zero port")
    if parts.fragment:
        raise refuse("has a #fragment, which is never sent to a node")
    return url


def parse_rpc(spec: str) -> Node:
    """``CHAIN=URL`` (an EVM or Bitcoin-family chain from the documented list)."""
    name, sep, url = spec.partition("=")
    if not sep or not url.strip():
        raise InputError("expected CHAIN=URL", parameter="rpc", value=repr(name + sep + ("…" if url else "")))
    chain = find_chain(name.strip())
    if chain is None:
        raise InputError(f"chain {name!r} is not on the supported list (schemas/reserves.md)", parameter="rpc")
    if chain.family not in CHECKED_FAMILIES:
        raise InputError(f"chain {chain.name} ({chain.family} family) has no balance client yet; "
                         "EVM chains and the Bitcoin family do", parameter="rpc")
    return Node(chain, check_url(url.strip(), chain.name))


def _result(answer: object, what: str, height: int) -> object:
    error = getattr(answer, "error", None)
    if error is not None:
        raise NotChecked(f"{what}: {evm_rpc.explain(error, height)}")
    return getattr(answer, "result", None)


def probe(node: JsonRpc, chain: Chain, height: int) -> blocks.Block:
    """The node's chain identity, then the snapshot block; ``NotChecked`` (naming the chain) when the
    node is on another chain, behind, or answers something else."""
    if chain.family == EVM:
        chain_id, head, block = node.batch(blocks.evm_calls(height))
        cid = blocks.evm_chain(chain, _result(chain_id, "eth_chainId", height))
        return blocks.evm_block(chain, height, _result(head, "eth_blockNumber", height),
                                _result(block, f"eth_getBlockByNumber {height}", height), cid)
    info = _result(node.call("getblockchaininfo", []), "getblockchaininfo", height)
    if isinstance(info, dict) and isinstance(info.get("blocks"), int) and height > info["blocks"]:
        blocks.bitcoin_block(chain, height, info, None, None, "")  # raises: beyond the tip
    asked = blocks.fork_checks(chain, height)
    answers = node.batch([("getblockhash", [h]) for h, _ in asked] + [("getblockhash", [height])])
    genesis = blocks.bitcoin_chain(chain, asked, [_result(a, f"getblockhash {h}", height)
                                                  for (h, _), a in zip(asked, answers, strict=False)])
    block_hash = _result(answers[-1], f"getblockhash {height}", height)
    header = _result(node.call("getblockheader", [blocks.bitcoin_hash(block_hash, f"getblockhash {height}"), True]),
                     "getblockheader", height)
    return blocks.bitcoin_block(chain, height, info, block_hash, header, genesis)


def probe_task(task: tuple[str, str, int]) -> tuple[str, blocks.Block | None, str]:
    """Worker side: (chain, its snapshot block or None, why not)."""
    name, url, height = task
    chain = find_chain(name)
    assert chain is not None, name
    try:
        return name, probe(JsonRpc(url), chain, height), ""
    except (NotChecked, NodeUnreachable) as exc:
        return name, None, str(exc)


def probe_chains(mapper: Mapper, wanted: Mapping[str, tuple[str, int]], period: str | None) -> dict[str, tuple[blocks.Block | None, str]]:
    """chain -> (snapshot block, "") when its node is on the chain (and, with ``period``, the block in
    the window before the period's end), else (block or None, why not). ``wanted``: chain -> (url, height)."""
    tasks = [(name, url, height) for name, (url, height) in sorted(wanted.items())]
    out: dict[str, tuple[blocks.Block | None, str]] = {}
    for name, block, why in mapper(probe_task, tasks) if tasks else []:
        if block is not None and period is not None:
            why = blocks.outside_window(block, period) or ""
        out[name] = (block, why)
    return out
