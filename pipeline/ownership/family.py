"""A chain family is one module behind one interface, and the one registry of them.

``ChainFamily`` is what ``check`` (and every other place that needs a family's rules) asks of a
family: its canonical spelling of an address, and whether a row's proof checks out. Each family's
module implements it (``bitcoin``: the Bitcoin family, CashAddr through ``cashaddr``; ``evm``: EVM
chains and TRON; ``ed25519``: Solana and Aptos; ``xrpl``, ``cardano``, ``polkadot`` (Polkadot and
Kusama), ``ton``, ``filecoin``, ``sui``) and ``FAMILIES`` registers it once. A chain whose family is not registered is
one clear error, ``UnknownFamily``, naming the family: never another family's rules.

Balance clients (reading a family's balances from its node) are registered apart, in
``pipeline.reserves.balance_clients``; the demo's and tests' signers in ``pipeline.testing.sign``.
"""

from __future__ import annotations

from typing import Protocol

from . import bitcoin, cardano, ed25519, evm, filecoin, polkadot, sui, ton, xrpl
from .chains import Chain, Family, Refused
from .rules import ProofRow


class ChainFamily(Protocol):
    """One family's rules for addresses and ownership proofs. Pure: no I/O."""

    @property
    def name(self) -> Family:
        """The family (``Chain.family`` of its chains)."""
        ...

    def canonical(self, chain: Chain, address: str) -> str:
        """``address`` in ``chain``'s canonical spelling (one wallet, one spelling), or ``Refused``."""
        ...

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        """``(what was proven, note)`` once the row's proof over ``message`` checks out; ``Refused``
        (the row is ``invalid``) or ``rules.Unsupported`` (``unsupported``) naming why not.
        ``canonical`` is ``canonical(chain, row.address)``."""
        ...


class UnknownFamily(Refused):
    """A chain whose family has no registered rules (a programming error: every chain on the list
    belongs to a registered family)."""


FAMILIES: dict[Family, ChainFamily] = {f.name: f for f in (
    bitcoin.FAMILY, evm.FAMILY, evm.TRON_FAMILY, ed25519.SOLANA_FAMILY, ed25519.APTOS_FAMILY, xrpl.FAMILY,
    cardano.FAMILY, polkadot.FAMILY, ton.FAMILY, filecoin.FAMILY, sui.FAMILY)}
"""Every family's rules, by family: the one place a family is registered."""


def family_of(chain: Chain) -> ChainFamily:
    """The rules of ``chain``'s family, or ``UnknownFamily`` naming the family."""
    found = FAMILIES.get(chain.family)
    if found is None:
        raise UnknownFamily(f"chain {chain.name} belongs to the {str(chain.family)!r} family, which has no "
                            "registered rules (pipeline.ownership.family.FAMILIES)")
    return found
