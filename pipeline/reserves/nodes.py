"""The chain nodes the reserves are checked against (``--rpc CHAIN=URL``): parsing, and the probe that
proves a node is on its chain and reads the chain's snapshot block (``pipeline.onchain.blocks``).

A node URL may carry an API key (user, password, path, query): it is parsed strictly here, a
malformed one is a usage error, and only its scheme, host and port are ever shown (``rpc.shown``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Mapping, NamedTuple
from urllib.parse import urlsplit

from ..errors import InputError
from ..mapping import Mapper
from ..onchain import blocks
from ..onchain.compare import NotChecked
from ..ownership.chains import Chain, Family, find_chain
from . import bitcoin_balances, evm_balances
from .balance_client import BalanceClient
from .rpc import JsonRpc, NodeUnreachable, shown


BALANCE_CLIENTS: dict[Family, BalanceClient] = {c.name: c for c in (evm_balances.CLIENT, bitcoin_balances.CLIENT)}
"""Every family's balance client, by family (``balance_client.BalanceClient``): the one place one is
registered. A family without one is never balance-checked (its rows are ``unchecked``)."""
CHECKED_FAMILIES = tuple(BALANCE_CLIENTS)


def balance_client(chain: Chain) -> BalanceClient | None:
    """``chain``'s family's balance client, or None when its family has none."""
    return BALANCE_CLIENTS.get(chain.family)
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
    """``CHAIN=URL`` (a chain from the documented list whose family has a balance client)."""
    name, sep, url = spec.partition("=")
    if not sep or not url.strip():
        raise InputError("expected CHAIN=URL", parameter="rpc", value=repr(name + sep + ("…" if url else "")))
    chain = find_chain(name.strip())
    if chain is None:
        raise InputError(f"chain {name!r} is not on the supported list (schemas/reserves.md)", parameter="rpc")
    if balance_client(chain) is None:
        raise InputError(f"chain {chain.name} ({chain.family} family) has no balance client yet; "
                         f"{' and '.join(c.described for c in BALANCE_CLIENTS.values())} do", parameter="rpc")
    return Node(chain, check_url(url.strip(), chain.name))


def probe(node: JsonRpc, chain: Chain, height: int) -> blocks.Block:
    """The node's chain identity, then the snapshot block (by the chain's family's balance client);
    ``NotChecked`` (naming the chain) when the node is on another chain, behind, or answers something
    else, or when the chain's family has no balance client."""
    client = balance_client(chain)
    if client is None:
        raise NotChecked(f"chain {chain.name}: no balance client for the {chain.family} family")
    return client.probe(node, chain, height)


class ProbeTask(NamedTuple):
    """Worker side: one chain's node, to be probed at the chain's snapshot height."""

    chain: str
    """The chain's canonical name."""
    url: str
    height: int


class Probed(NamedTuple):
    """A chain's probe: its snapshot block, and why its node is refused ("" when it is not)."""

    chain: str
    """The chain's canonical name."""
    block: blocks.Block | None
    """As the node reported it (None: not read)."""
    why: str


def probe_task(task: ProbeTask) -> Probed:
    """Worker side: the chain's probe."""
    name, url, height = task
    chain = find_chain(name)
    assert chain is not None, name
    try:
        return Probed(name, probe(JsonRpc(url), chain, height), "")
    except (NotChecked, NodeUnreachable) as exc:
        return Probed(name, None, str(exc))


def probe_chains(mapper: Mapper, wanted: Mapping[str, tuple[str, int]], period: str | None) -> dict[str, Probed]:
    """chain -> its probe: its snapshot block and "" when its node is on the chain (and, with ``period``, the
    block in the window before the period's end), else the block or None and why not. ``wanted``: chain ->
    (url, height)."""
    tasks = [ProbeTask(name, url, height) for name, (url, height) in sorted(wanted.items())]
    out: dict[str, Probed] = {}
    done: list[Probed] = mapper(probe_task, tasks) if tasks else []
    for p in done:
        why = p.why
        if p.block is not None and period is not None:
            why = blocks.outside_window(p.block, period) or ""
        out[p.chain] = p._replace(why=why)
    return out
