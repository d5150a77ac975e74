"""The reserves at scale, columnar: a 100k-row month over every family gives, on a real 2-worker
cluster, byte for byte the per-row results and the public files the row-by-row implementation gave
(``GOLDEN_FILE``: recorded from commit 97aa079, before the columnar rewrite, on the same input); one
wallet listed in several files and spellings is found by the group-by exactly as before; the rules
now vectorised (heights, the reserves' checks, the CSV and JSON lines writers) agree with their
row-by-row statements on awkward values.

The input (``write_scale_input``): the benchmark's signed rows (``jobs.bench_reserves.bench_table``,
Polkadot rows Ed25519 so that every byte is reproduced) in one large row group, then three small
files: rows re-spelling wallets of the first file (lower case, upper case, CashAddr and legacy,
bounceable and not, a chain's alias), fresh rows of every other status and awkward text (quotes,
commas, new lines, non-ASCII, a 60+ character message, an empty one), contract wallets, rows
without a height; every golden vector of every family (``schemas/vectors/reserves``); a file
without the optional columns."""

from __future__ import annotations

import hashlib
import json
import os
from decimal import Context, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from coincurve import PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jobs.bench_reserves import ASSETS, CHALLENGE, bench_table, height_of
from pipeline.errors import PorError
from pipeline.formats.assets import Asset
from pipeline.ownership import cashaddr, ton
from pipeline.ownership.chains import find_chain
from pipeline.testing import sign

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALE_ROWS = 99_800
"""The benchmark rows of the first file; the other files add the rest of the 100k."""
EXTRA_ASSETS = [Asset("XLM", 7), Asset("APT", 8), Asset("LTC", 8), Asset("DOGE", 8), Asset("TRX", 6), Asset("DASH", 8),
                Asset("KSM", 12), Asset("SOL", 9)]
QUOTED = 'Proof, "quoted"\nsecond line, caf\u00e9 \u2713'
HALF = Decimal(2**127).scaleb(-8, Context(prec=100))
"""Half of 2^128 smallest units of an asset of 8 decimals, in whole units."""
LONG = "We, the exchange, control this address and sign this sentence every month of the year, again"


def scale_assets() -> list[Asset]:
    """The benchmark's assets and the natives of the vectors' chains (and one off-list chain's)."""
    return ASSETS + EXTRA_ASSETS + [Asset(f"{a.symbol}{k}", a.decimals) for a in ASSETS + EXTRA_ASSETS for k in (2, 3)]


def _key(n: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(f"scale-key-{n}".encode()).digest())


def _ed(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"scale-ed-{n}".encode()).digest())


def _respelled(a: pa.Table) -> list[dict[str, Any]]:
    """Rows of ``a`` spelled another way (the same wallets), and rows that only look alike."""
    rows = a.select(["chain", "address", "asset", "signatures", "script"]).to_pylist()
    out: list[dict[str, Any]] = []

    def first(pred: Any) -> dict[str, Any]:
        return next(r for r in rows if pred(r))

    evm = first(lambda r: r["chain"] == "ethereum" and r["address"] != r["address"].lower())
    out.append({**evm, "address": evm["address"].lower()})                      # one wallet, lower case
    out.append({**evm, "chain": "eth"})                                         # one wallet, the chain's alias
    out.append({**evm, "chain": "Ethereum", "address": evm["address"].upper().replace("0X", "0x")})
    out.append({**evm, "chain": "base"})                                        # another chain: another wallet
    out.append({**evm, "asset": "ETH2"})                                        # another asset: another row
    wpkh = first(lambda r: r["chain"] == "bitcoin" and r["address"].startswith("bc1q") and not r["script"])
    out.append({**wpkh, "address": wpkh["address"].upper()})
    cash = first(lambda r: r["chain"] == "bitcoin-cash" and r["address"].startswith("bitcoincash:") and not r["script"])
    payload = cashaddr.decode("bitcoincash", cash["address"]).payload
    out.append({**cash, "address": sign._b58check(b"\x00" + payload)})          # legacy spelling
    legacy = first(lambda r: r["chain"] == "bitcoin-cash" and not r["address"].startswith("bitcoincash:"))
    import base58

    raw = base58.b58decode_check(legacy["address"])
    out.append({**legacy, "address": cashaddr.encode("bitcoincash", raw[0] == 5, raw[1:]).split(":")[1].upper()})
    out.append({**legacy, "address": cashaddr.encode("bitcoincash", raw[0] == 5, raw[1:], tokens=True)})
    t = first(lambda r: r["chain"] == "ton")
    workchain, account = ton.decode_address(t["address"])
    flipped = ton.friendly(account, bounceable=t["address"][:2] != "EQ")
    out.append({**t, "address": flipped})
    out.append({**t, "address": f"{workchain}:{account.hex()}"})
    ada = first(lambda r: r["chain"] == "cardano")
    out.append({**ada, "address": ada["address"].upper()})
    sui = first(lambda r: r["chain"] == "sui")
    out.append({**sui, "address": sui["address"].upper().replace("0X", "0x")})
    sol = first(lambda r: r["chain"] == "solana")
    out.append({**sol, "chain": "SOL"})
    return [{**r, "message": None, "owners": []} for r in out]


def _fresh() -> list[dict[str, Any]]:
    """Rows of fresh keys, of every status and awkward texts."""
    out: list[dict[str, Any]] = []

    def evm(n: int, message: str | None, signed: str | None = None, **extra: Any) -> dict[str, Any]:
        k = _key(n)
        text = signed if signed is not None else message if message is not None else CHALLENGE
        return {"chain": "ethereum", "address": sign.evm_address(k), "asset": "ETH",
                "signatures": [sign.sign_evm(k, text)], "message": message, "script": None, "owners": [], **extra}

    out.append(evm(1, QUOTED))                                                  # unbound, every awkward character
    out.append(evm(2, LONG))                                                    # unbound, the reason cut at 60
    out.append(evm(3, ""))                                                      # unbound over the empty text
    out.append(evm(4, None, signed="another period"))                           # invalid: another text
    bad = evm(5, None)
    bad["signatures"] = [bad["signatures"][0][:-4] + ("00" if bad["signatures"][0][-4:-2] != "00" else "11")
                         + bad["signatures"][0][-2:]]
    out.append(bad)                                                             # invalid: tampered
    out.append({**evm(6, None), "signatures": []})                              # missing
    out.append({**evm(7, None), "chain": "ethereum "})                          # invalid: chain spelling
    z = evm(8, None)
    out.append({**z, "address": z["address"][:6] + "\u200b" + z["address"][6:]})  # invalid: zero-width space
    out.append({**evm(9, None), "asset": "USDT"})
    owners = [_key(20), _key(21)]
    safe = sign.evm_address(_key(22))
    out.append({"chain": "ethereum", "address": safe, "asset": "ETH", "signatures": [sign.sign_evm(k, CHALLENGE)
                for k in owners], "message": None, "script": None, "owners": [sign.evm_address(k) for k in owners]})
    out.append({"chain": "ethereum", "address": sign.evm_address(_key(23)), "asset": "ETH",
                "signatures": [sign.sign_evm(owners[0], CHALLENGE), sign.sign_evm(owners[1], "nope")],
                "message": None, "script": None, "owners": [sign.evm_address(k) for k in owners]})
    out.append({"chain": "stellar", "address": "G" + "A" * 55, "asset": "XLM", "signatures": ["x"], "message": None,
                "script": None, "owners": []})                                  # unsupported chain
    btc = find_chain("bitcoin")
    assert btc is not None
    k = _key(30)
    out.append({"chain": "bitcoin", "address": sign.bitcoin_address(btc, k, "p2pkh"), "asset": "BTC",
                "signatures": [sign.sign_bitcoin(btc, k, CHALLENGE)], "message": None, "script": None, "owners": []})
    e = _ed(31)
    out.append({"chain": "solana", "address": sign.solana_address(e), "asset": "SOL",
                "signatures": [sign.sign_ed25519(e, "I am a reserve address of the exchange", base58_encoded=True)],
                "message": "I am a reserve address of the exchange", "script": None, "owners": []})
    e = _ed(32)
    out.append({"chain": "aptos", "address": sign.aptos_address(e), "asset": "APT", "signatures": [sign.sign_ed25519(e, CHALLENGE)],
                "message": None, "script": sign.ed25519_public(e).hex(), "owners": []})
    out.append({"chain": "aptos", "address": "0x" + sign.aptos_address(e)[2:].lstrip("0").upper(), "asset": "APT",
                "signatures": [sign.sign_ed25519(e, CHALLENGE)], "message": None, "script": sign.ed25519_public(e).hex(),
                "owners": []})
    return out


def _vectors() -> list[dict[str, Any]]:
    """Every golden vector, on its chain's coin (a wallet's later rows on other assets: never one
    (chain, address, asset) twice)."""
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    directory = os.path.join(ROOT, "schemas", "vectors", "reserves")
    for name in sorted(n for n in os.listdir(directory) if n.endswith(".json")):
        doc = json.load(open(os.path.join(directory, name)))
        for v in doc.get("vectors", []):
            chain = find_chain(v["chain"])
            assert chain is not None and chain.native is not None
            n = seen[(v["chain"], v["address"])] = seen.get((v["chain"], v["address"]), 0) + 1
            out.append({"chain": v["chain"], "address": v["address"],
                        "asset": chain.native[0] + (str(n) if n > 1 else ""), "signatures": list(v["signatures"]),
                        "message": v.get("message"), "script": v.get("script"), "owners": list(v.get("owners") or [])})
    return out


def _height(chain: str) -> int | None:
    found = find_chain(chain.strip())
    return None if found is None else height_of(found.name)


def _proof_columns(rows: list[dict[str, Any]]) -> dict[str, pa.Array]:
    return {"chain": pa.array([r["chain"] for r in rows], pa.string()),
            "address": pa.array([r["address"] for r in rows], pa.string()),
            "asset": pa.array([r["asset"] for r in rows], pa.string())}


def write_scale_input(directory: str, rows: int = SCALE_ROWS) -> None:
    """The four files and ``heights.json`` (see the module's docstring) into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    a = bench_table(rows, sr25519=False)
    pq.write_table(a, os.path.join(directory, "a.parquet"))
    b_rows = _respelled(a) + _fresh()
    b = pa.table({**_proof_columns(b_rows),
                  "balance": pa.array([10**(6 + i % 9) + i for i in range(len(b_rows))], pa.int64()),
                  "height": pa.array([None if i % 3 == 0 else _height(r["chain"]) for i, r in enumerate(b_rows)],
                                     pa.int64()),
                  "signatures": pa.array([r["signatures"] for r in b_rows], pa.list_(pa.string())),
                  "message": pa.array([r["message"] for r in b_rows], pa.string()),
                  "script": pa.array([r["script"] for r in b_rows], pa.string()),
                  "owners": pa.array([r["owners"] for r in b_rows], pa.list_(pa.string()))})
    pq.write_table(b, os.path.join(directory, "b.parquet"), row_group_size=7)
    c_rows = _vectors()
    c = pa.table({**_proof_columns(c_rows),
                  "balance": pa.array([Decimal(f"{i}.{i % 997:03d}") for i in range(len(c_rows))], pa.decimal128(38, 10)),
                  "signatures": pa.array([r["signatures"] for r in c_rows], pa.list_(pa.string())),
                  "message": pa.array([r["message"] for r in c_rows], pa.large_string()),
                  "script": pa.array([r["script"] for r in c_rows], pa.string()),
                  "owners": pa.array([r["owners"] for r in c_rows], pa.list_(pa.string()))})
    pq.write_table(c, os.path.join(directory, "c.parquet"), row_group_size=40)
    sol = a.filter(pc.equal(a.column("chain"), "solana")).slice(0, 2).to_pylist()
    e = _ed(40)
    d_rows = [{"chain": "solana", "address": sign.solana_address(e), "signatures": [sign.sign_ed25519(e, CHALLENGE, True)]},
              {"chain": "sol", "address": sol[0]["address"], "signatures": sol[0]["signatures"]},
              {"chain": "solana", "address": sol[1]["address"], "signatures": []}]
    d = pa.table({"chain": pa.array([r["chain"] for r in d_rows], pa.string()),
                  "address": pa.array([r["address"] for r in d_rows], pa.string()),
                  "asset": pa.array(["USDT", "USDT", "SOL"], pa.string()),
                  "balance": pa.array([7, 8, 9], pa.int64()),
                  "signatures": pa.array([r["signatures"] for r in d_rows], pa.list_(pa.string()))})
    pq.write_table(d, os.path.join(directory, "d.parquet"))
    chains = {find_chain(n) for t in (a, b, c) for n in t.column("chain").unique().to_pylist()} - {None}
    heights = {c.name: height_of(c.name) for c in chains}  # type: ignore[union-attr]
    with open(os.path.join(directory, "heights.json"), "w") as f:
        f.write(json.dumps(dict(sorted(heights.items())), indent=1) + "\n")


# ---------------------------------------------------------------- what a run gives, recorded alike before and after

def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _shown(text: str, directory: str) -> str:
    """``text`` with the input directory (as the files name it) replaced by ``<DIR>``."""
    return text.replace("file://" + os.path.abspath(directory), "<DIR>").replace(os.path.abspath(directory), "<DIR>")


def _results(own: Any, work: str, name: str, directory: str) -> dict[str, str]:
    """The per-row results files of ``own``: the JSON lines' digest with the input directory replaced,
    and the Parquet file's digest once its ``file`` and ``reason`` columns are so replaced (rewritten
    by pyarrow's defaults, as the writer writes: the test checks that the writer's bytes are those of
    such a rewrite)."""
    from pipeline.reserves.ownership import write_results

    out: dict[str, str] = {}
    jsonl = os.path.join(work, f"{name}.jsonl")
    write_results(own, jsonl)
    out["results.jsonl"] = _digest(_shown(open(jsonl, encoding="utf-8").read(), directory).encode("utf-8"))
    parquet = os.path.join(work, f"{name}.parquet")
    write_results(own, parquet)
    table = pq.read_table(parquet)
    for name in ("file", "reason"):
        shown = pa.array([_shown(f, directory) for f in table.column(name).to_pylist()], pa.string())
        table = table.set_column(table.column_names.index(name), name, shown)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    out["results.parquet"] = _digest(sink.getvalue().to_pybytes())
    return out


PUBLIC_TYPES = {"row": pa.int64(), "chain": pa.string(), "address": pa.string(), "asset": pa.string(),
                "balance": pa.decimal256(76, 38), "height": pa.int64(), "signatures": pa.list_(pa.string()),
                "message": pa.string(), "script": pa.string(), "owners": pa.list_(pa.string()), "status": pa.string(),
                "reason": pa.string(), "note": pa.string()}
"""``public/reserves.parquet``'s columns, as the row-by-row ``public_files`` built them from lists."""


def public_parquet(data: bytes, directory: str | None, row_group_size: int | None = None) -> bytes:
    """``public/reserves.parquet`` as the row-by-row ``public_files`` wrote the rows it holds (a table
    of ``PUBLIC_TYPES`` from the values, zstd, no statistics, pyarrow's row groups or
    ``row_group_size`` rows each), with the input directory in its reasons replaced by ``<DIR>`` (a
    duplicate's reason names its first row's file; ``directory`` None: nothing replaced)."""
    import io

    table = pq.read_table(io.BytesIO(data))
    assert table.column_names == list(PUBLIC_TYPES)
    values = {k: table.column(k).to_pylist() for k in PUBLIC_TYPES}
    if directory is not None:
        values["reason"] = [_shown(r, directory) for r in values["reason"]]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({k: pa.array(v, PUBLIC_TYPES[k]) for k, v in values.items()}), sink, compression="zstd",
                   write_statistics=False, row_group_size=row_group_size)
    rewritten: bytes = sink.getvalue().to_pybytes()
    return rewritten


def scale_outputs(directory: str, work: str, mapper: Any, chunk_rows: int | None = None,
                  public: Any = None) -> dict[str, Any]:
    """Everything a run over ``directory`` shows and writes (statuses, reasons and every file's
    bytes, as digests), through the API both implementations have; ``public(ownership, assets)``
    (the columnar one) gives the public files from the verified batches instead."""
    from pipeline.reserves.input import load_reserves
    from pipeline.reserves.ownership import verify_reserves
    from pipeline.reserves.public import public_files, read_rows, status_totals
    from pipeline.reserves.results import named_rows

    os.makedirs(work, exist_ok=True)
    extra = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
    own = verify_reserves(mapper, directory, CHALLENGE, **extra)
    out: dict[str, Any] = {"counts": {str(k): v for k, v in own.counts().items()},
                           "per_asset": {a: {str(s): str(v) for s, v in per.items()} for a, per in own.per_asset().items()}}
    invalid = own.invalid()
    out["invalid"] = len(invalid)
    out["named"] = [_shown(line, directory) for line in named_rows(invalid, file=True)]
    out["dups"] = [[r["row"], _shown(r["reason"], directory)] for r in own.records
                   if r["reason"].startswith("the same wallet as row")]
    out.update(_results(own, work, "results", directory))
    assets = scale_assets()
    decimals = {a.symbol: a.decimals for a in assets}
    if public is None:
        reserves = load_reserves(directory, assets)
        by_status = status_totals(reserves, own)
        files = public_files(reserves, own, read_rows(directory), decimals)
    else:
        reserves, by_status, files = public(own, assets)
    out["by_status"] = {a: {str(s): v for s, v in per.items()} for a, per in by_status.items()}
    out["totals"] = reserves.totals
    out["addresses"] = reserves.addresses
    out["per_asset_addresses"] = reserves.per_asset_addresses
    out["amounts"] = _digest(json.dumps([[s, str(v)] for s, v in reserves.amounts]).encode())
    out["reserves.csv"] = _digest(files["reserves.csv"])
    out["reserves.parquet"] = _digest(public_parquet(files["reserves.parquet"], directory))
    csv_path = os.path.join(work, "reserves.csv")
    with open(csv_path, "wb") as f:
        f.write(files["reserves.csv"])
    okx = verify_reserves(mapper, csv_path, CHALLENGE, "okx-csv", **extra)
    out["okx"] = {"counts": {str(k): v for k, v in okx.counts().items()}, "disagreements": okx.totals_disagreements,
                  **_results(okx, work, "okx", work)}
    none = verify_reserves(mapper, directory, None, **extra)
    out["no_challenge"] = {"counts": {str(k): v for k, v in none.counts().items()}, **_results(none, work, "none", directory)}
    return out


def _small(directory: str, name: str, rows: list[tuple[Any, ...]], balance: pa.DataType = pa.int64(),
           heights: dict[str, int] | None = None) -> str:
    """A small reserves directory ``directory/name`` of rows ``(chain, address, asset, balance, height)``."""
    path = os.path.join(directory, name)
    os.makedirs(path, exist_ok=True)
    k = _key(90)
    sig = sign.evm_address(k)
    del sig
    pq.write_table(pa.table({"chain": pa.array([r[0] for r in rows], pa.string()),
                             "address": pa.array([r[1] for r in rows], pa.string()),
                             "asset": pa.array([r[2] for r in rows], pa.string()),
                             "balance": pa.array([r[3] for r in rows], balance),
                             "height": pa.array([r[4] for r in rows], pa.int64())}), os.path.join(path, "r.parquet"))
    if heights is not None:
        with open(os.path.join(path, "heights.json"), "w") as f:
            f.write(json.dumps(heights))
    return path


def error_outputs(directory: str, mapper: Any) -> dict[str, str]:
    """The message of each way the reserves are refused (load, verify, the public files)."""
    from pipeline.errors import InputError
    from pipeline.reserves.input import load_reserves
    from pipeline.reserves.ownership import verify_reserves
    from pipeline.reserves.public import public_files, read_rows

    eth = sign.evm_address(_key(91))
    assets = scale_assets()
    cases: dict[str, Any] = {
        "mismatch": _small(directory, "mismatch", [("ethereum", eth, "ETH", 1, 5), ("bitcoin", "1x", "BTC", 1, None),
                                                   ("eth", eth.lower(), "USDT", 1, 6)]),
        "undeclared": _small(directory, "undeclared", [("ethereum", eth, "ETH", 1, None), ("tron", "T", "TRX", 1, 3)],
                             heights={"ethereum": 5}),
        "declared": _small(directory, "declared", [("ethereum", eth, "ETH", 1, 5), ("ethereum", eth, "USDT", 1, 4)],
                           heights={"ethereum": 5}),
        "negative": _small(directory, "negative", [("ethereum", eth, "ETH", 1, None), ("stellar", "G", "XLM", 1, -2)]),
        "asset": _small(directory, "asset", [("ethereum", eth, "ETH", 1, 5), ("ethereum", eth, "NOPE", 1, 5)]),
        "null": _small(directory, "null", [("ethereum", eth, "ETH", 1, 5), ("ethereum", None, "USDT", 1, 5)]),
        "empty": _small(directory, "empty", [("ethereum", eth, "ETH", 1, 5), (" \u3000", eth, "USDT", 1, 5)]),
        "exact": _small(directory, "exact", [("ethereum", eth, "ETH", 1, 5), ("bsc", eth, "BNB", 1, 5),
                                             ("ethereum", eth, "ETH", 2, 5)]),
        "precise": _small(directory, "precise", [("bitcoin", "1x", "BTC", Decimal("1.000000001"), 5)],
                          balance=pa.decimal128(38, 9)),
        "negative balance": _small(directory, "negative balance", [("bitcoin", "1x", "BTC", -3, 5)]),
        "overflow": _small(directory, "overflow", [("bitcoin", "1x", "BTC", HALF, 5), ("bitcoin", "1y", "BTC", HALF, 5)],
                           balance=pa.decimal256(76, 8)),
    }
    two = os.path.join(directory, "across")
    os.makedirs(two, exist_ok=True)
    for n, rows in enumerate(([("ethereum", eth, "ETH", 1, 5)], [("bsc", eth, "BNB", 1, 5), ("ethereum", eth, "ETH", 1, 5)])):
        pq.write_table(pa.table({"chain": [r[0] for r in rows], "address": [r[1] for r in rows],
                                 "asset": [r[2] for r in rows], "balance": [r[3] for r in rows],
                                 "height": [r[4] for r in rows]}), os.path.join(two, f"f{n}.parquet"))
    cases["across"] = two
    out: dict[str, str] = {}
    for name, path in sorted(cases.items()):
        for what, run in (("load", lambda p: load_reserves(p, assets)),
                          ("verify", lambda p: verify_reserves(mapper, p, CHALLENGE))):
            try:
                run(path)
                out[f"{name} {what}"] = "ok"
            except InputError as exc:
                out[f"{name} {what}"] = _shown(str(exc), directory)
            except Exception as exc:  # noqa: BLE001 - a crash is recorded as its type: the same crash before and after
                out[f"{name} {what}"] = f"crash: {type(exc).__name__}"
    many = os.path.join(directory, "many")
    os.makedirs(many, exist_ok=True)
    k = _key(92)
    pq.write_table(pa.table({"chain": ["ethereum", "ethereum"], "address": [sign.evm_address(k), eth],
                             "asset": ["ETH", "ETH"], "balance": [1, 2],
                             "signatures": [[sign.sign_evm(k, CHALLENGE)], ["a", "b", "c"]]}),
                   os.path.join(many, "r.parquet"))
    own = verify_reserves(mapper, many, CHALLENGE)
    try:
        public_files(load_reserves(many, assets), own, read_rows(many), {a.symbol: a.decimals for a in assets})
        out["many public"] = "ok"
    except InputError as exc:
        out["many public"] = str(exc)
    return out


# ---------------------------------------------------------------- the tests

GOLDEN_FILE = os.path.join(ROOT, "tests", "reserves-scale-golden.json")
"""``scale_outputs`` and ``error_outputs`` of the row-by-row implementation (commit 97aa079, with its
local mapper and default chunks) on ``write_scale_input``'s files."""


def _plain(doc: Any) -> Any:
    return json.loads(json.dumps(doc, sort_keys=True, ensure_ascii=False))


class _Parts:
    """A sink that keeps every write apart."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(bytes(data))


@pytest.mark.integration
def test_a_100k_month_on_the_cluster_gives_the_row_by_row_bytes(tmp_path, client2):
    """Statuses, reasons, counts, sums, the per-row results (Parquet and JSON lines), the public CSV
    and Parquet, the CSV layout re-verified, a run without a challenge and every refusal's message:
    the columnar implementation on 2 workers, in chunks other than the default, gives what the
    row-by-row one gave; the public files from the verified batches (``verified_reserves``, one
    read) and from ``public_files`` (rows read again) are the same bytes."""
    from pipeline.cluster import client_mapper
    from pipeline.reserves.input import load_reserves
    from pipeline.reserves.ownership import verify_reserves
    from pipeline.reserves.public import ROW_GROUP, public_files, read_rows, status_totals, verified_reserves

    directory = str(tmp_path / "in")
    write_scale_input(directory)
    mapper = client_mapper(client2)
    got = scale_outputs(directory, str(tmp_path / "work"), mapper, chunk_rows=7_000, public=verified_reserves)
    got["errors"] = error_outputs(str(tmp_path / "errors"), mapper)
    want = json.load(open(GOLDEN_FILE, encoding="utf-8"))
    assert want["errors"]["null verify"] == "crash: AttributeError"  # as 97aa079 recorded it: a defect since mended,
    want["errors"]["null verify"] = "ok"  # the row with a null address is now invalid ("address is null"), named
    got = _plain(got)
    assert sorted(got) == sorted(want)
    for key in sorted(want):
        assert got[key] == want[key], key
    # the writer's Parquet bytes are those of its table written by pyarrow's defaults (as the
    # row-by-row writer wrote it), so the rewrite the digest is taken over is byte for byte
    results = str(tmp_path / "work" / "results.parquet")
    sink = pa.BufferOutputStream()
    pq.write_table(pq.read_table(results), sink)
    assert open(results, "rb").read() == sink.getvalue().to_pybytes()
    # the step-by-step API, from rows read again, gives the same public files
    own = verify_reserves(mapper, directory, CHALLENGE, keep_proofs=False)
    reserves = load_reserves(directory, scale_assets())
    files = public_files(reserves, own, read_rows(directory), {a.symbol: a.decimals for a in scale_assets()})
    assert _digest(files["reserves.csv"]) == want["reserves.csv"]
    assert _digest(public_parquet(files["reserves.parquet"], directory)) == want["reserves.parquet"]
    # the public file is what the row-by-row writer made of the rows it holds in row groups of ROW_GROUP
    # rows, byte for byte (so the digest of that rewrite with the directory replaced, against the recorded
    # one, is byte for byte), and a function of the rows: two groups here, whatever the tasks were
    assert public_parquet(files["reserves.parquet"], None, ROW_GROUP) == files["reserves.parquet"]
    assert pq.ParquetFile(pa.BufferReader(files["reserves.parquet"])).metadata.num_row_groups == 2
    public = verified_reserves(verify_reserves(mapper, directory, CHALLENGE), scale_assets())[2]
    assert public_parquet(public["reserves.parquet"], None, ROW_GROUP) == files["reserves.parquet"]
    # written as they are made (publish streams them into the bundle): the same bytes, in parts (the CSV
    # 16 384 rows at a time, the Parquet file 65 536), none of which is the whole file
    for name in ("reserves.csv", "reserves.parquet"):
        sink = _Parts()
        public.write(name, sink)
        assert b"".join(sink.parts) == files[name], name
        assert len(sink.parts) > 2 and max(map(len, sink.parts)) < len(files[name]), (name, len(sink.parts))
    assert _plain(status_totals(reserves, own)) == want["by_status"]
    with pytest.raises(PorError, match="verified without them"):  # proofs not kept: nothing is read again
        verified_reserves(own, scale_assets())


@pytest.mark.integration
def test_one_wallet_in_several_files_and_tasks_is_found_by_the_group_by(tmp_path, client2):
    """Every row its own task (so a wallet's rows are on both workers): the same records as one task,
    as in this process; each later row of a wallet names its first, across files."""
    from pipeline.cluster import client_mapper
    from pipeline.mapping import local_mapper
    from pipeline.reserves.ownership import verify_reserves

    directory = str(tmp_path / "in")
    write_scale_input(directory, rows=240)
    one = verify_reserves(client_mapper(client2), directory, CHALLENGE, chunk_rows=1)
    whole = verify_reserves(local_mapper, directory, CHALLENGE, chunk_rows=100_000)
    assert one.records == whole.records
    assert one.table.equals(whole.table)
    dups = [(r["file"].rsplit("/", 1)[1], int(r["reason"].split()[5]), r["reason"]) for r in one.records
            if r["reason"].startswith("the same wallet as row")]
    # the re-spellings (b.parquet) and the alias (d.parquet) name the benchmark file's rows, Aptos's
    # short spelling the row before it (a wallet's vectors are on several assets: several wallets)
    assert {f for f, _, _ in dups} == {"b.parquet", "d.parquet"}
    assert all("a.parquet: " in reason for f, first, reason in dups if first < 240)
    outside = [(f, reason) for f, first, reason in dups if first >= 240]
    assert len(outside) == 1 and outside[0][0] == "b.parquet" and "b.parquet: aptos " in outside[0][1]
    assert sum(f == "b.parquet" for f, _, _ in dups) == 13 and sum(f == "d.parquet" for f, _, _ in dups) == 1
    for _, first, _ in dups:  # the first row of a wallet is never itself a later row
        assert not one.records[first]["reason"].startswith("the same wallet as row")


# ---------------------------------------------------------------- the vectorised rules against their row-by-row statements

def _hold_rows_reference(rows: list[dict[str, Any]], declared: dict[str, int] | None, source: str) -> list[int | None]:
    """The rule as the row-by-row implementation stated it (``heights.hold_rows`` before columns)."""
    from pipeline.errors import InputError

    chains: dict[str, tuple[int, str]] = {}
    if declared is not None:
        chains = {c: (h, source) for c, h in declared.items()}
    out: list[int | None] = []
    for i, r in enumerate(rows):
        chain = find_chain(r["chain"]) if isinstance(r["chain"], str) else None
        height = r.get("height")
        if height is not None and height < 0:
            raise InputError(f"row {i}: snapshot height {height} is negative")
        if chain is None:
            out.append(height)
            continue
        known = chains.get(chain.name)
        if known is None:
            if height is not None and declared is not None:
                raise InputError(f"row {i}: {chain.name} at height {height}, but {source} declares no height "
                                 f"for {chain.name} (declared: {dict(sorted(declared.items()))})")
            if height is not None:
                chains[chain.name] = (height, f"row {i}")
            out.append(height)
            continue
        if height is not None and height != known[0]:
            raise InputError(f"row {i}: {chain.name} at height {height}, but {known[1]} puts {chain.name} at "
                             f"height {known[0]}: one snapshot height per chain (a coin moved between two blocks "
                             "would otherwise count twice)")
        out.append(known[0])
    return out


def test_heights_held_by_columns_as_row_by_row():
    import random

    from pipeline.errors import InputError
    from pipeline.reserves.heights import hold_rows

    rng = random.Random(5)
    names = ["ethereum", "eth", "ETH", "bitcoin", "btc", "stellar", None, "tron", "Ethereum "]
    for _ in range(3000):
        n = rng.randint(0, 9)
        rows = [{"chain": rng.choice(names), "height": rng.choice([None, None, 5, 6, 7, -1, 2**63 - 1, 2**64])}
                for _ in range(n)]
        declared = rng.choice([None, {"ethereum": 5}, {"ethereum": 6, "bitcoin": 7}, {"tron": 2**64}])
        try:
            want: Any = _hold_rows_reference(rows, declared, "heights.json")
        except InputError as exc:
            want = str(exc)
        try:
            got: Any = hold_rows(rows, declared, "heights.json")
        except InputError as exc:
            got = str(exc)
        assert got == want, (rows, declared)


def test_balances_as_text_by_columns_as_by_decimal():
    import random

    from pipeline.reserves.ownership import _text, balance_text

    rng = random.Random(7)
    for kind in (pa.decimal128(38, 18), pa.decimal256(76, 38), pa.decimal128(12, 0), pa.decimal128(38, 2),
                 pa.decimal128(5, -2), pa.int64(), pa.uint8()):
        values: list[Any] = [None]
        for _ in range(2000):
            if pa.types.is_integer(kind):
                values.append(rng.randint(0, 250))
                continue
            digits = rng.randint(1, kind.precision)
            unscaled = rng.randint(0, 10**digits - 1) // 10**rng.randint(0, digits) * rng.choice([1, 1, -1])
            values.append(Decimal(unscaled).scaleb(-kind.scale))
        column = pa.array(values, kind)
        assert balance_text(column).to_pylist() == [None if v is None else _text(v) for v in column.to_pylist()]


def _awkward(rng: Any) -> str:
    alphabet = ['a', 'Z', '0', ' ', ',', '"', "'", '\\', '\n', '\r', '\t', '\x00', '\x1f', '\x7f', '\u00e9', '\u2028',
                '\U0001f600', '|', ':']
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))


def test_json_lines_by_columns_as_json_dumps():
    import random

    from pipeline.reserves.results import jsonl_chunks

    rng = random.Random(11)
    rows = [{"row": i, "b": rng.choice([None, _awkward(rng)]), "a": _awkward(rng), "z": rng.choice([None, -i, 2**62])}
            for i in range(3000)]
    table = pa.table({"row": pa.array([r["row"] for r in rows], pa.int64()), "b": pa.array([r["b"] for r in rows]),
                      "a": pa.array([r["a"] for r in rows]), "z": pa.array([r["z"] for r in rows], pa.int64())})
    want = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode("utf-8")
    assert b"".join(jsonl_chunks(table, step=257)) == want


def test_the_csv_layout_by_columns_as_the_csv_module():
    import csv
    import io
    import random

    from pipeline.reserves.okx_csv import ADDRESS_HEADER, TOTALS_HEADER, okx_csv_bytes

    rng = random.Random(13)
    n = 3000
    rows = [{"coin": _awkward(rng) or "X", "chain": _awkward(rng), "height": rng.choice([None, 0, 12]),
             "address": _awkward(rng), "balance": _awkward(rng), "message": rng.choice([None, "", _awkward(rng)]),
             "signatures": rng.choice([None, [], [_awkward(rng)], [None, _awkward(rng)], [_awkward(rng), _awkward(rng)]]),
             "script": rng.choice([None, _awkward(rng)]), "owners": rng.choice([[], [_awkward(rng)], None])} for _ in range(n)]
    columns = {k: pa.array([r[k] for r in rows], pa.list_(pa.string()) if k in ("signatures", "owners")
                           else pa.int64() if k == "height" else pa.string()) for k in rows[0]}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TOTALS_HEADER)
    w.writerow(["X", "-", "1.5"])
    w.writerow([])
    w.writerow(ADDRESS_HEADER)
    for r in rows:
        sigs, owners = list(r["signatures"] or []) + ["", ""], list(r["owners"] or []) + ["", ""]
        w.writerow([r["coin"], r["chain"], "" if r["height"] is None else r["height"], r["address"], r["balance"],
                    r["message"] or "", sigs[0], sigs[1], r["script"] or "", owners[0], owners[1]])
    assert okx_csv_bytes(columns, {"X": "1.5"}, {}, step=301) == out.getvalue().encode("utf-8")


def test_amounts_in_whole_units_by_columns_as_by_decimal():
    import random

    from pipeline.protocol.amounts import to_units
    from pipeline.reserves.input import Amounts, word_sum
    from pipeline.reserves.public import units_text, whole_units

    rng = random.Random(17)
    decimals = {"A": 0, "B": 6, "C": 18, "D": 38, "E": 8}
    symbols = [rng.choice(sorted(decimals)) for _ in range(4000)]
    values = [rng.choice([0, 1, rng.randint(0, 2**64), rng.randint(0, 2**128 - 1) // 10**rng.randint(0, 38)])
              for _ in symbols]
    values = [v if decimals[s] or v < 10**38 else v // 10**3 for s, v in zip(symbols, values, strict=True)]
    amounts = Amounts(pa.array(symbols), np.array([v >> 64 for v in values], np.uint64),
                      np.array([v & (2**64 - 1) for v in values], np.uint64))
    assert list(amounts) == list(zip(symbols, values, strict=True)) and amounts[7] == (symbols[7], values[7])
    assert units_text(amounts, decimals).to_pylist() == [to_units(v, decimals[s]) for s, v in zip(symbols, values, strict=True)]
    context = Context(prec=100)
    assert whole_units(amounts, decimals).equals(pa.array([Decimal(v).scaleb(-decimals[s], context)
                                                           for s, v in zip(symbols, values, strict=True)], pa.decimal256(76, 38)))
    assert word_sum(amounts.hi, amounts.lo) == sum(values)


def test_null_proof_lists_as_empty_lists_as_fill_null():
    """The Parquet file's signatures and owners: an empty list for each null, as ``fill_null([])`` gives
    (without a copy where the null slots hold nothing; with one where a null slot holds values)."""
    from pipeline.reserves.public import _empty_for_null

    kind = pa.list_(pa.string())
    empty = pa.scalar([], kind)
    cases = [pa.array([["a", "b"], None, ["c"], None, []] * 3, kind).slice(2, 9), pa.array([["a"]], kind),
             pa.array([None, None], kind), pa.array([], kind),
             pa.ListArray.from_arrays(pa.array([0, 1, 3], pa.int32()), pa.array(["a", "b", "c"]),
                                      mask=pa.array([False, True]))]
    for lists in cases:
        got = _empty_for_null(lists)
        assert got.null_count == 0 and got.equals(lists.fill_null(empty)), lists
    assert _empty_for_null(cases[0]).buffers()[1].address == cases[0].buffers()[1].address  # no copy
    assert _empty_for_null(cases[-1]).to_pylist() == [["a"], []]


# ---------------------------------------------------------------- totals from the verified batches, as from the files

_POOL = [  # (chain, address) as an exchange might write them: one wallet in two spellings, text that does not
    # decode, a chain off the list, an alias of a chain, a blank address
    ("ethereum", "0x52908400098527886E0F7030069857D2E4169EE7"), ("ethereum", "0x52908400098527886e0f7030069857d2e4169ee7"),
    ("eth", "0x52908400098527886E0F7030069857D2E4169EE7"), ("ethereum", "not-an-address"), ("ethereum", "not-an-address "),
    ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"), ("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("dogechain", "D-anything"), ("dogechain", "d-anything"), ("tron", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"),
    ("ethereum", "  "), ("bitcoin", "bc1q|pipe"),
]


def _reserve_files(directory: str, rows: list[tuple[int, str, int, int]]) -> None:
    """``rows`` (pool index, asset, balance in smallest units of 8 decimals, file) as Parquet files."""
    os.makedirs(directory)
    for f in sorted({r[3] for r in rows}):
        mine = [r for r in rows if r[3] == f]
        pq.write_table(pa.table({
            "chain": pa.array([_POOL[p][0] for p, _, _, _ in mine], pa.string()),
            "address": pa.array([_POOL[p][1] for p, _, _, _ in mine], pa.string()),
            "asset": pa.array([a for _, a, _, _ in mine], pa.string()),
            "balance": pa.array([Decimal(b).scaleb(-8) for _, _, b, _ in mine], pa.decimal128(38, 8)),
            "signatures": pa.array([[] for _ in mine], pa.list_(pa.string())),
        }), os.path.join(directory, f"part-{f}.parquet"))


def _outcome(fn):
    from pipeline.errors import InputError

    try:
        r = fn()
    except InputError as exc:
        return ("refused", str(exc))
    return ("totals", r.totals, r.addresses, r.per_asset_addresses, r.amounts.hi.tolist(), r.amounts.lo.tolist())


@pytest.mark.parametrize("seed", range(40))
def test_totals_from_the_verified_batches_refuse_and_add_up_as_the_files_do(tmp_path, seed):
    """Generated reserves whose rows repeat wallets as written and in other spellings, with undecodable
    text, chains off the list and blank fields, over several files: ``verified_reserves`` (whose
    duplicate check looks only at the rows ``Ownership.repeats`` names) refuses with the message
    ``load_reserves`` gives reading the files, or gives the same totals and amounts."""
    import random

    from pipeline.mapping import local_mapper
    from pipeline.reserves.input import load_reserves
    from pipeline.reserves.ownership import verify_reserves
    from pipeline.reserves.public import verified_reserves

    rng = random.Random(seed)
    assets = [Asset("BTC", 8), Asset("ETH", 8)]
    n = rng.randint(1, 14)
    rows = [(rng.randrange(len(_POOL)), rng.choice(["BTC", "ETH"]), rng.randrange(10**12), rng.randrange(3))
            for _ in range(n)]
    if seed % 2:  # no row written twice: only re-spellings, so the totals come out (or a blank field refuses)
        rows = list({(p, a): (p, a, b, f) for p, a, b, f in rows}.values())
    directory = str(tmp_path / "r")
    _reserve_files(directory, rows)
    want = _outcome(lambda: load_reserves(directory, assets))
    own = verify_reserves(local_mapper, directory, CHALLENGE, chunk_rows=rng.choice([1, 3, 100]))
    assert own.repeats is not None and len(own.repeats) == own.rows
    got = _outcome(lambda: verified_reserves(own, assets)[0])
    assert got == want, (rows, got, want)


def test_a_null_chain_or_address_is_an_invalid_row_named_not_a_crash(tmp_path):
    """A reserves file whose chain or address is missing (null) in some row: ``verify_reserves`` gives
    those rows ``invalid`` with the reason naming the null field (it raised AttributeError before),
    and the other rows their own verdicts."""
    from pipeline.mapping import local_mapper
    from pipeline.reserves.ownership import verify_reserves

    k = _key(93)
    directory = str(tmp_path / "r")
    os.makedirs(directory)
    pq.write_table(pa.table({"chain": ["ethereum", None, "ethereum"],
                             "address": [sign.evm_address(k), sign.evm_address(k), None],
                             "asset": ["ETH", "USDT", "USDC"], "balance": [1, 2, 3],
                             "signatures": [[sign.sign_evm(k, CHALLENGE)]] * 3}), os.path.join(directory, "r.parquet"))
    records = verify_reserves(local_mapper, directory, CHALLENGE).records
    assert [(r["status"], r["reason"]) for r in records] == [
        ("bound", records[0]["reason"]), ("invalid", "chain is null"), ("invalid", "address is null")]
    assert records[0]["reason"].endswith("over this period's challenge")


def test_reserves_verified_without_their_proofs_are_not_published_from_a_second_read(tmp_path):
    """``verified_reserves`` takes only batches verified with their proof columns: verified without them,
    it refuses (it read the reserves again before, and compared only the row count and assets with what
    was verified: an altered copy could have published other rows' figures and proofs beside the
    verdicts)."""
    from pipeline.mapping import local_mapper
    from pipeline.reserves.ownership import verify_reserves
    from pipeline.reserves.public import verified_reserves

    k = _key(94)
    directory = str(tmp_path / "r")
    os.makedirs(directory)
    pq.write_table(pa.table({"chain": ["ethereum"], "address": [sign.evm_address(k)], "asset": ["ETH"], "balance": [1],
                             "signatures": [[sign.sign_evm(k, CHALLENGE)]]}), os.path.join(directory, "r.parquet"))
    assets = [Asset("ETH", 18)]
    assert verified_reserves(verify_reserves(local_mapper, directory, CHALLENGE), assets)[0].totals == {"ETH": 1}
    with pytest.raises(PorError, match="verified without them"):
        verified_reserves(verify_reserves(local_mapper, directory, CHALLENGE, keep_proofs=False), assets)
