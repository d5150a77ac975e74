"""``formats.columns.signed_amount_words`` on decimal columns whose scale is not the asset's: Arrow's
rescaling cast (the fast path) against an exact reference in Python integers, value by value, on
generated columns: the same magnitudes and signs, and the same refusal (the same value named, for the
same reason) of a value with more fractional digits than the asset has, or one not below 2^128
smallest units."""

from __future__ import annotations

from decimal import Context, Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import BadValue
from pipeline.formats import columns
from pipeline.formats.columns import signed_amount_words

LIMIT = 2**128


def reference(unscaled: list[int], scale: int, decimals: int) -> tuple[list[int], int | None, str]:
    """Smallest units of each value (magnitude with sign), and the first refused value's index and why."""
    out = []
    for i, v in enumerate(unscaled):
        if decimals >= scale:
            units = v * 10 ** (decimals - scale)
        else:
            units, rest = divmod(abs(v), 10 ** (scale - decimals))
            if rest:
                return out, i, "more fractional digits"
            units = units if v >= 0 else -units
        if abs(units) >= LIMIT:
            return out, i, "2^128"
        out.append(units)
    return out, None, ""


@st.composite
def decimal_columns(draw):
    wide = draw(st.booleans())
    most = 76 if wide else 38
    precision = draw(st.integers(1, most))
    scale = draw(st.integers(0, precision))
    decimals = draw(st.integers(0, 30))
    top = 10**precision - 1
    # values either on the asset's grid (rescale exactly) or anywhere (some refused), some at the type's edges
    step = 10 ** max(scale - decimals, 0)
    grid = st.integers(-(top // step), top // step).map(lambda k: k * step)
    edge = st.sampled_from([0, top, -top, step, -step, (LIMIT - 1) * 10 ** max(scale - decimals, 0)]).filter(
        lambda v: abs(v) <= top)
    values = draw(st.lists(st.one_of(grid, edge, st.integers(-top, top)), min_size=1, max_size=40))
    return wide, precision, scale, decimals, values


def column(wide: bool, precision: int, scale: int, values: list[int]) -> pa.Array:
    kind = (pa.decimal256 if wide else pa.decimal128)(precision, scale)
    return pa.array([Decimal(v).scaleb(-scale, Context(prec=100)) for v in values], kind)


def raw_column(wide: bool, precision: int, scale: int, values: list[int]) -> pa.Array:
    """A decimal column holding ``values`` (unscaled) as they are, even past its precision: Parquet and
    Arrow do not enforce the declared precision, so a file can hold them."""
    width = 32 if wide else 16
    data = b"".join((v % 2 ** (8 * width)).to_bytes(width, "little") for v in values)
    kind = (pa.decimal256 if wide else pa.decimal128)(precision, scale)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(data)])


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.integers(1, 38), st.data())
def test_values_past_the_declared_precision_are_refused_or_exact(wide, precision, data):
    """Unscaled values past the column's precision (up to the width's limit): rescaled exactly or
    refused for the value's own reason, never wrapped modulo 2^128 (the reviewer's case: decimal128(37, 17)
    holding 38·10^36 for an asset of 18 decimals)."""
    most = 76 if wide else 38
    precision = min(precision, most)
    scale = data.draw(st.integers(0, precision))
    decimals = data.draw(st.integers(0, 30))
    limit = 2 ** (8 * (32 if wide else 16) - 1) - 1
    values = data.draw(st.lists(st.one_of(st.integers(-limit, limit), st.integers(10**precision, 10**min(most, precision + 3))),
                                min_size=1, max_size=8))
    arr = raw_column(wide, precision, scale, values)
    want, refused, why = reference(values, scale, decimals)
    if refused is not None:
        with pytest.raises(BadValue) as exc:
            signed_amount_words(arr, decimals)
        assert exc.value.index == refused and why in exc.value.reason, (exc.value.index, refused, exc.value.reason)
        return
    lo, hi, negative = signed_amount_words(arr, decimals)
    assert [(-1 if n else 1) * ((int(h) << 64) | int(v)) for v, h, n in zip(lo, hi, negative, strict=True)] == want


def test_the_reviewers_wrapping_case_is_refused():
    arr = raw_column(False, 37, 17, [38 * 10**36])
    with pytest.raises(BadValue) as exc:
        signed_amount_words(arr, 18)
    assert exc.value.index == 0 and "2^128" in exc.value.reason


@settings(max_examples=400, deadline=None)
@given(decimal_columns())
def test_rescaled_decimals_match_exact_integers(case):
    wide, precision, scale, decimals, values = case
    arr = column(wide, precision, scale, values)
    want, refused, why = reference(values, scale, decimals)
    if refused is not None:
        with pytest.raises(BadValue) as exc:
            signed_amount_words(arr, decimals)
        assert exc.value.index == refused, (exc.value.index, refused, exc.value.reason)
        assert why in exc.value.reason
        return
    lo, hi, negative = signed_amount_words(arr, decimals)
    got = [(-1 if n else 1) * ((int(h) << 64) | int(v)) for v, h, n in zip(lo, hi, negative, strict=True)]
    assert got == want


def test_the_cast_is_taken_and_the_loop_is_not(monkeypatch):
    """The fast path runs (no per-value loop) for a column Arrow can rescale, and the loop still names the
    value a cast refuses: the test fails if the cast path is dropped or swallows a refusal."""
    arr = column(True, 76, 38, [12_345 * 10**32, -7 * 10**36, 0])
    calls = []
    real = columns._rescaled

    def counted(t, decimals):
        calls.append((t, decimals))
        return real(t, decimals)

    monkeypatch.setattr(columns, "_rescaled", counted)
    monkeypatch.setattr(columns, "U128_LIMIT", None)  # the per-value loop compares with it: it would raise
    lo, hi, negative = signed_amount_words(arr, 6)
    assert calls == [(pa.decimal256(76, 38), 6)] and lo.tolist() == [12_345, 70_000, 0] and negative.tolist() == [False, True, False]
    monkeypatch.undo()
    with pytest.raises(BadValue) as exc:
        signed_amount_words(column(True, 76, 38, [10**32, 10**32 + 1]), 6)
    assert exc.value.index == 1 and "more fractional digits" in exc.value.reason


def test_rescaled_type_holds_every_value():
    assert columns._rescaled(pa.decimal256(76, 38), 6) == pa.decimal256(44, 6)
    assert columns._rescaled(pa.decimal128(20, 2), 18) == pa.decimal128(36, 18)
    assert columns._rescaled(pa.decimal128(38, 2), 18) is None  # 38 - 2 + 18 = 54 digits: past decimal128
    assert columns._rescaled(pa.decimal256(76, 0), 18) is None
