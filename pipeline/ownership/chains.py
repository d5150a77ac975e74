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
    native: tuple[str, int] | None = None
    """The chain's own coin: (asset symbol, decimals). Balance checks read it with the chain's native
    balance call; every other asset on the chain is a token with a configured contract."""


CHAINS: tuple[Chain, ...] = (
    Chain("bitcoin", BITCOIN, ("btc",), 0x00, 0x05, "bc", "Bitcoin Signed Message:\n", ("BTC", 8)),
    Chain("litecoin", BITCOIN, ("ltc",), 0x30, 0x32, "ltc", "Litecoin Signed Message:\n", ("LTC", 8)),
    Chain("dogecoin", BITCOIN, ("doge",), 0x1E, 0x16, None, "Dogecoin Signed Message:\n", ("DOGE", 8)),
    Chain("bitcoin-cash", BITCOIN, ("bch",), 0x00, 0x05, None, "Bitcoin Signed Message:\n", ("BCH", 8)),
    Chain("dash", BITCOIN, (), 0x4C, 0x10, None, "DarkCoin Signed Message:\n", ("DASH", 8)),
    Chain("ethereum", EVM, ("eth", "erc20"), native=("ETH", 18)),
    Chain("arbitrum-one", EVM, ("arbitrum", "eth-arbitrum"), native=("ETH", 18)),
    Chain("optimism", EVM, ("op", "eth-optimism"), native=("ETH", 18)),
    Chain("base", EVM, native=("ETH", 18)),
    Chain("polygon", EVM, ("matic", "poly", "polygon-pos"), native=("POL", 18)),
    Chain("bsc", EVM, ("bnb-smart-chain", "bep20"), native=("BNB", 18)),
    Chain("avalanche-c", EVM, ("avaxc", "avax-c"), native=("AVAX", 18)),
    Chain("tron", TRON, ("trx", "trc20"), native=("TRX", 6)),
    Chain("solana", SOLANA, ("sol",), native=("SOL", 9)),
    Chain("aptos", APTOS, ("apt",), native=("APT", 8)),
)

_BY_NAME = {key: c for c in CHAINS for key in (c.name, *c.aliases)}


def find_chain(name: str) -> Chain | None:
    """The chain ``name`` designates (any letter case), or None when it is not on the list."""
    return _BY_NAME.get(name.lower()) if name.isascii() else None
