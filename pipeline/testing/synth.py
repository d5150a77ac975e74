"""``por synth``: realistic synthetic snapshots for demos, tests and benchmarks.

Heavy-tailed balances (a uniform 20-bit mantissa times a power of ten a geometric
number of steps below the asset's largest plausible holding, about ``MAX_HOLDING_USD``),
most users holding 1-3 assets, about 2 % holding nothing, a mix of
6/8/18-decimal assets stored as integer (smallest units) and decimal (whole
units) columns. Integer arithmetic only. The content is a function of
``(users, assets, seed, layout, debt_per_mille)`` alone; ``files`` and ``file_format`` (Parquet, or
CSV in whole units) only change the layout on disk.

With ``debt_per_mille``, about that share of the users also owe debt (protocol por-v3,
``schemas/snapshot.md``): in one asset they do not hold, worth 1 % to 7 % of their most valuable
holding at the synthetic prices (``PRICES``; a month's prices move each by at most 15 %, so the
collateral still covers the debt ten times over), written as a negative amount.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from ..formats.assets import Asset, protocol_order
from ..formats.columns import signed_amount_words
from ..formats.prices import FORMAT as PRICES_FORMAT
from ..liabilities.read import amount_array, whole_file
from ..liabilities.snapshot import CSV, PARQUET, WIDE, layout_problem, plan_snapshot
from ..storage import fs as storage

KNOWN = [
    ("BTC", 8), ("ETH", 18), ("USDT", 6), ("USDC", 6), ("BNB", 18), ("XRP", 6), ("SOL", 8),
    ("DOGE", 8), ("TRX", 6), ("LTC", 8), ("LINK", 18), ("DAI", 18), ("ADA", 6), ("UNI", 18),
    ("BCH", 8), ("AVAX", 18), ("ATOM", 6), ("SHIB", 18), ("FIL", 18), ("APT", 8), ("ARB", 18), ("XLM", 6),
]
PRICES = {"BTC": "91250", "ETH": "3120", "USDT": "1", "USDC": "1", "BNB": "610", "XRP": "2.1", "SOL": "180",
          "DOGE": "0.21", "TRX": "0.26", "LTC": "95", "LINK": "17", "DAI": "1", "ADA": "0.7", "UNI": "9.5",
          "BCH": "430", "AVAX": "31", "ATOM": "6.2", "SHIB": "0.000015", "FIL": "4.8", "APT": "8.4", "ARB": "0.55",
          "XLM": "0.36"}
"""A plausible US-dollar price per known asset (synthetic months move around these)."""
STABLE = frozenset({"USDT", "USDC", "DAI"})
WHALE_GAP = 4
"""Powers of ten between an ordinary user's holdings and the largest plausible one."""
MAX_HOLDING_USD = 40_000_000
"""The largest synthetic holding of one user in one asset, in dollars: totals stay plausible (the
BTC a synthetic exchange owes is far below the supply)."""
CHAINS_OF = {"BTC": ("bitcoin",), "ETH": ("ethereum", "arbitrum-one", "base", "optimism"),
             "USDT": ("ethereum", "tron", "solana"), "USDC": ("ethereum", "solana", "base"), "BNB": ("bsc",),
             "SOL": ("solana",), "DOGE": ("dogecoin",), "TRX": ("tron",), "LTC": ("litecoin",), "BCH": ("bitcoin-cash",),
             "AVAX": ("avalanche-c",), "APT": ("aptos",), "ARB": ("arbitrum-one",), "XRP": ("xrpl",), "ADA": ("cardano",),
             "ATOM": ("cosmos",), "XLM": ("stellar",), "FIL": ("filecoin",)}
"""Where each asset's reserves live (ERC-20 tokens not listed: ethereum). Chains that are not on the
supported list (XRP Ledger, Cardano…) give rows this tool reports as unsupported."""
CHUNK = 65_536
ZERO_USERS_PER_MILLE = 20
FILE_FORMATS = (PARQUET, CSV)
DEBT_STREAM = 1
"""The debt draws come from a random stream of their own: without debt, the snapshot is the one
synth wrote before debt existed, byte for byte."""
DEBT_SHARE_BP = (100, 700)
"""A debt is worth 1 % to 7 % of the debtor's most valuable holding."""


def synth_assets(count: int) -> list[Asset]:
    """The first ``count`` assets: well-known symbols, then ``T023``… cycling 6/8/18 decimals."""
    if count < 1:
        raise InputError("must be at least 1", parameter="assets")
    chosen = [Asset(s, d) for s, d in KNOWN[:count]]
    for i in range(len(chosen), count):
        chosen.append(Asset(f"T{i + 1:03d}", (6, 8, 18)[i % 3]))
    return chosen


def max_exponent(asset: Asset) -> int:
    """The largest power of ten a holding's 20-bit mantissa is scaled by: about ``MAX_HOLDING_USD``
    worth of the asset at most (12 for an asset without a known price)."""
    price = Decimal(PRICES.get(asset.symbol, "1"))
    cap = (Decimal(MAX_HOLDING_USD) / price).scaleb(asset.decimals)  # smallest units
    exponent = max(0, len(str(int(cap))) - 7)  # the mantissa is below 2^20 (7 digits)
    return min(exponent, 18 if asset.decimals >= 18 else 12)


def synth_prices(assets: list[Asset], period: str) -> dict[str, Any]:
    """A prices document (schemas/prices.md) for ``period``: each known asset's price moved by up
    to +-15% per month (a function of the symbol and the period), unknown assets at 1 dollar."""
    prices = {}
    for a in assets:
        base = Decimal(PRICES.get(a.symbol, "1"))
        step = hashlib.sha256(f"{a.symbol}|{period}".encode()).digest()[0] % 31 - 15  # -15..15 %
        if a.symbol in STABLE:
            step = 0
        prices[a.symbol] = format((base * (100 + step) / 100).quantize(Decimal(1).scaleb(-8)).normalize(), "f")
    year, month = (int(x) for x in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    return {"format": PRICES_FORMAT, "source": "synthetic prices (por synth; not market data)",
            "timestamp": f"{period}-{last:02d}T23:59:59Z", "prices": prices}


def month_ratios(assets: list[Asset], period: str, seed: int = 0) -> dict[str, int]:
    """Reserve ratios in basis points that differ between assets and months: most assets 100-125%,
    about one in six just under 100% (a function of the symbol, the period and the seed)."""
    out = {}
    for a in assets:
        h = hashlib.sha256(f"{a.symbol}|{period}|{seed}".encode()).digest()
        out[a.symbol] = 9_900 + h[1] % 80 if h[0] % 6 == 0 else 10_000 + int.from_bytes(h[1:3], "big") % 2_500
    return out


def write_synth_prices(out: str, assets: list[Asset], period: str) -> None:
    fs, path = storage.open_fs(out)
    if storage.is_local(fs) and "/" in path:
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "w") as f:
        f.write(json.dumps(synth_prices(assets, period), indent=2) + "\n")


def is_decimal_column(asset: Asset, order: int) -> bool:
    """18-decimal assets are stored as decimals (they exceed int64); the others alternate."""
    return asset.decimals == 18 or order % 2 == 1


def _lanes_decimal(hi: np.ndarray, lo: np.ndarray, scale: int, negative: np.ndarray | None = None) -> pa.Array:
    """A decimal128(38, scale) array whose unscaled values are ``hi * 2^64 + lo``, negated where
    ``negative`` (two's complement)."""
    raw = np.empty((len(lo), 2), dtype="<u8")
    raw[:, 0], raw[:, 1] = lo, hi
    if negative is not None and negative.any():
        flipped_lo, flipped_hi = ~lo[negative], ~hi[negative]
        raw[negative, 0] = flipped_lo + np.uint64(1)
        raw[negative, 1] = flipped_hi + (raw[negative, 0] == 0).astype(np.uint64)
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(lo), [None, pa.py_buffer(raw.tobytes())])


def whole_units_text(lo: np.ndarray, hi: np.ndarray, negative: np.ndarray, decimals: int) -> pa.Array:
    """Amounts of smallest units (magnitudes ``hi * 2^64 + lo``, ``negative`` where below zero) as
    whole-unit text for a CSV snapshot: ``12``, ``-0.5`` (no trailing fraction zeros, no ``-0``)."""
    n = len(lo)
    big = hi != 0 if decimals <= 19 else np.ones(n, dtype=bool)
    scale = np.uint64(10 ** min(decimals, 19))
    small = np.where(big, np.uint64(0), lo)
    whole, frac = small // scale, small % scale
    text = pc.cast(pa.array(whole, pa.uint64()), pa.string())
    if decimals:
        frac_text = pc.utf8_rtrim(pc.utf8_lpad(pc.cast(pa.array(frac, pa.uint64()), pa.string()), decimals, "0"), "0")
        text = pc.if_else(pa.array(frac == 0), text, pc.binary_join_element_wise(text, frac_text, "."))
    minus = negative & ((lo | hi) != 0)
    text = pc.if_else(pa.array(minus), pc.binary_join_element_wise("-", text, ""), text)
    if big.any():
        rows = np.flatnonzero(big)
        exact = [_units_text(-v if minus[i] else v, decimals)
                 for i, v in zip(rows.tolist(), ((int(hi[i]) << 64) | int(lo[i]) for i in rows.tolist()), strict=True)]
        text = pc.replace_with_mask(text, pa.array(big), pa.array(exact, pa.string()))
    return text


def _units_text(value: int, decimals: int) -> str:
    """One amount of smallest units as whole-unit text (``whole_units_text``'s rule)."""
    sign, value = ("-", -value) if value < 0 else ("", value)
    whole, frac = divmod(value, 10**decimals)
    digits = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def _chunk(rng: np.random.Generator, n: int, assets: list[Asset], max_exp: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``held`` (n, m) bool and amounts as ``hi``/``lo`` uint64 lanes (n, m)."""
    m = len(assets)
    count = rng.choice([1, 2, 3, 4, 6], size=n, p=[0.5, 0.28, 0.14, 0.05, 0.03])
    count = np.minimum(count, m)
    count[rng.integers(0, 1000, size=n) < ZERO_USERS_PER_MILLE] = 0
    weights = np.array([max(1, 64 >> min(j, 6)) for j in range(m)], dtype=np.int64)
    keys = rng.integers(1, 1 << 24, size=(n, m)) * weights
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    held = rank < count[:, None]
    mantissa = rng.integers(1, 1 << 20, size=(n, m), dtype=np.uint64)
    top = np.array(max_exp, dtype=np.int64)[None, :]
    # most holdings four or more powers of ten below the asset's largest (a few thousand dollars and
    # less); about one in 500 is a whale, up to the largest
    drop = rng.geometric(0.3, size=(n, m)) - 1 + np.where(rng.integers(0, 500, size=(n, m)) == 0, 0, WHALE_GAP)
    exponent = (top - np.minimum(drop, top)).astype(np.uint64)
    x = mantissa * (np.uint64(5) ** exponent)  # < 2^62
    lo = np.where(held, x << exponent, 0).astype(np.uint64)
    hi = np.where(held & (exponent > 0), x >> (np.uint64(64) - exponent), 0).astype(np.uint64)
    hi[exponent == 0] = 0
    return held, hi, lo


def _price(asset: Asset) -> Fraction:
    """Dollars per smallest unit of ``asset`` at ``PRICES`` (1 dollar per whole unit if unknown)."""
    return Fraction(Decimal(PRICES.get(asset.symbol, "1"))) / 10**asset.decimals


def _debts(rng: np.random.Generator, held: np.ndarray, hi: np.ndarray, lo: np.ndarray, assets: list[Asset],
           decimal_col: list[bool], per_mille: int) -> np.ndarray:
    """``debt`` (n, m) bool, and the debts' magnitudes written into ``hi``/``lo``: about ``per_mille``
    of the users that hold something (and not everything) owe one asset they do not hold, worth
    ``DEBT_SHARE_BP`` of their most valuable holding (rounded down; a debt that rounds to nothing is
    none)."""
    n, m = held.shape
    chosen = np.asarray(rng.integers(0, 1000, size=n)) < per_mille
    pick = np.asarray(rng.integers(0, 1 << 30, size=n))
    share = np.asarray(rng.integers(DEBT_SHARE_BP[0], DEBT_SHARE_BP[1] + 1, size=n))
    debt = np.zeros((n, m), dtype=bool)
    prices = [_price(a) for a in assets]
    candidates = np.flatnonzero(chosen & held.any(axis=1) & ~held.all(axis=1))
    for u in candidates.tolist():
        worth = max(((int(hi[u, k]) << 64) | int(lo[u, k])) * prices[k] for k in np.flatnonzero(held[u]).tolist())
        free = np.flatnonzero(~held[u]).tolist()
        j = free[int(pick[u]) % len(free)]
        units = int(worth * int(share[u]) / 10_000 / prices[j])
        if units == 0 or (not decimal_col[j] and units >= 1 << 63) or units >= 1 << 127:
            continue
        debt[u, j] = True
        hi[u, j], lo[u, j] = units >> 64, units & 0xFFFF_FFFF_FFFF_FFFF
    return debt


def write_synth(
    out: str,
    users: int,
    asset_count: int = 3,
    files: int = 1,
    seed: int = 0,
    layout: str = "wide",
    storage_options: Mapping[str, Any] | None = None,
    *,
    debt_per_mille: int = 0,
    file_format: str = PARQUET,
) -> list[Asset]:
    """Write a synthetic snapshot directory ``out`` (``part-NNNNN.parquet`` or ``part-NNNNN.csv``, and
    ``assets.json``). ``debt_per_mille`` users in 1000 also owe debt (negative amounts: a snapshot for
    protocol por-v3); the CSV files hold the same content in whole units."""
    if users < 1:
        raise InputError("must be at least 1", parameter="users")
    if not 1 <= files <= users:
        raise InputError(f"must be in [1, {users}]", parameter="files")
    if layout_problem(layout):
        raise InputError(str(layout_problem(layout)), parameter="layout")
    if file_format not in FILE_FORMATS:
        raise InputError(f"must be {' or '.join(repr(x) for x in FILE_FORMATS)}", parameter="file_format")
    if not 0 <= debt_per_mille <= 1000:
        raise InputError("must be in [0, 1000]", parameter="debt_per_mille")
    if debt_per_mille and asset_count < 2:
        raise InputError("needs at least 2 assets (a debt is in an asset the debtor does not hold)",
                         parameter="debt_per_mille")
    assets = synth_assets(asset_count)
    fs, root = storage.open_fs(out, storage_options)
    if fs.exists(root) and fs.ls(root):
        raise InputError(f"{out}: exists and is not empty")
    fs.makedirs(root, exist_ok=True)
    decimal_col = [is_decimal_column(a, j) for j, a in enumerate(assets)]
    max_exp = [max_exponent(a) for a in assets]
    bounds = [users * f // files for f in range(files + 1)]
    writers: dict[int, Any] = {}
    sinks: list[Any] = []
    try:
        for c, start in enumerate(range(0, users, CHUNK)):
            n = min(CHUNK, users - start)
            held, hi, lo = _chunk(np.random.default_rng([seed, c]), n, assets, max_exp)
            debt = (_debts(np.random.default_rng([seed, c, DEBT_STREAM]), held, hi, lo, assets, decimal_col,
                           debt_per_mille) if debt_per_mille else None)
            ids = pa.array([f"U{start + i:010d}" for i in range(n)], pa.string())
            if layout == "wide":
                table = _wide(ids, assets, decimal_col, hi, lo, debt)
                if file_format == CSV:
                    table = _wide_text(table, assets)
            else:
                table = _long(ids, start, assets, held, hi, lo, debt, text=file_format == CSV)
            row_user = np.arange(start, start + n) if layout == "wide" else table.column("_u").to_numpy()
            if layout == "long":
                table = table.drop_columns(["_u"])
            for f in range(files):
                a, b = np.searchsorted(row_user, [max(bounds[f], start), bounds[f + 1]])
                if b <= a:
                    continue
                if f not in writers:
                    path = storage.join(root, f"part-{f:05d}.{file_format}")
                    sinks.append(fs.open(path, "wb"))
                    if file_format == PARQUET:
                        writers[f] = pq.ParquetWriter(sinks[-1], table.schema)
                    else:  # the header unquoted, like every cell (ids and amounts need no quotes)
                        sinks[-1].write((",".join(table.column_names) + "\n").encode())
                        writers[f] = pacsv.CSVWriter(sinks[-1], table.schema, write_options=pacsv.WriteOptions(
                            include_header=False, quoting_style="none"))
                writers[f].write_table(table.slice(a, b - a))
    finally:
        for w in writers.values():
            w.close()
        for sink in sinks:
            sink.close()
    with fs.open(storage.join(root, "assets.json"), "w") as f:
        f.write(json.dumps({a.symbol: a.decimals for a in assets}, indent=2) + "\n")
    by_symbol = {a.symbol: a for a in assets}
    return [by_symbol[s] for s in protocol_order(list(by_symbol))]


def _wide(ids: pa.Array, assets: list[Asset], decimal_col: list[bool], hi: np.ndarray, lo: np.ndarray,
          debt: np.ndarray | None = None) -> pa.Table:
    columns: dict[str, pa.Array] = {"user_id": ids}
    for j, a in enumerate(assets):
        negative = None if debt is None else debt[:, j]
        if decimal_col[j]:
            columns[a.symbol] = _lanes_decimal(hi[:, j], lo[:, j], a.decimals, negative)
        else:
            values = lo[:, j].astype(np.int64)
            columns[a.symbol] = pa.array(values if negative is None else np.where(negative, -values, values), pa.int64())
    return pa.table(columns)


def _wide_text(table: pa.Table, assets: list[Asset]) -> pa.Table:
    """A wide table's amounts as whole-unit text (the CSV layout), converted by the snapshot reader's
    own rule (``formats.columns.signed_amount_words``)."""
    columns: dict[str, pa.Array] = {"user_id": table.column("user_id").combine_chunks()}
    for a in assets:
        lo, hi, negative = signed_amount_words(table.column(a.symbol).combine_chunks(), a.decimals)
        columns[a.symbol] = whole_units_text(lo, hi, negative, a.decimals)
    return pa.table(columns)


def _long(ids: pa.Array, start: int, assets: list[Asset], held: np.ndarray, hi: np.ndarray, lo: np.ndarray,
          debt: np.ndarray | None = None, text: bool = False) -> pa.Table:
    """One row per held asset (and per debt, negative), ``amount`` as decimal128(38, 18) whole units
    (or, with ``text``, as whole-unit text); users holding nothing get one zero row for the first asset."""
    show = held.copy() if debt is None else held | debt
    show[~show.any(axis=1), 0] = True
    users, cols = np.nonzero(show)
    amounts = []
    for u, j in zip(users.tolist(), cols.tolist(), strict=True):
        smallest = (int(hi[u, j]) << 64) | int(lo[u, j])
        if debt is not None and debt[u, j]:
            smallest = -smallest
        amounts.append(smallest if text else smallest * 10 ** (18 - assets[j].decimals))
    if text:
        amount = pa.array([_units_text(v, assets[j].decimals) for v, j in zip(amounts, cols.tolist(), strict=True)],
                          pa.string())
    else:
        magnitudes = [abs(a) for a in amounts]
        raw_hi = np.array([a >> 64 for a in magnitudes], dtype=np.uint64)
        raw_lo = np.array([a & ((1 << 64) - 1) for a in magnitudes], dtype=np.uint64)
        amount = _lanes_decimal(raw_hi, raw_lo, 18, None if debt is None else np.array([a < 0 for a in amounts], bool))
    return pa.table({
        "user_id": ids.take(pa.array(users)),
        "asset": pa.array([assets[j].symbol for j in cols.tolist()], pa.string()),
        "amount": amount,
        "_u": pa.array(users + start, pa.int64()),
    })


FIXED_SENTENCE = "I am a reserve address of the exchange"
_EXACT = Context(prec=100)


def _proof(symbol: str, i: int, seed: int, challenge: str | None, message: str | None) -> dict[str, Any]:
    """A reserve address with a real key pair (derived from the seed) and its proof over
    ``message`` (or ``challenge``), made by its chain's family's synthetic signer
    (``pipeline.testing.sign.SYNTH_SIGNERS``; Bitcoin rows cycle through P2PKH, P2WPKH and a 2-of-3 P2WSH)."""
    from ..ownership.chains import find_chain
    from .sign import synth_signer

    def secret(n: int) -> bytes:
        return hashlib.sha256(f"por-synth-reserves|{seed}|{symbol}|{i}|{n}".encode()).digest()

    text = message if message is not None else challenge
    row: dict[str, Any] = {"signatures": [], "message": message, "script": None, "owners": []}
    options = CHAINS_OF.get(symbol, ("ethereum",))
    name = options[i % len(options)]
    chain = find_chain(name)
    row["chain"] = name
    if chain is None:  # a chain this tool does not check: a plausible-looking address, no proof
        row["address"] = "r" + hashlib.sha256(secret(0)).hexdigest()[:33]
        return row
    proof = synth_signer(chain).proof(chain, secret, i, text)
    row["address"], row["script"], row["signatures"] = proof.address, proof.script, proof.signatures
    return row


def reserve_total(liabilities: int, basis_points: int) -> int:
    """The least reserves (smallest units) whose ratio to ``liabilities``, by the report's one rule
    (``reserves.ratios.percent``: two decimals, rounded down), is exactly ``basis_points`` / 100 percent,
    so that the ratio ``synth`` announces is the one ``publish`` reports: ``ceil(liabilities * bp / 10000)``.
    When no amount gives it (liabilities of fewer than 10,000 smallest units), ``liabilities * bp / 10000``
    rounded down, never above the ratio asked for."""
    from ..reserves.ratios import percent

    total = -(-liabilities * basis_points // 10_000)
    if liabilities > 0 and percent(total, liabilities) != f"{basis_points // 100}.{basis_points % 100:02d}":
        return liabilities * basis_points // 10_000
    return total


def write_synth_reserves(out: str, assets: list[Asset], liabilities: Mapping[str, int], basis_points: Mapping[str, int],
                         addresses_per_asset: int = 3, seed: int = 0, challenge: str | None = None,
                         fixed_sentence_rows: int = 0, showcase: bool = False) -> dict[str, int]:
    """Write a reserves Parquet file holding, per asset, ``reserve_total(liabilities, bp)`` smallest
    units (the least whose ratio the report shows as ``bp``) spread over ``addresses_per_asset``
    addresses; assets missing from ``basis_points`` get no reserves. Integer arithmetic only. Returns
    the totals written.

    Every address comes from a real key pair (derived from ``seed``) and, with ``challenge``, carries
    a real ownership proof over it (the last ``fixed_sentence_rows`` rows sign a fixed sentence
    instead: ``unbound``); without, the proofs are ``missing``. ``showcase`` (the demo) also leaves
    one row without a proof and puts one on a chain this tool cannot check, so every status but
    ``invalid`` appears."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[Any]] = {k: [] for k in ("chain", "address", "asset", "balance", "height", "signatures",
                                                  "message", "script", "owners")}
    totals: dict[str, int] = {}
    for a in assets:
        if a.symbol not in basis_points:
            continue
        total = reserve_total(liabilities.get(a.symbol, 0), basis_points[a.symbol])
        cuts = sorted(total * int(x) >> 32 for x in rng.integers(0, 1 << 32, size=addresses_per_asset - 1))
        parts = [hi - lo for lo, hi in zip([0, *cuts], [*cuts, total], strict=True)]
        for i, part in enumerate(parts):
            proof = _proof(a.symbol, i, seed, challenge, None)
            for k in ("chain", "address", "signatures", "message", "script", "owners"):
                rows[k].append(proof[k])
            rows["asset"].append(a.symbol)
            rows["balance"].append(Decimal(part).scaleb(-a.decimals, _EXACT))  # whole units, exact
            rows["height"].append(900_000 + 1_000 * seed + len(proof["chain"]))
        totals[a.symbol] = total
    for back in range(1, min(fixed_sentence_rows, len(rows["asset"])) + 1):
        symbol = rows["asset"][-back]
        proof = _proof(symbol, addresses_per_asset - back, seed, challenge, FIXED_SENTENCE)
        rows["signatures"][-back], rows["message"][-back] = proof["signatures"], FIXED_SENTENCE
    if showcase and len(rows["asset"]) > 2 * addresses_per_asset:
        rows["signatures"][addresses_per_asset - 1] = []  # missing
        at = 2 * addresses_per_asset - 1  # unsupported: a chain that is not on the list
        rows["chain"][at], rows["address"][at] = "stellar", f"G{rows['address'][at][-40:].upper():A>55}"
    table = pa.table({
        "chain": pa.array(rows["chain"], pa.string()),
        "address": pa.array(rows["address"], pa.string()),
        "asset": pa.array(rows["asset"], pa.string()),
        "balance": pa.array(rows["balance"], pa.decimal256(76, 38)),
        "height": pa.array(rows["height"], pa.int64()),
        "signatures": pa.array(rows["signatures"], pa.list_(pa.string())),
        "message": pa.array(rows["message"], pa.string()),
        "script": pa.array(rows["script"], pa.string()),
        "owners": pa.array(rows["owners"], pa.list_(pa.string())),
    })
    fs, path = storage.open_fs(out)
    if storage.is_local(fs):
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "wb") as f:
        pq.write_table(table, f)
    # one snapshot height per chain, declared beside the file (pipeline/reserves/heights.py)
    from ..ownership.chains import find_chain

    declared = {c.name: h for c, h in ((find_chain(n), h) for n, h in zip(rows["chain"], rows["height"], strict=True))
                if c is not None}
    with fs.open(path.rsplit("/", 1)[0] + "/heights.json", "wb") as f:
        f.write((json.dumps(dict(sorted(declared.items())), indent=1) + "\n").encode())
    return totals


def snapshot_totals(url: str, assets_url: str | None = None) -> dict[str, int]:
    """Exact liabilities total per asset of a wide-layout snapshot (smallest units), read
    straight from its files (Parquet or CSV): what the demo sets its synthetic reserves against.
    The liabilities are the users' equity: debts (negative amounts, ``:debt`` columns) are what users
    owe, and are not counted."""
    plan = plan_snapshot(url, assets_url)
    if plan.layout != WIDE:
        raise InputError(f"{url}: snapshot_totals reads wide snapshots only")
    totals = {a.symbol: 0 for a in plan.assets}
    for index in range(len(plan.files)):
        table = whole_file(plan, index)
        for a in plan.assets:
            lo, hi, negative = signed_amount_words(amount_array(plan, table.column(a.symbol).combine_chunks(), a.decimals),
                                                   a.decimals)
            keep = ~negative
            totals[a.symbol] += (int(hi[keep].astype(object).sum() or 0) << 64) + int(lo[keep].astype(object).sum() or 0)
    return totals
