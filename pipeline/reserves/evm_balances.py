"""EVM chains' balance client: ``eth_chainId`` and the snapshot block, then ``eth_getBalance`` for the
chain's coin and ERC-20 ``balanceOf`` for tokens, at the snapshot height; an archive node answers the
same calls at the month's sampled heights (``pipeline.onchain.sampling``), summed per asset.

One task per chunk of rows at one height; inside, JSON-RPC batches of ``batch`` calls, at most
``concurrency`` batches in flight per task (so at most workers x concurrency requests hit the node
at once).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Sequence

from ..onchain import blocks
from ..onchain import evm as evm_rpc
from ..onchain.compare import NotChecked, compare
from ..onchain.sampling import Header
from ..ownership import evm as evm_address
from ..ownership.chains import Chain, Family
from .balance_client import (
    BalanceItem,
    BalanceResult,
    BalanceTask,
    SampleItem,
    SampleRead,
    SampleTask,
    Settings,
    failed,
    result,
    units,
)
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


class EvmSampleTask(NamedTuple):
    """One chunk of rows of one EVM chain read at one sampled height (``SampleTask``)."""

    chain: str
    url: str
    height: int
    items: list[SampleItem]
    batch: int
    concurrency: int

    def run(self) -> SampleRead:
        return evm_sample_task(self)


def evm_sample_task(task: EvmSampleTask) -> SampleRead:
    """The chunk's balances at the sampled height, summed per asset. A token contract that answers nothing
    there (``0x``: not deployed yet at that height) holds nothing for anyone: 0. Any other failure stops
    the sum: ``why`` names the first failing row."""
    chain, url, height, items, batch, concurrency = task
    node = JsonRpc(url)

    def one_batch(part: list[SampleItem]) -> tuple[dict[str, int], str]:
        calls = [evm_rpc.balance_of(bytes.fromhex(it.contract), bytes.fromhex(it.canonical[2:]), height)
                 if it.contract else evm_rpc.get_balance(bytes.fromhex(it.canonical[2:]), height) for it in part]
        try:
            answers = node.batch(calls)
        except NodeUnreachable as exc:
            return {}, f"row {part[0].row}: {exc}"
        sums: dict[str, int] = {}
        for it, answer in zip(part, answers, strict=True):
            try:
                if answer.error is not None:
                    raise NotChecked(evm_rpc.explain(answer.error, height))
                value = (0 if it.contract and answer.result == "0x" else
                         evm_rpc.word(answer.result, bytes.fromhex(it.contract), height) if it.contract
                         else evm_rpc.quantity(answer.result))
            except NotChecked as exc:
                return {}, f"row {it.row}: {exc}"
            sums[it.asset] = sums.get(it.asset, 0) + value
        return sums, ""

    parts = [items[i:i + batch] for i in range(0, len(items), batch)]
    total: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for sums, why in pool.map(one_batch, parts):
            if why:
                return SampleRead(chain, height, {}, why)
            for asset, value in sums.items():
                total[asset] = total.get(asset, 0) + value
    return SampleRead(chain, height, total, "")


class EvmBalances:
    """EVM chains behind ``balance_client.BalanceClient``."""

    name = Family.EVM
    described = "EVM chains"
    tokens = True
    contract_wallets = True
    past_heights = True
    tip_only = ""

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

    def head(self, node: JsonRpc, chain: Chain) -> Header:
        answer = node.call("eth_getBlockByNumber", ["latest", False])
        block = result(answer, "eth_getBlockByNumber latest", 0)
        if not isinstance(block, dict):
            raise NotChecked(f"the node has no latest block ({str(block)[:80]!r})")
        number = block.get("number")
        height = int(number, 16) if isinstance(number, str) and number.startswith("0x") else -1
        return blocks.evm_header(height, block)

    def headers(self, node: JsonRpc, chain: Chain, heights: Sequence[int]) -> list[Header]:
        answers = node.batch([("eth_getBlockByNumber", [hex(h), False]) for h in heights])
        return [blocks.evm_header(h, result(a, f"eth_getBlockByNumber {h}", h)) for h, a in zip(heights, answers, strict=True)]

    def sample_tasks(self, name: str, url: str, items: list[SampleItem], heights: Sequence[int],
                     settings: Settings) -> list[SampleTask]:
        return [EvmSampleTask(name, url, h, items[a:a + settings.chunk_rows], settings.batch, settings.concurrency)
                for h in heights for a in range(0, len(items), settings.chunk_rows)]


CLIENT = EvmBalances()
