"""The chains a reserves file may name, documented in ``schemas/reserves.md``.

A chain is matched by its canonical name or an alias, case-insensitively; nothing else (no
surrounding spaces, no invisible characters) is accepted. Every chain belongs to one family whose
rules check its addresses and signatures: one module per family, registered once in
``pipeline.ownership.family.FAMILIES`` ("Adding a chain family" in ``schemas/reserves.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refused(Exception):
    """A proof or an address that does not check out; the message is the row's reason."""


class Family(StrEnum):
    """A chain family: the rules its addresses and signatures follow. The values are what files and
    messages write (``"evm"``, ``"bitcoin"``, …); a member is equal to its value."""

    BITCOIN = "bitcoin"
    EVM = "evm"
    TRON = "tron"
    SOLANA = "solana"
    APTOS = "aptos"
    XRPL = "xrpl"
    CARDANO = "cardano"
    POLKADOT = "polkadot"
    TON = "ton"
    FILECOIN = "filecoin"
    SUI = "sui"


BITCOIN, EVM, TRON, SOLANA, APTOS = Family.BITCOIN, Family.EVM, Family.TRON, Family.SOLANA, Family.APTOS
XRPL, CARDANO, POLKADOT, TON, FILECOIN, SUI = (Family.XRPL, Family.CARDANO, Family.POLKADOT, Family.TON, Family.FILECOIN,
                                               Family.SUI)


@dataclass(frozen=True)
class Chain:
    name: str
    family: Family
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
    chain_id: int | None = None
    """EVM: the EIP-155 chain id its node must answer to ``eth_chainId``."""
    genesis: str | None = None
    """Bitcoin family: the hash of block 0 its node must answer to ``getblockhash 0``."""
    forks: tuple[tuple[int, str], ...] = ()
    """Bitcoin family: (height, hash) of blocks that tell this chain from others sharing its genesis
    (Bitcoin and Bitcoin Cash; Bitcoin Cash and the chains that split from it later). Each is checked
    when the snapshot is at or above its height."""
    cashaddr: str | None = None
    """Bitcoin Cash: the CashAddr prefix (``bitcoincash``); its addresses are spelled canonically in
    CashAddr, legacy base58check spellings of the same hash being the same wallet."""
    ss58: int | None = None
    """Polkadot family: the SS58 network prefix its addresses must carry (Polkadot 0, Kusama 2)."""


BITCOIN_GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


CHAINS: tuple[Chain, ...] = (
    Chain("bitcoin", BITCOIN, ("btc",), 0x00, 0x05, "bc", "Bitcoin Signed Message:\n", ("BTC", 8),
          genesis=BITCOIN_GENESIS,
          forks=((478_559, "00000000000000000019f112ec0a9982926f1258cdcc558dd7c3b7e5dc7fa148"),)),
    Chain("litecoin", BITCOIN, ("ltc",), 0x30, 0x32, "ltc", "Litecoin Signed Message:\n", ("LTC", 8),
          genesis="12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2"),
    Chain("dogecoin", BITCOIN, ("doge",), 0x1E, 0x16, None, "Dogecoin Signed Message:\n", ("DOGE", 8),
          genesis="1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691"),
    Chain("bitcoin-cash", BITCOIN, ("bch",), 0x00, 0x05, None, "Bitcoin Signed Message:\n", ("BCH", 8),
          genesis=BITCOIN_GENESIS,
          forks=((478_559, "000000000000000000651ef99cb9fcbe0dadde1d424bd9f15ff20136191a5eec"),  # not Bitcoin
                 (556_767, "0000000000000000004626ff6e3b936941d341c5932ece4357eeccac44e6d56c"),  # not BSV
                 (661_648, "0000000000000000029e471c41818d24b8b74c911071c4ef0b4a0509f9b5a8ce")),  # not eCash
          cashaddr="bitcoincash"),
    Chain("dash", BITCOIN, (), 0x4C, 0x10, None, "DarkCoin Signed Message:\n", ("DASH", 8),
          genesis="00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6"),
    Chain("ethereum", EVM, ("eth", "erc20"), native=("ETH", 18), chain_id=1),
    Chain("arbitrum-one", EVM, ("arbitrum", "eth-arbitrum"), native=("ETH", 18), chain_id=42161),
    Chain("optimism", EVM, ("op", "eth-optimism"), native=("ETH", 18), chain_id=10),
    Chain("base", EVM, native=("ETH", 18), chain_id=8453),
    Chain("polygon", EVM, ("matic", "poly", "polygon-pos"), native=("POL", 18), chain_id=137),
    Chain("bsc", EVM, ("bnb-smart-chain", "bep20"), native=("BNB", 18), chain_id=56),
    Chain("avalanche-c", EVM, ("avaxc", "avax-c"), native=("AVAX", 18), chain_id=43114),
    Chain("tron", TRON, ("trx", "trc20"), native=("TRX", 6)),
    Chain("solana", SOLANA, ("sol",), native=("SOL", 9)),
    Chain("aptos", APTOS, ("apt",), native=("APT", 8)),
    Chain("xrpl", XRPL, ("xrp", "ripple", "xrp-ledger"), native=("XRP", 6)),
    Chain("cardano", CARDANO, ("ada",), native=("ADA", 6)),
    Chain("polkadot", POLKADOT, ("dot",), native=("DOT", 10), ss58=0),
    Chain("kusama", POLKADOT, ("ksm",), native=("KSM", 12), ss58=2),
    Chain("ton", TON, ("toncoin",), native=("TON", 9)),
    Chain("filecoin", FILECOIN, ("fil",), native=("FIL", 18)),
    Chain("sui", SUI, native=("SUI", 9)),
)

_BY_NAME = {key: c for c in CHAINS for key in (c.name, *c.aliases)}


def find_chain(name: str) -> Chain | None:
    """The chain ``name`` designates (any letter case), or None when it is not on the list."""
    return _BY_NAME.get(name.lower()) if name.isascii() else None
