"""EVM chains' balance client: ``eth_chainId`` and the snapshot block, then ``eth_getBalance`` for the
chain's coin and ERC-20 ``balanceOf`` for tokens, at the snapshot height.

One task per chunk of rows at one height; inside, JSON-RPC batches of ``batch`` calls, at most
``concurrency`` batches in flight per task (so at most workers x concurrency requests hit the node
at once).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..onchain import blocks
from ..onchain import evm as evm_rpc
from ..onchain.compare import NotChecked, compare
from ..ownership import evm as evm_address
from ..ownership.chains import Chain, Family
from .balance_client import Settings, Task, failed, result, units
from .rpc import JsonRpc, NodeUnreachable


def evm_task(task: tuple[str, str, int, list[dict[str, Any]], int, int]) -> list[dict[str, Any]]:
    """One chunk of rows of one EVM chain at one height: [{row, status, on_chain, units, reason}]."""
    chain, url, height, items, batch, concurrency = task
    node = JsonRpc(url)
    out: dict[int, dict[str, Any]] = {}
    decimals: dict[str, int | None] = {}
    for contract in sorted({it["contract"] for it in items if it["contract"] and it["decimals"] is None
                            and not it["integer"]}):
        try:
            answer = node.call(*evm_rpc.decimals_of(bytes.fromhex(contract), height))
            if answer.error is not None:
                raise NotChecked(evm_rpc.explain(answer.error, height))
            decimals[contract] = evm_rpc.word(answer.result, bytes.fromhex(contract), height)
        except (NotChecked, NodeUnreachable):
            decimals[contract] = None

    def one_batch(part: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls = [evm_rpc.balance_of(bytes.fromhex(it["contract"]), bytes.fromhex(it["canonical"][2:]), height)
                 if it["contract"] else evm_rpc.get_balance(bytes.fromhex(it["canonical"][2:]), height) for it in part]
        try:
            answers = node.batch(calls)
        except NodeUnreachable as exc:
            return [failed(it, exc) for it in part]
        results = []
        for it, answer in zip(part, answers, strict=True):
            u = None
            try:
                d = it["decimals"] if it["decimals"] is not None else decimals.get(it["contract"])
                u = units(it, d)
                if answer.error is not None:
                    raise NotChecked(evm_rpc.explain(answer.error, height))
                on_chain = (evm_rpc.word(answer.result, bytes.fromhex(it["contract"]), height) if it["contract"]
                            else evm_rpc.quantity(answer.result))
                o = compare(u, on_chain)
                results.append({"row": it["row"], "status": o.status, "on_chain": o.on_chain, "units": u,
                                "reason": o.reason, "decimals": d})
            except NotChecked as exc:
                results.append(failed(it, exc, u))
        return results

    parts = [items[i:i + batch] for i in range(0, len(items), batch)]
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for results in pool.map(one_batch, parts):
            for r in results:
                out[r["row"]] = r
    return [out[it["row"]] for it in items]


class EvmBalances:
    """EVM chains behind ``balance_client.BalanceClient``."""

    name = Family.EVM
    described = "EVM chains"
    tokens = True
    contract_wallets = True

    def token_contract(self, text: str) -> bytes:
        return evm_address.decode_evm(text)

    def probe(self, node: JsonRpc, chain: Chain, height: int) -> blocks.Block:
        chain_id, head, block = node.batch(blocks.evm_calls(height))
        cid = blocks.evm_chain(chain, result(chain_id, "eth_chainId", height))
        return blocks.evm_block(chain, height, result(head, "eth_blockNumber", height),
                                result(block, f"eth_getBlockByNumber {height}", height), cid)

    def item(self, chain: Chain, canonical: str, item: dict[str, Any]) -> dict[str, Any]:
        return item

    def tasks(self, name: str, url: str, items: list[dict[str, Any]], block: blocks.Block | None,
              settings: Settings) -> list[Task]:
        by_height: dict[int, list[dict[str, Any]]] = {}
        for it in items:
            by_height.setdefault(it["height"], []).append(it)
        return [(name, url, height, group[a:a + settings.chunk_rows], settings.batch, settings.concurrency)
                for height, group in sorted(by_height.items())
                for a in range(0, len(group), settings.chunk_rows)]

    def run(self, task: Task) -> list[dict[str, Any]]:
        return evm_task(task)


CLIENT = EvmBalances()
