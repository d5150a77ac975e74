"""The chain nodes the reserves are checked against (``--rpc CHAIN=URL``): parsing, the probe that
proves a node is on its chain and reads the chain's snapshot block (``pipeline.onchain.blocks``), and
the plan of the month's sampled heights (``pipeline.onchain.sampling``: the closing block, the range,
the heights and their blocks).

A node URL may carry an API key (user, password, path, query): it is parsed strictly here, a
malformed one is a usage error, and only its scheme, host and port are ever shown (``rpc.shown``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Mapping, NamedTuple, Sequence
from urllib.parse import urlsplit

from ..errors import InputError
from ..mapping import Mapper
from ..onchain import blocks
from ..onchain import sampling
from ..onchain.compare import NotChecked
from ..onchain.sampling import Header
from ..protocol.period import month_before
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


# ---------------------------------------------------------------- the month's sampled heights

class PlanTask(NamedTuple):
    """Worker side: one chain's sampled heights to be found on its node."""

    chain: str
    """The chain's canonical name."""
    url: str
    snapshot: blocks.Block
    """The chain's snapshot block, as its probe read it (in the window before the period's end)."""
    period: str
    previous: int | None
    """The previous month's snapshot height of the chain (its signed report), or None."""
    heights: int
    """How many heights to sample (``--sample-heights``)."""


class Plan(NamedTuple):
    """A chain's sampled heights: the closing block (the seed), the range, the heights' blocks; or why not."""

    chain: str
    seed: Header | None
    first: int | None
    """The range's first height (``sampling.FIRST_AFTER_PREVIOUS`` or ``FIRST_OF_PERIOD``: ``first_rule``)."""
    first_rule: str
    last: int | None
    """The range's last height: the block before the snapshot block."""
    blocks: list[Header]
    """The sampled heights' blocks, in increasing height."""
    why: str
    """Why the chain is not sampled ("" when it is)."""


HEADER_BATCH = 100


def plan_task(task: PlanTask) -> Plan:
    """Worker side: the closing block (the last whose time is at or before the period's end: the node must
    already have a later one), the range (after the previous month's snapshot, else from the period's
    first block), the heights (``sampling.sample_heights``) and their blocks, whose times must be in
    order between the range's first block and the snapshot block."""
    chain = find_chain(task.chain)
    assert chain is not None, task.chain
    client = balance_client(chain)
    if client is None or not client.past_heights:
        return Plan(task.chain, None, None, "", None, [], client.tip_only if client else "no balance client")
    node = JsonRpc(task.url)
    end, start = blocks.period_end(task.period), blocks.period_end(month_before(task.period))
    snap = Header(task.snapshot.height, task.snapshot.hash, task.snapshot.timestamp)

    def fetch(heights: Sequence[int]) -> list[Header]:
        out: list[Header] = []
        for a in range(0, len(heights), HEADER_BATCH):
            out += client.headers(node, chain, list(heights[a:a + HEADER_BATCH]))
        return out

    try:
        head = client.head(node, chain)
        if head.timestamp <= end:
            raise NotChecked(f"the node's newest {chain.name} block ({head.height}, {blocks.iso(head.timestamp)}) is not "
                             f"after the period {task.period}'s end ({blocks.iso(end)}) yet: the sampled heights come "
                             "from the hash of the period's last block, which is known once a later block exists "
                             "(the node is behind, or run again once the chain has moved on)")
        after = sampling.first_where(snap, head, lambda t: t > end, fetch)
        seed = snap if after.height == snap.height + 1 else fetch([after.height - 1])[0]
        if seed.timestamp > end:
            raise NotChecked(f"the node's block {seed.height} has time {blocks.iso(seed.timestamp)}, after the period's "
                             "end, though the search found it before: block times out of order are not an honest answer")
        lower: Header | None = None
        if task.previous is not None:
            if task.previous >= snap.height:
                raise NotChecked(f"the previous month's {chain.name} snapshot height {task.previous} is not below this "
                                 f"month's {snap.height}: there is no range of the month to sample")
            first, rule = task.previous + 1, sampling.FIRST_AFTER_PREVIOUS
        else:
            genesis = fetch([0])[0]
            if genesis.timestamp >= start:
                first, lower = 0, genesis
            else:
                lower = sampling.first_where(genesis, snap, lambda t: t >= start, fetch)
                first = lower.height
            rule = sampling.FIRST_OF_PERIOD
        last = snap.height - 1
        found = fetch(sampling.sample_heights(chain.name, seed.hash, first, last, task.heights))
        why = sampling.in_order(found, lower, snap) or ""
        if why == "" and lower is not None and lower.timestamp < start:
            why = f"the node's block {lower.height} is before the period's start, though the search found it after"
        return Plan(task.chain, seed, first, rule, last, found, why)
    except (NotChecked, NodeUnreachable) as exc:
        return Plan(task.chain, None, None, "", None, [], str(exc))


def plan_chains(mapper: Mapper, tasks: Sequence[PlanTask]) -> dict[str, Plan]:
    """chain -> its plan (``plan_task`` on the workers)."""
    done: list[Plan] = mapper(plan_task, list(tasks)) if tasks else []
    return {p.chain: p for p in done}
