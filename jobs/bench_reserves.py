"""The reserves benchmark: ownership proofs verified on the cluster against the bare signature checks.

The *signature floor* is the time one Python process takes for the library calls alone (one
libsecp256k1 public-key recovery per ECDSA signature, one Ed25519 verification per Ed25519
signature) over the same proofs, with the messages hashed beforehand. Rows per second per core
are compared with it, measured in the same run.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow.parquet as pq

from pipeline.cluster import client_mapper, dask_client
from pipeline.formats.assets import Asset
from pipeline.ownership.chains import find_chain
from pipeline.testing.sign import BareChecks, SynthProof, synth_signer
from pipeline.ownership.challenge import challenge_text
from pipeline.reserves.ownership import verify_reserves
from pipeline.testing.synth import write_synth_reserves

ASSETS = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("USDC", 6), Asset("BNB", 18)]
CHALLENGE = challenge_text("Bench Exchange", "2026-11", None)


@dataclass
class ReservesRow:
    rows: int
    workers: int
    verify: float
    floor: float
    mix: dict[str, int]

    @property
    def per_core(self) -> float:
        return self.rows / self.verify / self.workers

    @property
    def floor_per_core(self) -> float:
        return self.rows / self.floor


def _bare_checks(path: str) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes, bytes]], dict[str, int]]:
    """The file's proofs as bare library calls, each by its chain's family's synthetic signer
    (``pipeline.testing.sign.SYNTH_SIGNERS``), and the mix of rows (chain, and kind of proof)."""
    table = pq.read_table(path, columns=["chain", "address", "signatures", "script"]).to_pylist()
    ecdsa: list[tuple[bytes, bytes]] = []
    eddsa: list[tuple[bytes, bytes, bytes]] = []
    mix: dict[str, int] = {}
    for r in table:
        chain = find_chain(r["chain"])
        proof = SynthProof(r["address"], r["script"], list(r["signatures"]))
        checks = synth_signer(chain).bare_checks(chain, proof, CHALLENGE) if chain is not None else BareChecks()
        kind = r["chain"] + (f" {checks.kind}" if checks.kind else "")
        mix[kind] = mix.get(kind, 0) + 1
        ecdsa += checks.ecdsa
        eddsa += checks.ed25519
    return ecdsa, eddsa, mix


def _floor(path: str) -> tuple[float, dict[str, int]]:
    """Bare library calls over the file's proofs (messages hashed up front); median of 3."""
    from coincurve import PublicKey
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    ecdsa, eddsa, mix = _bare_checks(path)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        for sig, digest in ecdsa:
            PublicKey.from_signature_and_message(sig, digest, hasher=None)
        for public, sig, message in eddsa:
            Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
        times.append(time.perf_counter() - t)
    return statistics.median(times), mix


def run_reserves_bench(rows: int, worker_counts: list[int], workdir: str, echo: Callable[[str], None] = print) -> list[ReservesRow]:
    path = os.path.join(workdir, f"reserves-{rows}", "r.parquet")
    if not os.path.exists(path):
        per_asset = max(1, rows // len(ASSETS))
        write_synth_reserves(path, ASSETS, {a.symbol: 10 ** 30 for a in ASSETS}, {a.symbol: 10_000 for a in ASSETS},
                             addresses_per_asset=per_asset, seed=7, challenge=CHALLENGE)
    total = pq.ParquetFile(path).metadata.num_rows
    floor, mix = _floor(path)
    out = []
    for workers in worker_counts:
        with dask_client(workers) as client:
            mapper = client_mapper(client)
            verify_reserves(mapper, path, CHALLENGE, chunk_rows=5_000)  # warm the workers' imports
            times = []
            for _ in range(3):
                t = time.perf_counter()
                result = verify_reserves(mapper, path, CHALLENGE, chunk_rows=5_000)
                times.append(time.perf_counter() - t)
            assert result.counts()["bound"] == total, result.counts()
        row = ReservesRow(total, workers, statistics.median(times), floor, mix)
        out.append(row)
        echo(f"reserves {total} rows on {workers} worker(s): verify {row.verify:.2f} s (median of 3), "
             f"{row.per_core:,.0f} rows/s per core; signature floor {row.floor:.2f} s in one process, "
             f"{row.floor_per_core:,.0f} rows/s; ratio {row.floor_per_core / row.per_core:.2f}")
    echo("mix: " + ", ".join(f"{k} {v}" for k, v in sorted(mix.items())))
    return out
