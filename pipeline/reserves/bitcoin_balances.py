"""The Bitcoin family's balance client: genesis and fork blocks, the snapshot block, then Bitcoin
Core ``scantxoutset`` of the rows' output scripts.

One task per node, scanning ``scan_chunk`` addresses per ``scantxoutset``, one scan after another
(a node runs one scan at a time), each at the snapshot block.

``scantxoutset`` reads the UTXO set at the node's tip only: the month's sampled heights
(``pipeline.onchain.sampling``) cannot be read on this family, and the report says so (``tip_only``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple, Sequence

from ..onchain import bitcoin as btc_scan
from ..onchain import blocks
from ..onchain.compare import NotChecked, compare
from ..onchain.sampling import Header
from ..ownership import bitcoin as btc_address
from ..ownership.chains import Chain, Family, Refused
from .balance_client import (
    BalanceItem,
    BalanceResult,
    BalanceTask,
    SampleItem,
    SampleTask,
    Settings,
    failed,
    result,
    safe_units,
    units,
)
from .rpc import JsonRpc, NodeUnreachable


class BitcoinTask(NamedTuple):
    """Every row of one Bitcoin-family node (``BalanceTask``)."""

    chain: str
    """The chain's canonical name."""
    url: str
    """Its node."""
    items: list[BalanceItem]
    """Each with its ``script``."""
    scan_chunk: int
    """Addresses per ``scantxoutset``."""
    block_hash: str
    """The snapshot block's hash: every scan must be at it."""

    def run(self) -> list[BalanceResult]:
        return bitcoin_task(self)


def bitcoin_task(task: BitcoinTask) -> list[BalanceResult]:
    """Every row of one Bitcoin-family node: scans of ``scan_chunk`` addresses, one after another,
    each at the snapshot block ``block_hash``; in the items' order."""
    chain, url, items, scan_chunk, block_hash = task
    node = JsonRpc(url)
    out = []
    by_height: dict[int, list[BalanceItem]] = {}
    for it in items:
        by_height.setdefault(it.height, []).append(it)
    for height, group in sorted(by_height.items()):
        for i in range(0, len(group), scan_chunk):
            part = group[i:i + scan_chunk]
            scripts = {_script(it): it.canonical for it in part}
            try:
                answer = node.call(*btc_scan.scan_request(sorted(set(scripts.values()))))
                if answer.error is not None:
                    raise NotChecked(f"the node answered error {answer.error}")
                totals = btc_scan.sum_outputs(answer.result, scripts, height, chain, block_hash)
            except (NotChecked, NodeUnreachable) as exc:
                out += [failed(it, exc, safe_units(it.balance, it.decimals, it.integer)) for it in part]
                continue
            for it in part:
                try:
                    u = units(it, it.decimals)
                except NotChecked as exc:
                    out.append(failed(it, exc))
                    continue
                o = compare(u, totals[it.canonical])
                out.append(BalanceResult(it.row, o.status, o.on_chain, u, o.reason))
    order = {it.row: n for n, it in enumerate(items)}
    return sorted(out, key=lambda r: order[r.row])


def _script(item: BalanceItem) -> str:
    assert item.script is not None, item.row  # BitcoinBalances.item gave every row its script
    return item.script


class BitcoinBalances:
    """The Bitcoin family behind ``balance_client.BalanceClient``."""

    name = Family.BITCOIN
    described = "the Bitcoin family"
    tokens = False
    contract_wallets = False
    past_heights = False
    tip_only = ("Bitcoin Core's scantxoutset reads the UTXO set at the node's tip only, so no past height of the "
                "month can be read: the Bitcoin family is checked at the snapshot height alone")

    def token_contract(self, text: str) -> bytes:
        raise Refused("the Bitcoin family has no token contracts")

    def probe(self, node: JsonRpc, chain: Chain, height: int) -> blocks.Block:
        info = result(node.call("getblockchaininfo", []), "getblockchaininfo", height)
        if isinstance(info, dict) and isinstance(info.get("blocks"), int) and height > info["blocks"]:
            blocks.bitcoin_block(chain, height, info, None, None, "")  # raises: beyond the tip
        asked = blocks.fork_checks(chain, height)
        answers = node.batch([("getblockhash", [h]) for h, _ in asked] + [("getblockhash", [height])])
        genesis = blocks.bitcoin_chain(chain, asked, [result(a, f"getblockhash {h}", height)
                                                      for (h, _), a in zip(asked, answers, strict=False)])
        block_hash = result(answers[-1], f"getblockhash {height}", height)
        header = result(node.call("getblockheader", [blocks.bitcoin_hash(block_hash, f"getblockhash {height}"), True]),
                        "getblockheader", height)
        return blocks.bitcoin_block(chain, height, info, block_hash, header, genesis)

    def item(self, chain: Chain, canonical: str, item: BalanceItem) -> BalanceItem:
        return replace(item, script=btc_address.script_pubkey(btc_address.decode_address(chain, canonical)).hex())

    def tasks(self, name: str, url: str, items: list[BalanceItem], block: blocks.Block | None,
              settings: Settings) -> list[BalanceTask]:
        assert block is not None, name  # a chain whose probe gave no block is refused before its tasks
        return [BitcoinTask(name, url, items, settings.scan_chunk, block.hash)]

    def head(self, node: JsonRpc, chain: Chain) -> Header:
        raise NotChecked(self.tip_only)

    def headers(self, node: JsonRpc, chain: Chain, heights: Sequence[int]) -> list[Header]:
        raise NotChecked(self.tip_only)

    def sample_tasks(self, name: str, url: str, items: list[SampleItem], heights: Sequence[int],
                     settings: Settings) -> list[SampleTask]:
        raise NotChecked(self.tip_only)


CLIENT = BitcoinBalances()
