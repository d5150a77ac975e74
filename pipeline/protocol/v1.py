"""The por-v1 byte strings: every message the protocol hashes, defined once.

Pure functions over bytes and ints; standard library and ``blake3`` only (see
``schemas/por-v1.md``). The vectorised builder in ``pipeline.tree`` assembles the same
messages in bulk from the constants here and is checked against these functions.
"""

from __future__ import annotations

from typing import Sequence

from blake3 import blake3

from ..errors import SumOverflow
from .amounts import U128_LIMIT
from .keys import SecretKey

VERSION = "por-v1"
HASH_NAME = "blake3"
DIGEST_SIZE = 32
SUM_SIZE = 16
"""Bytes of one ``u128be`` amount."""

LEAF_TAG = b"\x00"
NODE_TAG = b"\x01"
PADDING_TAG = b"\x02"


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u64be(value: int) -> bytes:
    return value.to_bytes(8, "big")


def u128be(value: int) -> bytes:
    """Precondition: 0 <= value < 2**128 (to_bytes raises OverflowError otherwise)."""
    return value.to_bytes(SUM_SIZE, "big")


def user_nonce(k_nonce: SecretKey, user_id: str) -> bytes:
    """``nonce = Hk(K_nonce, U)``: handed to the user with their proof."""
    return blake3(user_id.encode("utf-8"), key=k_nonce.reveal()).digest()


def period_prefix(period: str) -> bytes:
    """``u8(len(P)) ‖ P``: the fixed part of every user-key message of a period."""
    p = period.encode("utf-8")
    return u8(len(p)) + p


def user_key(nonce: bytes, period: str, user_id: str) -> bytes:
    """``uk = Hk(nonce, u8(len(P)) ‖ P ‖ U)``."""
    return blake3(period_prefix(period) + user_id.encode("utf-8"), key=nonce).digest()


def encode_sums(sums: Sequence[int]) -> bytes:
    """The concatenated ``u128be`` encodings of a sum vector (asset order)."""
    return b"".join(u128be(s) for s in sums)


def leaf_size(m: int) -> int:
    """Bytes of a leaf message over ``m`` assets: ``1 + 32 + 16 m``."""
    return len(LEAF_TAG) + DIGEST_SIZE + SUM_SIZE * m


def node_size(m: int) -> int:
    """Bytes of a node message over ``m`` assets: ``1 + 2 (32 + 16 m)``."""
    return len(NODE_TAG) + 2 * (DIGEST_SIZE + SUM_SIZE * m)


def leaf_hash(uk: bytes, balances: Sequence[int]) -> bytes:
    """``H(0x00 ‖ uk ‖ u128be(b_1) ‖ … ‖ u128be(b_m))``."""
    return blake3(LEAF_TAG + uk + encode_sums(balances)).digest()


def node_hash(
    left_hash: bytes, left_sums: Sequence[int], right_hash: bytes, right_sums: Sequence[int]
) -> bytes:
    """``H(0x01 ‖ h_L ‖ u128be(s_L) ‖ h_R ‖ u128be(s_R))``: each child's sums, separately."""
    return blake3(
        NODE_TAG + left_hash + encode_sums(left_sums) + right_hash + encode_sums(right_sums)
    ).digest()


def padding_message(level: int, index: int) -> bytes:
    """``0x02 ‖ u8(level) ‖ u64be(index)``."""
    return PADDING_TAG + u8(level) + u64be(index)


def padding_hash(k_pad: SecretKey, level: int, index: int) -> bytes:
    """``Hk(K_pad, 0x02 ‖ u8(level) ‖ u64be(index))``; its sums are all zero."""
    return blake3(padding_message(level, index), key=k_pad.reveal()).digest()


def add_sums(left: Sequence[int], right: Sequence[int], level: int | None = None) -> list[int]:
    """Element-wise sum; raises ``SumOverflow`` naming the asset index if any reaches 2**128."""
    out = []
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        s = a + b
        if s >= U128_LIMIT:
            raise SumOverflow(i, level, s)
        out.append(s)
    return out
