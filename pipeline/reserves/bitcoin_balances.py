"""The Bitcoin family's balance client: genesis and fork blocks, the snapshot block, then Bitcoin
Core ``scantxoutset`` of the rows' output scripts.

One task per node, scanning ``scan_chunk`` addresses per ``scantxoutset``, one scan after another
(a node runs one scan at a time), each at the snapshot block.
"""

from __future__ import annotations

from typing import Any

from ..onchain import bitcoin as btc_scan
from ..onchain import blocks
from ..onchain.compare import NotChecked, compare
from ..ownership import bitcoin as btc_address
from ..ownership.chains import Chain, Family, Refused
from .balance_client import Settings, Task, failed, result, safe_units, units
from .rpc import JsonRpc, NodeUnreachable


def bitcoin_task(task: tuple[str, str, list[dict[str, Any]], int, str]) -> list[dict[str, Any]]:
    """Every row of one Bitcoin-family node: scans of ``scan_chunk`` addresses, one after another,
    each at the snapshot block ``block_hash``."""
    chain, url, items, scan_chunk, block_hash = task
    node = JsonRpc(url)
    out = []
    by_height: dict[int, list[dict[str, Any]]] = {}
    for it in items:
        by_height.setdefault(it["height"], []).append(it)
    for height, group in sorted(by_height.items()):
        for i in range(0, len(group), scan_chunk):
            part = group[i:i + scan_chunk]
            scripts = {it["script"]: it["canonical"] for it in part}
            try:
                answer = node.call(*btc_scan.scan_request(sorted(set(scripts.values()))))
                if answer.error is not None:
                    raise NotChecked(f"the node answered error {answer.error}")
                totals = btc_scan.sum_outputs(answer.result, scripts, height, chain, block_hash)
            except (NotChecked, NodeUnreachable) as exc:
                out += [failed(it, exc, safe_units(it, it["decimals"])) for it in part]
                continue
            for it in part:
                try:
                    u = units(it, it["decimals"])
                except NotChecked as exc:
                    out.append(failed(it, exc))
                    continue
                o = compare(u, totals[it["canonical"]])
                out.append({"row": it["row"], "status": o.status, "on_chain": o.on_chain, "units": u,
                            "reason": o.reason})
    order = {it["row"]: n for n, it in enumerate(items)}
    return sorted(out, key=lambda r: order[r["row"]])


class BitcoinBalances:
    """The Bitcoin family behind ``balance_client.BalanceClient``."""

    name = Family.BITCOIN
    described = "the Bitcoin family"
    tokens = False
    contract_wallets = False

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

    def item(self, chain: Chain, canonical: str, item: dict[str, Any]) -> dict[str, Any]:
        item["script"] = btc_address.script_pubkey(btc_address.decode_address(chain, canonical)).hex()
        return item

    def tasks(self, name: str, url: str, items: list[dict[str, Any]], block: blocks.Block | None,
              settings: Settings) -> list[Task]:
        assert block is not None, name  # a chain whose probe gave no block is refused before its tasks
        return [(name, url, items, settings.scan_chunk, block.hash)]

    def run(self, task: Task) -> list[dict[str, Any]]:
        return bitcoin_task(task)


CLIENT = BitcoinBalances()
