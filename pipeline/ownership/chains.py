"""The chains a reserves file may name, documented in ``schemas/reserves.md``.

A chain is matched by its canonical name or an alias, case-insensitively; nothing else (no
surrounding spaces, no invisible characters) is accepted. Every chain belongs to one family whose
rules check its addresses and signatures.
"""

from __future__ import annotations

from dataclasses import dataclass


class Refused(Exception):
    """A proof or an address that does not check out; the message is the row's reason."""


BITCOIN, EVM, TRON, SOLANA, APTOS = "bitcoin", "evm", "tron", "solana", "aptos"


@dataclass(frozen=True)
class Chain:
    name: str
    family: str
    aliases: tuple[str, ...] = ()
    p2pkh: int | None = None
    """Base58check version byte of pay-to-public-key-hash addresses (Bitcoin family)."""
    p2sh: int | None = None
    hrp: str | None = None
    """Human-readable part of bech32/bech32m (segwit) addresses, None where the chain has none."""
    message_prefix: str | None = None
    """The text the family's ``signmessage`` puts before the message (Bitcoin family)."""


CHAINS: tuple[Chain, ...] = (
    Chain("bitcoin", BITCOIN, ("btc",), 0x00, 0x05, "bc", "Bitcoin Signed Message:\n"),
    Chain("litecoin", BITCOIN, ("ltc",), 0x30, 0x32, "ltc", "Litecoin Signed Message:\n"),
    Chain("dogecoin", BITCOIN, ("doge",), 0x1E, 0x16, None, "Dogecoin Signed Message:\n"),
    Chain("bitcoin-cash", BITCOIN, ("bch",), 0x00, 0x05, None, "Bitcoin Signed Message:\n"),
    Chain("dash", BITCOIN, (), 0x4C, 0x10, None, "DarkCoin Signed Message:\n"),
    Chain("ethereum", EVM, ("eth", "erc20")),
    Chain("arbitrum-one", EVM, ("arbitrum", "eth-arbitrum")),
    Chain("optimism", EVM, ("op", "eth-optimism")),
    Chain("base", EVM),
    Chain("polygon", EVM, ("matic", "poly", "polygon-pos")),
    Chain("bsc", EVM, ("bnb-smart-chain", "bep20")),
    Chain("avalanche-c", EVM, ("avaxc", "avax-c")),
    Chain("tron", TRON, ("trx", "trc20")),
    Chain("solana", SOLANA, ("sol",)),
    Chain("aptos", APTOS, ("apt",)),
)

_BY_NAME = {key: c for c in CHAINS for key in (c.name, *c.aliases)}


def find_chain(name: str) -> Chain | None:
    """The chain ``name`` designates (any letter case), or None when it is not on the list."""
    return _BY_NAME.get(name.lower()) if name.isascii() else None
