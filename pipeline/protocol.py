"""The por-v1 protocol primitives: key derivation, encodings and node hashes.

Pure functions over bytes and ints; depends only on the standard library and
``blake3``. This module is the single definition of every byte string that the
protocol hashes (see ``schemas/por-v1.md``); the vectorised builder in
``pipeline.tree`` produces the same bytes in bulk and is checked against it.
"""

from __future__ import annotations

import re
from typing import Sequence

from blake3 import blake3

VERSION = "por-v1"
HASH_NAME = "blake3"
U128_LIMIT = 1 << 128
DIGEST_SIZE = 32
SECRET_SIZE = 32

LEAF_TAG = b"\x00"
NODE_TAG = b"\x01"
PADDING_TAG = b"\x02"

NONCE_KEY_CONTEXT = "por-v1 user nonce key"
PADDING_KEY_CONTEXT = "por-v1 padding key"

_PERIOD_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class SecretKey:
    """A 32-byte key whose value never appears in a repr, str or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if len(value) != SECRET_SIZE:
            raise ValueError(f"a key must be {SECRET_SIZE} bytes, got {len(value)}")
        self._value = bytes(value)

    def reveal(self) -> bytes:
        """The raw key bytes. Callers must not log or print them."""
        return self._value

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type["SecretKey"], tuple[bytes]]:
        return (SecretKey, (self._value,))


def is_valid_period(period: str) -> bool:
    """True when ``period`` is ``YYYY-MM`` with a month 01..12."""
    return bool(_PERIOD_RE.match(period))


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u64be(value: int) -> bytes:
    return value.to_bytes(8, "big")


def u128be(value: int) -> bytes:
    """Precondition: 0 <= value < 2**128 (to_bytes raises OverflowError otherwise)."""
    return value.to_bytes(16, "big")


def period_keys(secret: SecretKey, period: str) -> tuple[SecretKey, SecretKey]:
    """``(K_nonce, K_pad)`` for one period, derived from the master secret ``S``."""
    material = secret.reveal() + period.encode("utf-8")
    k_nonce = blake3(material, derive_key_context=NONCE_KEY_CONTEXT).digest()
    k_pad = blake3(material, derive_key_context=PADDING_KEY_CONTEXT).digest()
    return SecretKey(k_nonce), SecretKey(k_pad)


RESUME_KEY_CONTEXT = "por pipeline resume mac key"


def resume_key(secret: SecretKey, period: str) -> SecretKey:
    """Not part of por-v1 hashing: the key that authenticates a build's partial results
    (so a resumed build never trusts a stale or tampered bucket file)."""
    return SecretKey(blake3(secret.reveal() + period.encode("utf-8"), derive_key_context=RESUME_KEY_CONTEXT).digest())


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


def add_sums(left: Sequence[int], right: Sequence[int]) -> list[int]:
    """Element-wise sum; raises ``OverflowError`` naming the asset index if any reaches 2**128."""
    out = []
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        s = a + b
        if s >= U128_LIMIT:
            raise OverflowError(f"sum of asset #{i} reaches 2^128 ({s})")
        out.append(s)
    return out


def bucket_of(uk: bytes, bucket_bits: int) -> int:
    """The first ``bucket_bits`` bits of ``uk``, big-endian."""
    if bucket_bits == 0:
        return 0
    return int.from_bytes(uk[:8], "big") >> (64 - bucket_bits)


def default_bucket_bits(user_count: int, target_log2: int = 15, max_bits: int = 24) -> int:
    """``k = min(max_bits, max(0, bit_length(N - 1) - target_log2))``.

    With the defaults, buckets of 2^14..2^15 users on average; deterministic in
    the user count and the two documented parameters.
    """
    if user_count <= 1:
        return 0
    return min(max_bits, max(0, (user_count - 1).bit_length() - target_log2))


def height_for(largest_bucket: int) -> int:
    """The smallest ``h`` with ``2**h >= largest_bucket`` (0 for a bucket of at most one user)."""
    return max(0, (largest_bucket - 1).bit_length()) if largest_bucket > 0 else 0
