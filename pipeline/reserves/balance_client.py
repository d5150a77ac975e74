"""What a chain family's balance client is: the interface ``nodes`` and ``balances`` ask of a family
whose balances can be read from its node, and the helpers its worker side shares.

A client proves its node is on the row's chain and reads the snapshot block (``probe``), says what
a worker needs of each row (``item``: a ``BalanceItem``) and cuts a chain's rows into tasks
(``tasks``), each a picklable record of the family's own that runs on a worker (``BalanceTask.run``)
and gives one ``BalanceResult`` per row. A family whose node answers at past heights
(``past_heights``: EVM archive nodes) also reads block headers (``head``, ``headers``) and the rows'
balances at the month's sampled heights (``sample_tasks``: ``pipeline.onchain.sampling``); one whose
node cannot says why (``tip_only``). The clients are registered once, by family, in
``nodes.BALANCE_CLIENTS`` (``evm_balances``: EVM chains; ``bitcoin_balances``: the Bitcoin family);
a chain whose family has none is ``unchecked``, its reason naming the family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ..onchain import blocks
from ..onchain import evm as evm_rpc
from ..onchain.compare import ERROR, NotChecked, smallest_units
from ..onchain.sampling import Header
from ..ownership.chains import Chain, Family
from .rpc import JsonRpc


@dataclass(frozen=True)
class BalanceItem:
    """One row as a worker reads its balance: what ``balances`` decided of it, and what its family's
    client adds (``BalanceClient.item``)."""

    row: int
    """Its record's ``row``."""
    canonical: str
    """The address in its chain's canonical spelling."""
    balance: str
    """The published amount, as written (text)."""
    integer: bool
    """``balance`` is an integer of smallest units (an integer column), else a decimal of whole units."""
    decimals: int | None
    """The asset's decimals when known (asset file, the chain's coin); None: a token contract's are read."""
    contract: str | None
    """A token's contract address (hex, no ``0x``); None for the chain's coin."""
    height: int
    """The chain's snapshot height."""
    script: str | None = None
    """The Bitcoin family: the address's output script (hex), which ``scantxoutset`` reports."""


@dataclass(frozen=True)
class BalanceResult:
    """Worker side: one row's balance against its node."""

    row: int
    """Its record's ``row``."""
    status: str
    """One of ``onchain.compare.STATUSES`` (``match``, ``mismatch`` or ``error`` here)."""
    on_chain: int | None
    """The balance the node reported, in smallest units (None: not read)."""
    units: int | None
    """The published amount in smallest units (None: it does not convert)."""
    reason: str
    decimals: int | None = None
    """EVM: the decimals the amount was converted with (the asset's, or its token contract's); None otherwise."""


@dataclass(frozen=True)
class SampleItem:
    """One row as a worker reads it at a sampled height: no published amount, only what to read."""

    row: int
    asset: str
    canonical: str
    """The address in its chain's canonical spelling."""
    contract: str | None
    """A token's contract address (hex, no ``0x``); None for the chain's coin."""


@dataclass(frozen=True)
class SampleRead:
    """Worker side: one chunk of a chain's rows read at one sampled height, summed per asset."""

    chain: str
    height: int
    sums: dict[str, int] = field(default_factory=dict)
    """asset -> the node's balances of the chunk's rows, summed, in smallest units."""
    why: str = ""
    """Why not every row could be read ("" when all were): the first failure, naming its row."""


class SampleTask(Protocol):
    """One worker task reading rows at one sampled height (picklable)."""

    def run(self) -> SampleRead:
        ...


class BalanceTask(Protocol):
    """One worker task, a family's own named record (picklable), that runs on a worker."""

    def run(self) -> list[BalanceResult]:
        """Worker side: the task's rows, in the order they were given."""
        ...


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

    @property
    def past_heights(self) -> bool:
        """Its node answers balances at past heights (an EVM archive node): the month's sampled heights are
        read (``pipeline.onchain.sampling``)."""
        ...

    @property
    def tip_only(self) -> str:
        """Why its node cannot answer at past heights ("" when it can): the report says so."""
        ...

    def token_contract(self, text: str) -> bytes:
        """A token contract's address (``tokens`` only), or ``Refused``."""
        ...

    def probe(self, node: JsonRpc, chain: Chain, height: int) -> blocks.Block:
        """The node's chain identity, then the snapshot block; ``NotChecked`` (naming the chain) when
        the node is on another chain, behind, or answers something else."""
        ...

    def item(self, chain: Chain, canonical: str, item: BalanceItem) -> BalanceItem:
        """``item`` with what the worker needs beyond it."""
        ...

    def tasks(self, name: str, url: str, items: list[BalanceItem], block: blocks.Block | None,
              settings: Settings) -> list[BalanceTask]:
        """Chain ``name``'s rows (every one at the snapshot ``block``) as worker tasks, in order."""
        ...

    def head(self, node: JsonRpc, chain: Chain) -> Header:
        """The node's newest block (``past_heights`` only); ``NotChecked`` on an answer that is not one."""
        ...

    def headers(self, node: JsonRpc, chain: Chain, heights: Sequence[int]) -> list[Header]:
        """The blocks at these heights, in order, in one batch (``past_heights`` only); ``NotChecked``."""
        ...

    def sample_tasks(self, name: str, url: str, items: list[SampleItem], heights: Sequence[int],
                     settings: Settings) -> list[SampleTask]:
        """Chain ``name``'s rows at each sampled height, as worker tasks (``past_heights`` only)."""
        ...


def failed(item: BalanceItem, reason: object, units: int | None = None) -> BalanceResult:
    """A row the node could not confirm (status ``error``), with the reason."""
    return BalanceResult(item.row, ERROR, None, units, str(reason))


def units(item: BalanceItem, decimals: int | None) -> int:
    """``item``'s published amount in smallest units, or ``NotChecked``."""
    return smallest_units(item.balance, decimals, item.integer)


def safe_units(balance: str, decimals: int | None, integer: bool) -> int | None:
    """``onchain.compare.smallest_units``, or None where it raises ``NotChecked``."""
    try:
        return smallest_units(balance, decimals, integer)
    except NotChecked:
        return None


def result(answer: object, what: str, height: int) -> object:
    """A JSON-RPC answer's result, or ``NotChecked`` naming the call and the node's error."""
    error = getattr(answer, "error", None)
    if error is not None:
        raise NotChecked(f"{what}: {evm_rpc.explain(error, height)}")
    return getattr(answer, "result", None)
