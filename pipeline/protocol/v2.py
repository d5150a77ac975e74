"""por-v2: por-v1's tree, and one announced value that pins everything a user reads.

The tree (keys, leaves, nodes, padding, shape) is por-v1's, byte for byte. What por-v2 adds is the
*announced value* ``C``, the one value the exchange announces and every verifier prints::

    C = H(0x03 ‖ lp("por-v2") ‖ lp(P) ‖ u8(m) ‖ [lp(symbol_i) ‖ u8(decimals_i)] for i = 1..m
          ‖ u8(k) ‖ u8(h) ‖ root_hash ‖ u128be(root_sum_1) ‖ … ‖ u128be(root_sum_m))

with ``lp(x) = u8(len(UTF-8(x))) ‖ UTF-8(x)``. Every field is fixed-width or length-prefixed, so
the encoding is unambiguous; changing any label, decimal, the order of the assets, the shape or a
root sum changes ``C`` (``schemas/por-v2.md``).
"""

from __future__ import annotations

from typing import Sequence

from blake3 import blake3

from . import v1

VERSION = "por-v2"
COMMITMENT_TAG = b"\x03"
MAX_DECIMALS = 38
MAX_ASSETS = 255
MAX_LABEL_BYTES = 255


def lp(text: str) -> bytes:
    """``u8(len) ‖ UTF-8(text)``; raises ``ValueError`` beyond 255 bytes."""
    raw = text.encode("utf-8")
    if len(raw) > MAX_LABEL_BYTES:
        raise ValueError(f"{text[:20]!r}…: longer than {MAX_LABEL_BYTES} bytes")
    return v1.u8(len(raw)) + raw


def commitment_message(period: str, assets: Sequence[tuple[str, int]], bucket_bits: int, bucket_height: int,
                       root_hash: bytes, root_sums: Sequence[int]) -> bytes:
    """The bytes hashed into the announced value. Preconditions (checked by verifiers before):
    at most 255 assets, decimals in [0, 38], k and h in [0, 64], a 32-byte root hash, one sum per asset."""
    if len(assets) > MAX_ASSETS or len(root_sums) != len(assets):
        raise ValueError(f"{len(assets)} assets and {len(root_sums)} root sums")
    parts = [COMMITMENT_TAG, lp(VERSION), lp(period), v1.u8(len(assets))]
    for symbol, decimals in assets:
        if not 0 <= decimals <= MAX_DECIMALS:
            raise ValueError(f"decimals {decimals} of {symbol!r} outside [0, {MAX_DECIMALS}]")
        parts += [lp(symbol), v1.u8(decimals)]
    parts += [v1.u8(bucket_bits), v1.u8(bucket_height), root_hash, v1.encode_sums(root_sums)]
    return b"".join(parts)


def commitment(period: str, assets: Sequence[tuple[str, int]], bucket_bits: int, bucket_height: int,
               root_hash: bytes, root_sums: Sequence[int]) -> bytes:
    """The announced value ``C`` (32 bytes)."""
    return blake3(commitment_message(period, assets, bucket_bits, bucket_height, root_hash, root_sums)).digest()
