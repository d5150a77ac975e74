"""Parquet/Arrow columns of amounts and ids, converted exactly and checked value by value.

Shared by every reader of exchange data (snapshot, reserves): amounts are integer columns
(smallest units) or decimal columns (whole units, converted exactly with the asset's decimals);
floats are refused. A bad value raises ``BadValue`` with its index in the array, which the
caller turns into file, column and row.

Signed columns may carry debt (protocol por-v3, ``schemas/snapshot.md``): ``signed_amount_words``
returns exact magnitudes and a sign per value (two's complement undone word by word, so
``INT64_MIN`` and the most negative decimals are exact); ``amount_words`` refuses every negative value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..errors import BadValue, InputError
from ..protocol.amounts import U128_LIMIT

_WORD = 0xFFFF_FFFF_FFFF_FFFF


def is_text(t: pa.DataType) -> bool:
    """String, large string or dictionary-encoded (categorical) column."""
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t))


def check_amount_type(t: pa.DataType, column: str, where: str) -> None:
    if pa.types.is_floating(t):
        raise InputError(
            f"{where}: column {column!r} has floating-point type {t}; amounts must be integers "
            "(smallest units) or decimals (whole units), never floats"
        )
    if not (pa.types.is_integer(t) or pa.types.is_decimal(t)):
        raise InputError(f"{where}: column {column!r} has type {t}; amounts must be integer or decimal")


def first_index(mask: pa.Array | np.ndarray) -> int:
    arr = mask.to_numpy(zero_copy_only=False) if isinstance(mask, (pa.Array, pa.ChunkedArray)) else mask
    return int(np.flatnonzero(arr)[0])


def amounts_to_u128(arr: pa.Array, decimals: int) -> np.ndarray:
    """Exact conversion of an integer (smallest units) or decimal (whole units) array.

    Returns ``(n, 2)`` uint64 ``[hi, lo]``. Raises ``BadValue`` at the first null, negative,
    over-precise or ``>= 2**128`` value.
    """
    lo, hi = amount_words(arr, decimals)
    out = np.empty((len(lo), 2), dtype=np.uint64)
    out[:, 0] = hi
    out[:, 1] = lo
    return out


def amount_words(arr: pa.Array, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """``amounts_to_u128`` as two uint64 arrays ``(lo, hi)``, without a copy where the column already
    holds them (integer columns; decimals whose scale is the asset's)."""
    lo, hi, negative = signed_amount_words(arr, decimals)
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise BadValue(i, f"negative amount {arr[i].as_py()}")
    return lo, hi


def signed_amount_words(arr: pa.Array, decimals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact magnitude of every value as two uint64 arrays ``(lo, hi)`` (smallest units), and
    ``negative`` (bool) where the value is below zero.

    Raises ``BadValue`` at the first null, over-precise value (more fractional digits than
    ``decimals``, never rounded) or value whose magnitude is not below ``2**128`` smallest units."""
    n = len(arr)
    if arr.null_count:
        raise BadValue(first_index(arr.is_null()), "null amount")
    t = arr.type
    if pa.types.is_integer(t):
        values = arr.to_numpy(zero_copy_only=False)
        if not pa.types.is_signed_integer(t):
            return values.astype(np.uint64, copy=False), np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=bool)
        negative = values < 0
        if not negative.any():
            return values.astype(np.uint64, copy=False), np.zeros(n, dtype=np.uint64), negative
        # |v| modulo 2^64 is exact for every int64, INT64_MIN included (its magnitude is 2^63)
        raw = values.astype(np.int64).view(np.uint64)
        return np.where(negative, np.uint64(0) - raw, raw), np.zeros(n, dtype=np.uint64), negative
    # decimal: whole units -> smallest units, exactly. Unscaled values are
    # little-endian two's complement words (2 for decimal128, 4 for decimal256).
    width = t.byte_width // 8
    words = np.frombuffer(arr.buffers()[1], dtype="<u8")[arr.offset * width : (arr.offset + n) * width]
    words = words.reshape(n, width)
    negative = (words[:, -1] >> np.uint64(63)) == 1
    if negative.any():
        words = _magnitudes(words, negative)
    if t.scale == decimals:
        too_big = words[:, 2:].any(axis=1) if width > 2 else np.zeros(n, dtype=bool)
        if too_big.any():
            i = int(np.flatnonzero(too_big)[0])
            raise BadValue(i, f"amount {arr[i].as_py()} {_not_below(bool(negative[i]))}")
        return words[:, 0], words[:, 1], negative
    # fewer places than the column's: Arrow's rescaling cast, a division that refuses (ArrowInvalid) a value
    # that would lose a digit; the per-value loop below names the value it refused. More places (a
    # multiplication) always take the loop: Arrow's overflow check can miss a product that wraps when a
    # stored value is past the type's precision, which Parquet does not enforce.
    target = _rescaled(t, decimals) if decimals < t.scale else None
    if target is not None:
        try:
            rescaled = arr.cast(target, safe=True)
        except pa.ArrowInvalid:
            pass
        else:
            return signed_amount_words(rescaled, decimals)
    lo, hi = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64)
    raw = words.tobytes()
    step = 8 * width
    for i in range(n):
        value = int.from_bytes(raw[i * step : (i + 1) * step], "little")
        if decimals > t.scale:
            value *= 10 ** (decimals - t.scale)
        else:
            value, rest = divmod(value, 10 ** (t.scale - decimals))
            if rest:
                raise BadValue(
                    i, f"amount {arr[i].as_py()} has more fractional digits than the asset's {decimals}"
                )
        if value >= U128_LIMIT:
            raise BadValue(i, f"amount {arr[i].as_py()} {_not_below(bool(negative[i]))}")
        hi[i] = value >> 64
        lo[i] = value & _WORD
    return lo, hi, negative


def _rescaled(t: pa.DataType, decimals: int) -> pa.DataType | None:
    """The decimal type of ``t``'s width at scale ``decimals`` holding every value of ``t`` (None when
    the width's largest precision cannot: an upward rescaling past it)."""
    most = {16: 38, 32: 76}.get(t.byte_width)
    if most is None or decimals < 0 or t.scale > most:
        return None
    precision = t.precision - t.scale + decimals
    if precision > most:
        return None
    make = pa.decimal128 if t.byte_width == 16 else pa.decimal256
    return make(max(precision, 1), decimals)


def _not_below(negative: bool) -> str:
    return "has a magnitude that is not below 2^128 smallest units" if negative else "is not below 2^128 smallest units"


def _magnitudes(words: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """Rows of little-endian two's complement words with ``negative`` rows negated (``~x + 1``, the
    carry rippling word by word): every row then holds the magnitude of its value."""
    out = words.copy()
    carry = negative.astype(np.uint64)
    for k in range(words.shape[1]):
        flipped = np.where(negative, ~words[:, k], words[:, k])
        out[:, k] = flipped + carry
        carry = carry & (out[:, k] == 0).astype(np.uint64)
    return out
