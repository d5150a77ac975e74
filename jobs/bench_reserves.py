"""The reserves benchmark: ownership proofs verified on the cluster against the bare signature checks.

The input (``bench_table``): signed rows over every supported family, made by each family's
synthetic signer (``pipeline.testing.sign.SYNTH_SIGNERS``): BTC, ETH, USDT, USDC and BNB on the
chains they live on (Bitcoin P2PKH / P2WPKH / 2-of-3 P2WSH; EVM chains and TRON, alternately
signing the text and its keccak; Solana), and XRP (secp256k1 and Ed25519 accounts), ADA (CIP-8,
enterprise and base addresses), DOT (sr25519 and Ed25519), TON (v4r2, v5r1, highload v3), FIL (f1,
Lotus and FRC-102), SUI (Ed25519 and secp256k1) and BCH (legacy and CashAddr spellings, P2PKH and
2-of-3 P2SH), as many rows per asset, assets one after the other.

The *signature floor* is the time one Python process takes for the library calls alone over the
same proofs (one libsecp256k1 public-key recovery per ECDSA signature, one Ed25519 verification
per Ed25519 signature, one sr25519 verification per sr25519 signature), messages hashed beforehand.
``ratio = verify wall × workers / floor``: 1 when the cluster verifies at the speed of the bare
signature checks on every core.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import statistics
import threading
import time
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.cluster import client_mapper, dask_client
from pipeline.formats.assets import Asset
from pipeline.ownership import cashaddr
from pipeline.ownership.challenge import challenge_text
from pipeline.ownership.chains import find_chain
from pipeline.reserves.ownership import verify_reserves
from pipeline.testing.sign import BareChecks, SynthProof, synth_signer

ASSETS = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("USDC", 6), Asset("BNB", 18),
          Asset("XRP", 6), Asset("ADA", 6), Asset("DOT", 10), Asset("TON", 9), Asset("FIL", 18), Asset("SUI", 9),
          Asset("BCH", 8)]
CHAINS_OF = {"BTC": ("bitcoin",), "ETH": ("ethereum", "arbitrum-one", "base", "optimism"),
             "USDT": ("ethereum", "tron", "solana"), "USDC": ("ethereum", "solana", "base"), "BNB": ("bsc",),
             "XRP": ("xrpl",), "ADA": ("cardano",), "DOT": ("polkadot",), "TON": ("ton",), "FIL": ("filecoin",),
             "SUI": ("sui",), "BCH": ("bitcoin-cash",)}
"""Where each benchmark asset lives (the first five as ``pipeline.testing.synth`` places them)."""
CHALLENGE = challenge_text("Bench Exchange", "2026-11", None)
_EXACT = Context(prec=100)
_DECIMALS = {a.symbol: a.decimals for a in ASSETS}


def height_of(chain: str) -> int:
    """The benchmark's snapshot height of ``chain`` (as written)."""
    return 900_000 + len(chain)


def _bench_row(symbol: str, i: int, sr25519: bool) -> dict[str, Any]:
    """Row ``i`` of ``symbol``: an address from real keys and its proof over ``CHALLENGE``. Without
    ``sr25519`` every Polkadot row is an Ed25519 account (sr25519 signatures are randomised: the
    other families' proofs, and so the rows, are the same bytes every time)."""
    def secret(n: int) -> bytes:
        return hashlib.sha256(f"por-bench-reserves|{symbol}|{i}|{n}".encode()).digest()

    options = CHAINS_OF[symbol]
    name = options[i % len(options)]
    chain = find_chain(name)
    assert chain is not None, name
    k = 2 * i + 1 if name == "polkadot" and not sr25519 else i  # the signers alternate by the parity of k
    proof: SynthProof = synth_signer(chain).proof(chain, secret, k, CHALLENGE)
    address = proof.address
    if chain.cashaddr is not None and i % 2 == 0:  # every other Bitcoin Cash row in its CashAddr spelling
        import base58

        raw = base58.b58decode_check(address)
        address = cashaddr.encode(chain.cashaddr, raw[0] == chain.p2sh, raw[1:])
    units = int.from_bytes(secret(99)[:8], "big") % 10**12
    return {"chain": name, "address": address, "asset": symbol,
            "balance": Decimal(units).scaleb(-_DECIMALS[symbol], _EXACT), "height": height_of(name),
            "signatures": proof.signatures, "message": None, "script": proof.script, "owners": []}


def _bench_part(part: tuple[list[tuple[str, int]], bool]) -> list[dict[str, Any]]:
    cells, sr25519 = part
    return [_bench_row(symbol, i, sr25519) for symbol, i in cells]


def bench_table(rows: int, sr25519: bool = True, processes: int | None = None) -> pa.Table:
    """``rows`` signed rows, as many per asset as can be (the first assets one more), assets in
    ``ASSETS`` order; signed in ``processes`` processes (default: every core)."""
    import multiprocessing

    per, extra = divmod(rows, len(ASSETS))
    cells = [(a.symbol, i) for n, a in enumerate(ASSETS) for i in range(per + (n < extra))]
    step = 10_000
    parts = [(cells[a:a + step], sr25519) for a in range(0, len(cells), step)]
    with multiprocessing.get_context("spawn").Pool(processes or os.cpu_count() or 1) as pool:
        out = [r for part in pool.map(_bench_part, parts) for r in part]
    return pa.table({
        "chain": pa.array([r["chain"] for r in out], pa.string()),
        "address": pa.array([r["address"] for r in out], pa.string()),
        "asset": pa.array([r["asset"] for r in out], pa.string()),
        "balance": pa.array([r["balance"] for r in out], pa.decimal256(76, 38)),
        "height": pa.array([r["height"] for r in out], pa.int64()),
        "signatures": pa.array([r["signatures"] for r in out], pa.list_(pa.string())),
        "message": pa.array([r["message"] for r in out], pa.string()),
        "script": pa.array([r["script"] for r in out], pa.string()),
        "owners": pa.array([r["owners"] for r in out], pa.list_(pa.string())),
    })


def write_heights(directory: str, chains: Any) -> None:
    """``heights.json`` in ``directory``: each of ``chains`` (as written) at its benchmark height."""
    declared = {c.name: height_of(n) for n in set(chains) if (c := find_chain(n)) is not None}
    with open(os.path.join(directory, "heights.json"), "w") as f:
        f.write(json.dumps(dict(sorted(declared.items())), indent=1) + "\n")


def write_bench_reserves(path: str, rows: int, sr25519: bool = True) -> None:
    """``bench_table(rows)`` to ``path`` (one Parquet file, as pyarrow writes it by default: one row
    group up to 1 Mi rows), and ``heights.json`` beside it."""
    table = bench_table(rows, sr25519)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    pq.write_table(table, path + ".partial")
    write_heights(directory, table.column("chain").unique().to_pylist())
    os.replace(path + ".partial", path)


def _bare_checks(path: str, part: int = 0, parts: int = 1) -> tuple[
        list[tuple[bytes, bytes]], list[tuple[bytes, bytes, bytes]], dict[str, int], list[tuple[bytes, bytes, bytes]]]:
    """The file's proofs (every ``parts``-th row from row ``part``) as bare library calls, each by its
    chain's family's synthetic signer (``pipeline.testing.sign.SYNTH_SIGNERS``): ECDSA recoveries,
    Ed25519 verifications, the mix of rows (chain, and kind of proof), sr25519 verifications."""
    table = pq.read_table(path, columns=["chain", "address", "signatures", "script"])
    if parts > 1:
        table = table.take(list(range(part, table.num_rows, parts)))
    rows = table.to_pylist()
    ecdsa: list[tuple[bytes, bytes]] = []
    eddsa: list[tuple[bytes, bytes, bytes]] = []
    sr: list[tuple[bytes, bytes, bytes]] = []
    mix: dict[str, int] = {}
    for r in rows:
        chain = find_chain(r["chain"])
        proof = SynthProof(r["address"], r["script"], list(r["signatures"]))
        checks = synth_signer(chain).bare_checks(chain, proof, CHALLENGE) if chain is not None else BareChecks()
        kind = r["chain"] + (f" {checks.kind}" if checks.kind else "")
        mix[kind] = mix.get(kind, 0) + 1
        ecdsa += checks.ecdsa
        eddsa += checks.ed25519
        sr += checks.sr25519
    return ecdsa, eddsa, mix, sr


def _timed(ecdsa: list[tuple[bytes, bytes]], eddsa: list[tuple[bytes, bytes, bytes]],
           sr: list[tuple[bytes, bytes, bytes]]) -> float:
    """The bare library calls, median of 3 passes (seconds)."""
    import sr25519
    from coincurve import PublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    times = []
    for _ in range(3):
        t = time.perf_counter()
        for sig, digest in ecdsa:
            PublicKey.from_signature_and_message(sig, digest, hasher=None)
        for public, sig, message in eddsa:
            Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
        for public, sig, message in sr:
            assert sr25519.verify(sig, message, public)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _floor(path: str) -> tuple[float, dict[str, int], dict[str, int]]:
    """Bare library calls over the file's proofs (messages hashed up front) in this process, median
    of 3; the mix of rows, and how many calls of each kind."""
    ecdsa, eddsa, mix, sr = _bare_checks(path)
    return _timed(ecdsa, eddsa, sr), mix, {"secp256k1": len(ecdsa), "ed25519": len(eddsa), "sr25519": len(sr)}


def _part_floor(task: tuple[str, int, int]) -> float:
    """Worker side: the bare library calls of every ``parts``-th row from row ``part`` (a share of
    every family), median of 3 (the rows read and their checks prepared beforehand, untimed)."""
    ecdsa, eddsa, _, sr = _bare_checks(*task)
    return _timed(ecdsa, eddsa, sr)


def cluster_floor(client: Any, path: str) -> float:
    """The bare signature checks of the file shared out over the cluster's workers, one share each,
    all at once: the slowest share's time (seconds), the floor of the cluster as it runs."""
    workers = sorted(client.scheduler_info()["workers"])
    futures = [client.submit(_part_floor, (path, k, len(workers)), workers=[w], pure=False)
               for k, w in enumerate(workers)]
    return max(client.gather(futures))


class PeakRss:
    """The highest resident memory of this process while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _worker_peak() -> int:
    """A worker's peak resident memory (bytes) since it started."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class ReservesRow:
    rows: int
    workers: int
    verify: float
    """``verify_reserves`` wall seconds on the warm cluster, median of 3."""
    floor: float
    """The signature floor in one process (seconds)."""
    mix: dict[str, int]
    cluster_floor: float = 0.0
    """The signature floor on the cluster: the bare checks shared out over its workers, all at once
    (seconds)."""
    calls: dict[str, int] = field(default_factory=dict)
    publish: float = 0.0
    """The reserves step of ``por publish`` (verify keeping the proof columns, then totals, sums by status
    and both public files written into a bundle as they are made, ``publish.write_public``), wall
    seconds, once."""
    publish_files: float = 0.0
    """Of which: the totals, sums by status and public files from the verified batches (seconds)."""
    public_bytes: dict[str, int] = field(default_factory=dict)
    """The public files' sizes (bytes)."""
    client_mib: float = 0.0
    """The client's peak resident memory during the verifications (MiB)."""
    publish_client_mib: float = 0.0
    worker_mib: list[float] = field(default_factory=list)
    """Each worker's peak resident memory (MiB) over the verifications."""
    publish_worker_mib: list[float] = field(default_factory=list)
    """The same once the reserves step of ``por publish`` ran too."""

    @property
    def per_core(self) -> float:
        return self.rows / self.verify / self.workers

    @property
    def floor_per_core(self) -> float:
        return self.rows / self.floor

    @property
    def ratio(self) -> float:
        return self.verify * self.workers / self.floor

    @property
    def publish_ratio(self) -> float:
        return self.publish * self.workers / self.floor

    @property
    def cluster_ratio(self) -> float:
        """Verify wall over the cluster's own signature floor."""
        return self.verify / self.cluster_floor if self.cluster_floor else 0.0

    @property
    def scaling(self) -> float:
        """How many single processes' worth of bare signature checks the workers do at once."""
        return self.floor / self.cluster_floor if self.cluster_floor else 0.0


def _runs(mapper: Any, path: str, total: int) -> Iterator[float]:
    for _ in range(3):
        t = time.perf_counter()
        result = verify_reserves(mapper, path, CHALLENGE, keep_proofs=False)
        yield time.perf_counter() - t
        assert result.counts()["bound"] == total, result.counts()
        del result  # never two runs' results held at once


def publish_reserves_step(ownership: Any, out_dir: str) -> dict[str, str]:
    """What ``por publish``'s reserves step does once the rows are verified: totals and sums by status
    from the verified batches, both public files written into a bundle at ``out_dir`` as they are made
    (``jobs.publish.write_public``); returns name -> blake3 of the bytes written."""
    from jobs.publish import write_public
    from pipeline.reserves.public import verified_reserves
    from pipeline.storage import bundle
    from pipeline.storage import fs as storage

    fs, where = storage.open_fs(out_dir)
    fresh = bundle.Bundle(fs, where, out_dir)
    _, _, public = verified_reserves(ownership, ASSETS)
    return write_public(fresh, public)


def run_reserves_bench(rows: int, worker_counts: list[int], workdir: str, echo: Callable[[str], None] = print,
                       publish: bool = True) -> list[ReservesRow]:
    path = os.path.join(workdir, f"reserves-{rows}", "r.parquet")
    if not os.path.exists(path):
        write_bench_reserves(path, rows)
    total = pq.ParquetFile(path).metadata.num_rows
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:  # apart: this process stays the client it measures
        floor, mix, calls = pool.apply(_floor, (path,))
    out = []
    for workers in worker_counts:
        with dask_client(workers) as client:
            mapper = client_mapper(client)
            verify_reserves(mapper, path, CHALLENGE, keep_proofs=False)  # warm the workers' imports
            with PeakRss() as rss:
                times = list(_runs(mapper, path, total))
            row = ReservesRow(total, workers, statistics.median(times), floor, mix, 0.0, calls,
                              client_mib=rss.peak / 2**20)
            row.worker_mib = [v / 2**20 for v in client.run(_worker_peak).values()]
            if publish:
                out_dir = os.path.join(workdir, f"publish-{rows}")
                with PeakRss() as rss:
                    t = time.perf_counter()
                    ownership = verify_reserves(mapper, path, CHALLENGE)
                    t_files = time.perf_counter()
                    held = publish_reserves_step(ownership, out_dir)
                    row.publish = time.perf_counter() - t
                    row.publish_files = time.perf_counter() - t_files
                row.publish_client_mib = rss.peak / 2**20
                row.publish_worker_mib = [v / 2**20 for v in client.run(_worker_peak).values()]
                row.public_bytes = {n: os.path.getsize(os.path.join(out_dir, n)) for n in held}
                del held, ownership
                shutil.rmtree(out_dir)
            row.cluster_floor = cluster_floor(client, path)  # last: it reads the whole file in every worker
        out.append(row)
        echo(f"reserves {total} rows on {workers} worker(s): verify {row.verify:.2f} s (median of 3), "
             f"{row.per_core:,.0f} rows/s per core; signature floor {row.floor:.2f} s in one process, "
             f"{row.floor_per_core:,.0f} rows/s; ratio {row.ratio:.2f}; on the cluster the floor is {row.cluster_floor:.2f} s "
             f"({row.scaling:.2f} processes' worth), ratio {row.cluster_ratio:.2f}; peak RSS client {row.client_mib:,.0f} MiB, "
             f"workers {', '.join(f'{m:,.0f}' for m in row.worker_mib)} MiB"
             + (f"; publish's reserves step {row.publish:.2f} s (ratio {row.publish_ratio:.2f}, on the cluster "
                f"{row.publish / row.cluster_floor:.2f}; of which the totals and public files "
                f"{row.publish_files:.2f} s, written as made: "
                + ", ".join(f"{n} {b / 2**20:,.0f} MiB" for n, b in row.public_bytes.items())
                + f"; peak RSS client {row.publish_client_mib:,.0f} MiB, workers "
                f"{', '.join(f'{m:,.0f}' for m in row.publish_worker_mib)} MiB)" if publish else ""))
    echo("mix: " + ", ".join(f"{k} {v}" for k, v in sorted(mix.items())))
    echo("signature checks: " + ", ".join(f"{k} {v}" for k, v in calls.items()))
    return out
