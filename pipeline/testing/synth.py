"""``por synth``: realistic synthetic snapshots for demos, tests and benchmarks.

Heavy-tailed balances (a uniform 20-bit mantissa times a power of ten a geometric
number of steps below the asset's largest plausible holding, about ``MAX_HOLDING_USD``),
most users holding 1-3 assets, about 2 % holding nothing, a mix of
6/8/18-decimal assets stored as integer (smallest units) and decimal (whole
units) columns. Integer arithmetic only. The content is a function of
``(users, assets, seed, layout)`` alone; ``files`` only changes the layout on disk.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from decimal import Context, Decimal
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..formats.assets import Asset, protocol_order
from ..formats.columns import amounts_to_u128
from ..formats.prices import FORMAT as PRICES_FORMAT
from ..liabilities.snapshot import WIDE, layout_problem, plan_snapshot
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


def _lanes_decimal(hi: np.ndarray, lo: np.ndarray, scale: int) -> pa.Array:
    """A decimal128(38, scale) array whose unscaled values are ``hi * 2^64 + lo`` (non-negative)."""
    raw = np.empty((len(lo), 2), dtype="<u8")
    raw[:, 0], raw[:, 1] = lo, hi
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(lo), [None, pa.py_buffer(raw.tobytes())])


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


def write_synth(
    out: str,
    users: int,
    asset_count: int = 3,
    files: int = 1,
    seed: int = 0,
    layout: str = "wide",
    storage_options: Mapping[str, Any] | None = None,
) -> list[Asset]:
    """Write a synthetic snapshot directory ``out`` (``part-NNNNN.parquet`` + ``assets.json``)."""
    if users < 1:
        raise InputError("must be at least 1", parameter="users")
    if not 1 <= files <= users:
        raise InputError(f"must be in [1, {users}]", parameter="files")
    if layout_problem(layout):
        raise InputError(str(layout_problem(layout)), parameter="layout")
    assets = synth_assets(asset_count)
    fs, root = storage.open_fs(out, storage_options)
    if fs.exists(root) and fs.ls(root):
        raise InputError(f"{out}: exists and is not empty")
    fs.makedirs(root, exist_ok=True)
    decimal_col = [is_decimal_column(a, j) for j, a in enumerate(assets)]
    max_exp = [max_exponent(a) for a in assets]
    bounds = [users * f // files for f in range(files + 1)]
    writers: dict[int, pq.ParquetWriter] = {}
    try:
        for c, start in enumerate(range(0, users, CHUNK)):
            n = min(CHUNK, users - start)
            held, hi, lo = _chunk(np.random.default_rng([seed, c]), n, assets, max_exp)
            ids = pa.array([f"U{start + i:010d}" for i in range(n)], pa.string())
            table = _wide(ids, assets, decimal_col, hi, lo) if layout == "wide" else _long(ids, start, assets, held, hi, lo)
            row_user = np.arange(start, start + n) if layout == "wide" else table.column("_u").to_numpy()
            if layout == "long":
                table = table.drop_columns(["_u"])
            for f in range(files):
                a, b = np.searchsorted(row_user, [max(bounds[f], start), bounds[f + 1]])
                if b <= a:
                    continue
                if f not in writers:
                    path = storage.join(root, f"part-{f:05d}.parquet")
                    writers[f] = pq.ParquetWriter(fs.open(path, "wb"), table.schema)
                writers[f].write_table(table.slice(a, b - a))
    finally:
        for w in writers.values():
            w.close()
    with fs.open(storage.join(root, "assets.json"), "w") as f:
        f.write(json.dumps({a.symbol: a.decimals for a in assets}, indent=2) + "\n")
    by_symbol = {a.symbol: a for a in assets}
    return [by_symbol[s] for s in protocol_order(list(by_symbol))]


def _wide(ids: pa.Array, assets: list[Asset], decimal_col: list[bool], hi: np.ndarray, lo: np.ndarray) -> pa.Table:
    columns: dict[str, pa.Array] = {"user_id": ids}
    for j, a in enumerate(assets):
        if decimal_col[j]:
            columns[a.symbol] = _lanes_decimal(hi[:, j], lo[:, j], a.decimals)
        else:
            columns[a.symbol] = pa.array(lo[:, j].astype(np.int64), pa.int64())
    return pa.table(columns)


def _long(ids: pa.Array, start: int, assets: list[Asset], held: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> pa.Table:
    """One row per held asset, ``amount`` as decimal128(38, 18) whole units; users holding
    nothing get one zero row for the first asset."""
    show = held.copy()
    show[~held.any(axis=1), 0] = True
    users, cols = np.nonzero(show)
    amounts = []
    for u, j in zip(users.tolist(), cols.tolist(), strict=True):
        smallest = (int(hi[u, j]) << 64) | int(lo[u, j])
        amounts.append(smallest * 10 ** (18 - assets[j].decimals))
    raw_hi = np.array([a >> 64 for a in amounts], dtype=np.uint64)
    raw_lo = np.array([a & ((1 << 64) - 1) for a in amounts], dtype=np.uint64)
    return pa.table({
        "user_id": ids.take(pa.array(users)),
        "asset": pa.array([assets[j].symbol for j in cols.tolist()], pa.string()),
        "amount": _lanes_decimal(raw_hi, raw_lo, 18),
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


def write_synth_reserves(out: str, assets: list[Asset], liabilities: Mapping[str, int], basis_points: Mapping[str, int],
                         addresses_per_asset: int = 3, seed: int = 0, challenge: str | None = None,
                         fixed_sentence_rows: int = 0, showcase: bool = False) -> dict[str, int]:
    """Write a reserves Parquet file holding, per asset, ``liabilities * bp / 10000`` smallest
    units (rounded down) spread over ``addresses_per_asset`` addresses; assets missing from
    ``basis_points`` get no reserves. Integer arithmetic only. Returns the totals written.

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
        total = liabilities.get(a.symbol, 0) * basis_points[a.symbol] // 10_000
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
        rows["chain"][at], rows["address"][at] = "ton", f"EQ{rows['address'][at][-46:]:0>46}"
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
    straight from its Parquet files: what the demo sets its synthetic reserves against."""
    plan = plan_snapshot(url, assets_url)
    if plan.layout != WIDE:
        raise InputError(f"{url}: snapshot_totals reads wide snapshots only")
    totals = {a.symbol: 0 for a in plan.assets}
    for path in plan.files:
        with plan.fs.open(path, "rb") as f:
            table = pq.read_table(f)
        for a in plan.assets:
            words = amounts_to_u128(table.column(a.symbol).combine_chunks(), a.decimals)
            totals[a.symbol] += sum((int(hi) << 64) | int(lo) for hi, lo in words.tolist())
    return totals
