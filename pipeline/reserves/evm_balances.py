"""EVM chains' balance client: ``eth_chainId`` and the snapshot block, then ``eth_getBalance`` for the
chain's coin and ERC-20 ``balanceOf`` for tokens, at the snapshot height.

One task per chunk of rows at one height; inside, JSON-RPC batches of ``batch`` calls, at most
``concurrency`` batches in flight per task (so at most workers x concurrency requests hit the node
at once).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from ..onchain import blocks
from ..onchain import evm as evm_rpc
from ..onchain.compare import NotChecked, compare
from ..ownership import evm as evm_address
from ..ownership.chains import Chain, Family
from .balance_client import BalanceItem, BalanceResult, BalanceTask, Settings, failed, result, units
from .rpc import JsonRpc, NodeUnreachable


class EvmTask(NamedTuple):
    """One chunk of rows of one EVM chain at one height (``BalanceTask``)."""

    chain: str
    """The chain's canonical name."""
    url: str
    """Its node."""
    height: int
    items: list[BalanceItem]
    batch: int
    """JSON-RPC calls per batch."""
    concurrency: int
    """Batches in flight."""

    def run(self) -> list[BalanceResult]:
        return evm_task(self)


def evm_task(task: EvmTask) -> list[BalanceResult]:
    """One chunk of rows of one EVM chain at one height, in the items' order."""
    chain, url, height, items, batch, concurrency = task
    node = JsonRpc(url)
    out: dict[int, BalanceResult] = {}
    decimals: dict[str, int | None] = {}
    for contract in sorted({it.contract for it in items if it.contract and it.decimals is None and not it.integer}):
        try:
            answer = node.call(*evm_rpc.decimals_of(bytes.fromhex(contract), height))
            if answer.error is not None:
                raise NotChecked(evm_rpc.explain(answer.error, height))
            decimals[contract] = evm_rpc.word(answer.result, bytes.fromhex(contract), height)
        except (NotChecked, NodeUnreachable):
            decimals[contract] = None

    def one_batch(part: list[BalanceItem]) -> list[BalanceResult]:
        calls = [evm_rpc.balance_of(bytes.fromhex(it.contract), bytes.fromhex(it.canonical[2:]), height)
                 if it.contract else evm_rpc.get_balance(bytes.fromhex(it.canonical[2:]), height) for it in part]
        try:
            answers = node.batch(calls)
        except NodeUnreachable as exc:
            return [failed(it, exc) for it in part]
        results = []
        for it, answer in zip(part, answers, strict=True):
            u = None
            try:
                d = it.decimals
                if d is None and it.contract:
                    d = decimals.get(it.contract)
                u = units(it, d)
                if answer.error is not None:
                    raise NotChecked(evm_rpc.explain(answer.error, height))
                on_chain = (evm_rpc.word(answer.result, bytes.fromhex(it.contract), height) if it.contract
                            else evm_rpc.quantity(answer.result))
                o = compare(u, on_chain)
                results.append(BalanceResult(it.row, o.status, o.on_chain, u, o.reason, d))
            except NotChecked as exc:
                results.append(failed(it, exc, u))
        return results

    parts = [items[i:i + batch] for i in range(0, len(items), batch)]
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for results in pool.map(one_batch, parts):
            for r in results:
                out[r.row] = r
    return [out[it.row] for it in items]


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

    def item(self, chain: Chain, canonical: str, item: BalanceItem) -> BalanceItem:
        return item

    def tasks(self, name: str, url: str, items: list[BalanceItem], block: blocks.Block | None,
              settings: Settings) -> list[BalanceTask]:
        by_height: dict[int, list[BalanceItem]] = {}
        for it in items:
            by_height.setdefault(it.height, []).append(it)
        return [EvmTask(name, url, height, group[a:a + settings.chunk_rows], settings.batch, settings.concurrency)
                for height, group in sorted(by_height.items())
                for a in range(0, len(group), settings.chunk_rows)]


CLIENT = EvmBalances()
