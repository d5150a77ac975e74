"""The per-user collateral rule of por-v3 (``schemas/por-v3.md`` section 10), checked exactly.

A user's collateral covers their debt when, in rational arithmetic,

    Σ_j e_j · price_j · haircut_j  ≥  Σ_j d_j · price_j

with ``e_j``, ``d_j`` the user's equity and debt in asset ``j`` in whole units (smallest units /
10^decimals_j), ``price_j`` the US-dollar price of one whole unit and ``haircut_j`` in [0, 1]. Equal
sides pass; a user without debt always passes. No float is involved anywhere: every price and
haircut is an exact ``Fraction``, and the two sides are compared as integers after multiplying by
one common denominator ``L`` (``Terms``), with Python's unbounded integers (NumPy object arrays, so
the per-entry products and per-user sums run in C loops). Only users with some debt are converted
to integers at all; finding them is a byte test over the file's amounts.

The API, for ``por audit`` (``liabilities.audit_v3``: on workers, one private user file at a time, with
the month's terms; ``por publish`` passes them and refuses a month with a failing user)::

    terms = collateral_terms(assets, prices, haircuts)     # once per month; small, pickles
    result = check_users(held, amounts, terms)             # the arrays of one user file
    result = check_table(table, terms, file="g00003")      # a pyarrow Table with ``held``, ``amounts``
    result = check_user_file(url, terms, storage_options)  # reads private/users/gNNNNN.parquet
    total = CollateralResult.combine(results)              # over every file, in file order

* ``assets``: the month's assets in asset order, ``(symbol, decimals)`` pairs or ``Asset``;
* ``prices``, ``haircuts``: symbol -> ``Decimal``, ``Fraction``, ``int`` or decimal ``str`` (a
  ``float`` is refused); every asset needs both. A zero price is accepted here (an asset nobody
  holds); ``por publish`` refuses a zero price for an asset anybody owes or holds, before this runs.
* ``held``: ``(n, m)`` bool array, or the ``(n, ceil(m/8))`` uint8 mask bytes of the user file
  (asset ``j`` is bit ``j % 8`` of byte ``j // 8``, spec section 11);
* ``amounts``: ``(N, 32)`` uint8, one row ``u128be(equity) ‖ u128be(debt)`` per held asset, users in
  row order and each user's assets in asset order (``N`` = the number of bits set in ``held``: the
  user file's ``amounts`` lists, flattened); ``starts`` (optional, ``(n + 1,)``): where each user's
  amounts begin, checked against the mask (``formats.users_file.UsersData`` gives ``masks``,
  ``amounts`` and ``starts``: ``check_users(u.masks, u.amounts, terms, starts=u.starts)``).

``CollateralResult``: ``users_checked`` (rows), ``users_with_debt``, ``failures`` (users failing)
and ``first_failures``: the first ``first`` failing users as ``Failure(row, shortfall, file)``,
``shortfall`` the exact US-dollar amount by which the debt side exceeds the collateral side (a
``Fraction``; ``usd_text`` writes it exactly). Rows and shortfalls are private: they go to the
private log, never to the terminal or a public file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import AuditError, InputError

AMOUNT_BYTES = 32
FIRST = 5
"""How many failing users a result names by default."""

Rational = Decimal | Fraction | int | str


def _exact(value: Rational, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (Decimal, Fraction, int, str)):
        raise InputError(f"{what} must be an exact number (Decimal, Fraction, int or decimal string), "
                         f"not {type(value).__name__}")
    try:
        out = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{what} = {value!r} is not a number") from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise InputError(f"{what} = {value!r} is not a finite number")
    return out


@dataclass(frozen=True)
class Terms:
    """The month's rule as integers: a user passes when ``Σ e_j·collateral[j] ≥ Σ d_j·debt[j]``
    over smallest units; each side divided by ``denominator`` is US dollars."""

    symbols: tuple[str, ...]
    collateral: tuple[int, ...]
    """``price_j · haircut_j / 10^decimals_j · denominator``, an integer."""
    debt: tuple[int, ...]
    """``price_j / 10^decimals_j · denominator``, an integer."""
    denominator: int


def collateral_terms(assets: Sequence[Any], prices: Mapping[str, Rational],
                     haircuts: Mapping[str, Rational]) -> Terms:
    """The integer weights of the rule for ``assets`` (asset order), with one common denominator.
    Raises ``InputError`` naming the asset for a missing or out-of-range price or haircut."""
    symbols: list[str] = []
    per_collateral: list[Fraction] = []
    per_debt: list[Fraction] = []
    for asset in assets:
        symbol, decimals = (asset.symbol, asset.decimals) if hasattr(asset, "symbol") else asset
        if symbol not in prices:
            raise InputError(f"no price for {symbol}: the collateral rule needs one for every asset")
        if symbol not in haircuts:
            raise InputError(f"no haircut for {symbol}: the collateral rule needs one for every asset")
        price = _exact(prices[symbol], f"the price of {symbol}")
        haircut = _exact(haircuts[symbol], f"the haircut of {symbol}")
        if price < 0:
            raise InputError(f"the price of {symbol} is negative ({price})")
        if not 0 <= haircut <= 1:
            raise InputError(f"the haircut of {symbol} is {haircut}, outside [0, 1]")
        unit = Fraction(1, 10 ** int(decimals))
        symbols.append(str(symbol))
        per_debt.append(price * unit)
        per_collateral.append(price * haircut * unit)
    denominator = 1
    for w in (*per_collateral, *per_debt):
        denominator = denominator * w.denominator // math.gcd(denominator, w.denominator)
    return Terms(tuple(symbols), tuple(int(w * denominator) for w in per_collateral),
                 tuple(int(w * denominator) for w in per_debt), denominator)


class Failure(NamedTuple):
    row: int
    """The user's row in its user file (0-based)."""
    shortfall: Fraction
    """US dollars: debt side − collateral side (> 0)."""
    file: str | None = None
    """The user file (as the caller names it), when known."""


@dataclass(frozen=True)
class CollateralResult:
    users_checked: int = 0
    users_with_debt: int = 0
    failures: int = 0
    first_failures: tuple[Failure, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.failures == 0

    @staticmethod
    def combine(results: Iterable["CollateralResult"], first: int = FIRST) -> "CollateralResult":
        """The results of several files (in the order given) as one; the first ``first`` failures kept."""
        checked = with_debt = failures = 0
        named: list[Failure] = []
        for r in results:
            checked, with_debt, failures = checked + r.users_checked, with_debt + r.users_with_debt, failures + r.failures
            named += r.first_failures[:max(0, first - len(named))]
        return CollateralResult(checked, with_debt, failures, tuple(named))


def held_matrix(held: np.ndarray, m: int) -> np.ndarray:
    """``held`` as an ``(n, m)`` bool matrix: given as one, or as ``(n, ceil(m/8))`` mask bytes (a set
    bit beyond asset ``m − 1`` is refused)."""
    held = np.asarray(held)
    if held.ndim != 2:
        raise AuditError(f"held: expected a 2-dimensional array, got shape {held.shape}")
    if held.dtype == np.bool_:
        if held.shape[1] != m:
            raise AuditError(f"held: {held.shape[1]} columns for {m} assets")
        return held
    if held.dtype != np.uint8 or held.shape[1] != (m + 7) // 8:
        raise AuditError(f"held: expected {(m + 7) // 8} mask bytes per user (uint8), got {held.dtype} {held.shape}")
    bits = np.unpackbits(held, axis=1, bitorder="little").astype(bool)
    if bits[:, m:].any():
        row = int(np.flatnonzero(bits[:, m:].any(axis=1))[0])
        raise AuditError(f"held: row {row} marks an asset beyond the {m} assets")
    return bits[:, :m]


def _u128(column: np.ndarray) -> np.ndarray:
    """``(k, 16)`` uint8 big-endian -> a length-``k`` object array of Python ints."""
    words = np.ascontiguousarray(column).view(">u8").reshape(-1, 2)
    return words[:, 0].astype(object) * (1 << 64) + words[:, 1].astype(object)


def check_users(held: np.ndarray, amounts: np.ndarray, terms: Terms, first: int = FIRST,
                file: str | None = None, starts: np.ndarray | None = None) -> CollateralResult:
    """Every user of one file against the rule (see the module's docstring for the arrays). ``starts``
    (``(n + 1,)``, where each user's amounts begin, as the user file's lists give them): when given, a
    user whose list is not as long as the assets its mask marks is refused, naming the row."""
    m = len(terms.symbols)
    matrix = held_matrix(held, m)
    n = matrix.shape[0]
    amounts = np.asarray(amounts)
    counts = matrix.sum(axis=1)
    if starts is not None:
        lengths = np.diff(np.asarray(starts, dtype=np.int64))
        if len(lengths) != n or (lengths != counts).any():
            row = int(np.flatnonzero(lengths != counts)[0]) if len(lengths) == n else min(n, len(lengths))
            raise AuditError(f"{file or 'user file'} row {row}: {int(lengths[row]) if row < len(lengths) else 'no'} "
                             f"amounts for {int(counts[row]) if row < n else 'no'} held assets")
    if amounts.dtype != np.uint8 or amounts.ndim != 2 or amounts.shape[1] != AMOUNT_BYTES:
        raise AuditError(f"amounts: expected ({int(counts.sum())}, {AMOUNT_BYTES}) uint8, got {amounts.dtype} "
                         f"{amounts.shape}")
    if amounts.shape[0] != int(counts.sum()):
        raise AuditError(f"amounts: {amounts.shape[0]} entries for {int(counts.sum())} held assets")
    if n == 0:
        return CollateralResult()
    owner = np.repeat(np.arange(n), counts)
    in_debt = amounts[:, 16:].any(axis=1)
    debtor = np.zeros(n, dtype=bool)
    debtor[owner[in_debt]] = True
    users_with_debt = int(debtor.sum())
    if users_with_debt == 0:
        return CollateralResult(n, 0, 0, ())
    asset = np.nonzero(matrix)[1]  # row-major: each user's held assets in asset order, users in row order
    take = debtor[owner]
    sub_owner, sub_asset, sub = owner[take], asset[take], amounts[take]
    weights_c = np.array(terms.collateral, dtype=object)
    weights_d = np.array(terms.debt, dtype=object)
    excess = _u128(sub[:, 16:]) * weights_d[sub_asset] - _u128(sub[:, :16]) * weights_c[sub_asset]
    starts = np.flatnonzero(np.r_[True, sub_owner[1:] != sub_owner[:-1]])
    per_user = np.add.reduceat(excess, starts)
    rows = sub_owner[starts]
    failing = np.flatnonzero(np.fromiter((v > 0 for v in per_user), dtype=bool, count=len(per_user)))
    named = tuple(Failure(int(rows[i]), Fraction(int(per_user[i]), terms.denominator), file)
                  for i in failing[:first])
    return CollateralResult(n, users_with_debt, len(failing), named)


def _fixed_bytes(array: Any, width: int, what: str) -> np.ndarray:
    """A pyarrow binary / fixed-size binary array whose every value is ``width`` bytes, as
    ``(len, width)`` uint8 (nulls and other widths refused)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise AuditError(f"{what}: {array.null_count} null value(s)")
    n = len(array)
    if pa.types.is_fixed_size_binary(array.type):
        if array.type.byte_width != width:
            raise AuditError(f"{what}: {array.type.byte_width}-byte values, expected {width}")
        data = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        return data[array.offset * width:(array.offset + n) * width].reshape(n, width)
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if pa.types.is_large_binary(array.type)
                                else np.int32)[array.offset:array.offset + n + 1]
        if n and (np.diff(offsets) != width).any():
            row = int(np.flatnonzero(np.diff(offsets) != width)[0])
            raise AuditError(f"{what}: value {row} is not {width} bytes")
        data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if n else np.zeros(0, np.uint8)
        return data[offsets[0]:offsets[0] + n * width].reshape(n, width)
    raise AuditError(f"{what}: type {array.type}, expected binary")


def check_table(table: Any, terms: Terms, first: int = FIRST, file: str | None = None) -> CollateralResult:
    """A user file's table (columns ``held`` and ``amounts``; others ignored) against the rule; a list
    whose length is not the number of assets its ``held`` marks is refused."""
    import pyarrow as pa

    m = len(terms.symbols)
    for name in ("held", "amounts"):
        if name not in table.column_names:
            raise AuditError(f"{file or 'user file'}: no {name} column")
    held = _fixed_bytes(table.column("held"), (m + 7) // 8, "held")
    lists = table.column("amounts")
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    if not (pa.types.is_list(lists.type) or pa.types.is_large_list(lists.type)) or lists.null_count:
        raise AuditError(f"{file or 'user file'}: amounts must be non-null lists of {AMOUNT_BYTES}-byte values")
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    values = lists.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])) if len(lists) else lists.values
    return check_users(held, _fixed_bytes(values, AMOUNT_BYTES, "amounts"), terms, first, file, offsets - offsets[0])


def check_user_file(url: str, terms: Terms, storage_options: Mapping[str, Any] | None = None,
                    first: int = FIRST, file: str | None = None) -> CollateralResult:
    """One private user file (``private/users/gNNNNN.parquet``) read and checked; ``file`` names it
    in the failures (the URL by default)."""
    from ..storage import fs as storage

    fs, path = storage.open_fs(url, storage_options)
    return check_user_bytes(storage.read_bytes(fs, path, url), terms, first, file or url)


def check_user_bytes(data: bytes, terms: Terms, first: int = FIRST, file: str | None = None) -> CollateralResult:
    """A user file's bytes, read by the user file's own reader (``formats.users_file.decode_users``:
    exactly its columns and types, else ``BundleError``) and checked."""
    from ..formats.users_file import decode_users

    users = decode_users(data, file or "user file", len(terms.symbols))
    return check_users(users.masks, users.amounts, terms, first, file, users.starts)


def usd_text(value: Fraction) -> str:
    """An exact dollar amount as a decimal string with every digit (its denominator divides a power of
    ten, as every price, haircut and 10^decimals does); otherwise rounded toward zero to 18 places,
    marked with ``…``."""
    sign, value = ("-" if value < 0 else ""), abs(value)
    places = 0
    while (value * 10**places).denominator != 1 and places < 80:
        places += 1
    scaled = value * 10**places
    cut = scaled.denominator != 1
    if cut:
        places = 18
    digits = str(int(value * 10**places))
    whole, frac = (digits[:-places] or "0", digits[-places:].rjust(places, "0")) if places else (digits, "")
    return f"{sign}{whole}{'.' + frac if frac else ''}{'…' if cut else ''}"
