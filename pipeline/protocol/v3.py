"""por-v3: one tree per asset whose leaves are split fragments carrying equity and debt.

Every byte string por-v3 hashes, defined once (``schemas/por-v3.md``). Pure functions over bytes and
ints; standard library and ``blake3`` only. The vectorised builder assembles the same messages in
bulk and is checked against these functions (golden vectors, reference-builder property tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from blake3 import blake3

from ..errors import SumOverflow
from . import v1
from .amounts import U128_LIMIT
from .keys import SecretKey, derive

VERSION = "por-v3"
COMMITMENT_TAG = b"\x04"
FRAGMENT_TAG = b"\x00"
SPLIT_TAG = b"\x01"
PADDING_NODE_TAG = b"\x02"
PADDING_LEAF_TAG = b"\x03"
PADDING_SHARE_TAG = b"\x04"

NONCE_KEY_CONTEXT = "por-v3 user nonce key"
PADDING_KEY_CONTEXT = "por-v3 padding key"
NODE_KEY_CONTEXT = "por-v3 node key"
NODE_KEY = blake3(b"", derive_key_context=NODE_KEY_CONTEXT).digest()
"""``K_node``: a public constant (0a5fbe8c…)."""

EQUITY, DEBT = 0, 1
MIN_FRAGMENTS, MAX_FRAGMENTS, DEFAULT_FRAGMENTS = 2, 8, 2
MAX_PADDING, DEFAULT_PADDING = 100, 25
MIN_LEAVES = 4096
"""Every tree holds at least this many leaves (padding leaves fill up a small tree)."""
MAX_ASSETS = 255
MAX_DECIMALS = 38
LEAF_MESSAGE_SIZE = 32
NODE_MESSAGE_SIZE = 128


@dataclass(frozen=True)
class Parameters:
    """``s`` (fragments per holding) and ``p`` (padding percent), both pinned by ``C``."""

    fragments: int = DEFAULT_FRAGMENTS
    padding: int = DEFAULT_PADDING

    def problem(self) -> str | None:
        """Why these are not por-v3 parameters (None when they are)."""
        for name, value, lo, hi in (("fragments", self.fragments, MIN_FRAGMENTS, MAX_FRAGMENTS),
                                    ("padding", self.padding, 0, MAX_PADDING)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                return f"{name} must be an integer in [{lo}, {hi}], got {value!r}"
        return None

    def as_json(self) -> dict[str, int]:
        return {"fragments": self.fragments, "padding": self.padding}


def lp(text: str) -> bytes:
    """``u8(len) ‖ UTF-8(text)``; raises ``ValueError`` beyond 255 bytes."""
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"{text[:20]!r}…: longer than 255 bytes")
    return v1.u8(len(raw)) + raw


def period_keys(secret: SecretKey, period: str) -> tuple[SecretKey, SecretKey]:
    """``(K_nonce, K_pad)`` of por-v3 for one period."""
    return derive(secret, period, NONCE_KEY_CONTEXT), derive(secret, period, PADDING_KEY_CONTEXT)


def user_nonce(k_nonce: SecretKey, user_id: str) -> bytes:
    """``nonce = Hk(K_nonce, U)``."""
    return v1.user_nonce(k_nonce, user_id)


def user_key(nonce: bytes, period: str, user_id: str) -> bytes:
    """``uk = Hk(nonce, lp(P) ‖ U)`` (por-v1's formula)."""
    return v1.user_key(nonce, period, user_id)


def fragment_message(symbol: str, index: int) -> bytes:
    """``0x00 ‖ lp(symbol) ‖ u8(i)``, hashed under ``uk``."""
    return FRAGMENT_TAG + lp(symbol) + v1.u8(index)


def fragment_key(uk: bytes, symbol: str, index: int) -> bytes:
    """``fk[j,i] = Hk(uk, 0x00 ‖ lp(symbol_j) ‖ u8(i))``."""
    return blake3(fragment_message(symbol, index), key=uk).digest()


def split_message(symbol: str, kind: int, index: int) -> bytes:
    """``0x01 ‖ lp(symbol) ‖ u8(t) ‖ u8(i)``, hashed under ``uk``."""
    return SPLIT_TAG + lp(symbol) + v1.u8(kind) + v1.u8(index)


def cut(amount: int, randomness: bytes) -> int:
    """``floor((a + 1) · R / 2^128)``, R the first 16 bytes of ``randomness``: in ``[0, a]``."""
    return ((amount + 1) * int.from_bytes(randomness[:16], "big")) >> 128


def split(amount: int, uk: bytes, symbol: str, kind: int, fragments: int) -> list[int]:
    """The ``s`` parts of ``amount`` (equity: kind 0, debt: kind 1); they sum to ``amount``."""
    if not 0 <= amount < U128_LIMIT:
        raise ValueError(f"amount {amount} is outside [0, 2^128)")
    cuts = sorted(cut(amount, blake3(split_message(symbol, kind, i), key=uk).digest())
                  for i in range(1, fragments))
    edges = [0, *cuts, amount]
    return [edges[i + 1] - edges[i] for i in range(fragments)]


def padding_leaf_key(k_pad: SecretKey, symbol: str, index: int) -> bytes:
    """``pk[j,d] = Hk(K_pad, 0x03 ‖ lp(symbol_j) ‖ u64be(d))``."""
    return blake3(PADDING_LEAF_TAG + lp(symbol) + v1.u64be(index), key=k_pad.reveal()).digest()


def padding_share(k_pad: SecretKey, symbol: str) -> int:
    """``Q_j``: the first 8 bytes of ``Hk(K_pad, 0x04 ‖ lp(symbol_j))`` as u64be."""
    return int.from_bytes(blake3(PADDING_SHARE_TAG + lp(symbol), key=k_pad.reveal()).digest()[:8], "big")


def padding_leaf_count(fragments: int, padding: int, share: int) -> int:
    """``X_j = max(0, 4096 − F_j) + floor(F_j · p · Q_j / (100 · 2^64))``."""
    return max(0, MIN_LEAVES - fragments) + (fragments * padding * share) // (100 << 64)


def leaf_message(equity: int, debt: int) -> bytes:
    """``u128be(equity) ‖ u128be(debt)``, hashed under the leaf's key."""
    return v1.u128be(equity) + v1.u128be(debt)


def leaf_hash(key: bytes, equity: int, debt: int) -> bytes:
    """``Hk(key, u128be(equity) ‖ u128be(debt))``: a fragment leaf (key ``fk``) or a padding leaf
    (key ``pk``, amounts 0)."""
    return blake3(leaf_message(equity, debt), key=key).digest()


def node_message(left_hash: bytes, left: Sequence[int], right_hash: bytes, right: Sequence[int]) -> bytes:
    """``h_L ‖ u128be(e_L) ‖ u128be(d_L) ‖ h_R ‖ u128be(e_R) ‖ u128be(d_R)`` (128 bytes)."""
    return left_hash + v1.u128be(left[0]) + v1.u128be(left[1]) + right_hash + v1.u128be(right[0]) + v1.u128be(right[1])


def node_hash(left_hash: bytes, left: Sequence[int], right_hash: bytes, right: Sequence[int]) -> bytes:
    """``Hk(K_node, node_message)``."""
    return blake3(node_message(left_hash, left, right_hash, right), key=NODE_KEY).digest()


def padding_message(symbol: str, level: int, index: int) -> bytes:
    """``0x02 ‖ lp(symbol) ‖ u8(level) ‖ u64be(index)``."""
    return PADDING_NODE_TAG + lp(symbol) + v1.u8(level) + v1.u64be(index)


def padding_hash(k_pad: SecretKey, symbol: str, level: int, index: int) -> bytes:
    """``Hk(K_pad, 0x02 ‖ lp(symbol) ‖ u8(level) ‖ u64be(index))``; its sums are (0, 0)."""
    return blake3(padding_message(symbol, level, index), key=k_pad.reveal()).digest()


def add_pair(left: Sequence[int], right: Sequence[int], level: int | None = None) -> tuple[int, int]:
    """``(e_L + e_R, d_L + d_R)``; raises ``SumOverflow`` (index 0 equity, 1 debt) at 2^128."""
    out = []
    for i in (EQUITY, DEBT):
        total = left[i] + right[i]
        if total >= U128_LIMIT:
            raise SumOverflow(i, level, total)
        out.append(total)
    return out[0], out[1]


@dataclass(frozen=True)
class TreeRoot:
    """One asset's published tree: shape and root."""

    bucket_bits: int
    bucket_height: int
    root_hash: bytes
    equity: int
    debt: int


def commitment_message(period: str, parameters: Parameters, assets: Sequence[tuple[str, int]],
                       trees: Sequence[TreeRoot]) -> bytes:
    """The bytes of ``C``. Preconditions (checked by verifiers before): valid parameters, 1..255
    assets with decimals in [0, 38], one tree per asset with k, h in [0, 64] and a 32-byte root."""
    if not 1 <= len(assets) <= MAX_ASSETS or len(trees) != len(assets):
        raise ValueError(f"{len(assets)} assets and {len(trees)} trees")
    problem = parameters.problem()
    if problem:
        raise ValueError(problem)
    parts = [COMMITMENT_TAG, lp(VERSION), lp(period), v1.u8(parameters.fragments), v1.u8(parameters.padding),
             v1.u8(len(assets))]
    for (symbol, decimals), tree in zip(assets, trees, strict=True):
        if not 0 <= decimals <= MAX_DECIMALS:
            raise ValueError(f"decimals {decimals} of {symbol!r} outside [0, {MAX_DECIMALS}]")
        if len(tree.root_hash) != 32:
            raise ValueError(f"the root hash of {symbol!r} is not 32 bytes")
        parts += [lp(symbol), v1.u8(decimals), v1.u8(tree.bucket_bits), v1.u8(tree.bucket_height), tree.root_hash,
                  v1.u128be(tree.equity), v1.u128be(tree.debt)]
    return b"".join(parts)


def commitment(period: str, parameters: Parameters, assets: Sequence[tuple[str, int]],
               trees: Sequence[TreeRoot]) -> bytes:
    """The announced value ``C`` (32 bytes)."""
    return blake3(commitment_message(period, parameters, assets, trees)).digest()
