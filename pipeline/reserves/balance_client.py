"""What a chain family's balance client is: the interface ``nodes`` and ``balances`` ask of a family
whose balances can be read from its node, and the helpers its worker side shares.

A client proves its node is on the row's chain and reads the snapshot block (``probe``), says what
a worker needs of each row (``item``), cuts a chain's rows into tasks (``tasks``) and runs one on a
worker (``run``). The clients are registered once, by family, in ``nodes.BALANCE_CLIENTS``
(``evm_balances``: EVM chains; ``bitcoin_balances``: the Bitcoin family); a chain whose family has
none is ``unchecked``, its reason naming the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from ..onchain import blocks
from ..onchain import evm as evm_rpc
from ..onchain.compare import ERROR, NotChecked, smallest_units
from ..ownership.chains import Chain, Family
from .rpc import JsonRpc

Task = tuple[Any, ...]
"""One worker task's arguments, as the client that made it reads them (picklable)."""


@dataclass(frozen=True)
class Settings:
    """How much work one task does and how hard it presses the node."""

    chunk_rows: int
    """Rows per task (EVM)."""
    batch: int
    """JSON-RPC calls per batch (EVM)."""
    concurrency: int
    """Batches in flight per task (EVM)."""
    scan_chunk: int
    """Addresses per ``scantxoutset`` (Bitcoin family)."""


class BalanceClient(Protocol):
    """One family's balance reads from its node, at the chain's snapshot height."""

    @property
    def name(self) -> Family:
        """The family (``Chain.family`` of its chains)."""
        ...

    @property
    def described(self) -> str:
        """How messages name the chains it reads ("EVM chains", "the Bitcoin family")."""
        ...

    @property
    def tokens(self) -> bool:
        """Token contracts (``--token ASSET@CHAIN=CONTRACT``) are read on its chains."""
        ...

    @property
    def contract_wallets(self) -> bool:
        """Its node confirms contract wallets' owners (Safe ``getOwners()``/``getThreshold()``)."""
        ...

    def token_contract(self, text: str) -> bytes:
        """A token contract's address (``tokens`` only), or ``Refused``."""
        ...

    def probe(self, node: JsonRpc, chain: Chain, height: int) -> blocks.Block:
        """The node's chain identity, then the snapshot block; ``NotChecked`` (naming the chain) when
        the node is on another chain, behind, or answers something else."""
        ...

    def item(self, chain: Chain, canonical: str, item: dict[str, Any]) -> dict[str, Any]:
        """``item`` (row, canonical, balance, integer, decimals, contract, height) with what the
        worker needs beyond it."""
        ...

    def tasks(self, name: str, url: str, items: list[dict[str, Any]], block: blocks.Block | None,
              settings: Settings) -> list[Task]:
        """Chain ``name``'s rows (every one at the snapshot ``block``) as worker tasks, in order."""
        ...

    def run(self, task: Task) -> list[dict[str, Any]]:
        """Worker side: one task's rows, [{row, status, on_chain, units, reason[, decimals]}]."""
        ...


def failed(item: Mapping[str, Any], reason: object, units: int | None = None) -> dict[str, Any]:
    """A row the node could not confirm (status ``error``), with the reason."""
    return {"row": item["row"], "status": ERROR, "on_chain": None, "units": units, "reason": str(reason)}


def units(item: Mapping[str, Any], decimals: int | None) -> int:
    return smallest_units(item["balance"], decimals, item["integer"])


def safe_units(item: Mapping[str, Any], decimals: int | None) -> int | None:
    try:
        return units(item, decimals)
    except NotChecked:
        return None


def result(answer: object, what: str, height: int) -> object:
    """A JSON-RPC answer's result, or ``NotChecked`` naming the call and the node's error."""
    error = getattr(answer, "error", None)
    if error is not None:
        raise NotChecked(f"{what}: {evm_rpc.explain(error, height)}")
    return getattr(answer, "result", None)
