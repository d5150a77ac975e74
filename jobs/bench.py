"""The benchmark: ``por build`` on synthetic snapshots against the hashing floor.

The *hashing floor* is the time one Python process takes to BLAKE3, in a bare
loop over prepared bytes, exactly the messages por-v1 requires: per user one
keyed nonce hash (``U``), one keyed user-key hash (``u8(len P) ‖ P ‖ U``), one
leaf (``1 + 32 + 16 m`` bytes) and one internal node (``1 + 2 (32 + 16 m)``
bytes). With ``W`` workers the floor is that time divided by ``W``. Floor and
build are measured in the same run, so their ratio holds on a noisy machine.

The *batch floor* is the same messages hashed by the batch hasher (``pipeline.tree.blake3_batch``,
many messages per call, compiled), after one warm-up call: the new floor. The hasher's start-up in a
fresh process (importing numba, loading the cached machine code) is measured and printed apart.

Each snapshot is built in every protocol asked for (por-v2 and por-v3 by default, each on a fresh
cluster), and the table says, per build, its stages, the workers' peak memory and the mean size of a
proof (sampled); a line per user count gives por-v3's build time over por-v2's. The floors are
por-v1/v2's messages (por-v3 hashes about as many blocks: per holding ``s`` fragment keys and ``s − 1``
split randomness, per leaf one block, per node two).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from dataclasses import dataclass
from typing import Callable

from blake3 import blake3

from pipeline.cluster import client_mapper, dask_client
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.export import export_proofs
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol import SecretKey, period_prefix
from pipeline.storage.bundle import open_bundle
from pipeline.testing.synth import write_synth

PERIOD = "2026-11"
BENCH_SECRET = SecretKey(blake3(b"por benchmark secret (public)").digest())


@dataclass
class Row:
    users: int
    workers: int
    wall: float  # cluster start-up + build
    build: float  # build only
    floor: float
    batch_floor: float
    rss_mib: float
    stages: dict[str, float]
    export: float  # seconds to export every proof on the same cluster (0: not exported)
    protocol: str = "por-v3"
    proof_bytes: float = 0.0  # mean size of a proof (compact JSON) over the sampled users

    @property
    def ratio(self) -> float:
        return self.wall / (self.floor / self.workers)

    @property
    def batch_ratio(self) -> float:
        return self.wall / (self.batch_floor / self.workers)


FLOOR_CHUNK = 1_000_000


def hashing_floor(users: int, assets: int, repeats: int = 3) -> float:
    """Median over ``repeats`` of the bare single-process hashing time for ``users`` users.

    Messages are prepared up front (chunks of ``FLOOR_CHUNK`` users, reused, so the
    benchmark's own memory stays small) and only the hashing loop is timed.
    """
    chunk = min(users, FLOOR_CHUNK)
    ids = [f"U{i:010d}".encode() for i in range(chunk)]
    prefix = period_prefix(PERIOD)
    key = bytes(32)
    leaf_len, node_len = 1 + 32 + 16 * assets, 1 + 2 * (32 + 16 * assets)
    leaves = memoryview(os.urandom(leaf_len) * chunk)
    nodes = memoryview(os.urandom(node_len) * chunk)
    h = blake3

    def hash_all(n: int) -> None:
        for u in ids[:n] if n < chunk else ids:
            h(prefix + u, key=h(u, key=key).digest()).digest()
        for i in range(0, n * leaf_len, leaf_len):
            h(leaves[i : i + leaf_len]).digest()
        for i in range(0, n * node_len, node_len):
            h(nodes[i : i + node_len]).digest()

    return _median_time(users, chunk, repeats, hash_all)


def _median_time(users: int, chunk: int, repeats: int, hash_all: Callable[[int], None]) -> float:
    """Median over ``repeats`` of the time ``hash_all(n)`` takes over ``users`` users, ``chunk`` at a time."""
    times = []
    for _ in range(repeats):
        elapsed = 0.0
        for start in range(0, users, chunk):
            n = min(chunk, users - start)
            t0 = time.perf_counter()
            hash_all(n)
            elapsed += time.perf_counter() - t0
        times.append(elapsed)
    return statistics.median(times)


def batch_floor(users: int, assets: int, repeats: int = 3) -> float:
    """The same messages as ``hashing_floor``, through the batch hasher (median of ``repeats``)."""
    import numpy as np

    from pipeline.tree import blake3_batch

    chunk = min(users, FLOOR_CHUNK)
    ids = b"".join(f"U{i:010d}".encode() for i in range(chunk))
    offsets = np.arange(chunk + 1, dtype=np.int64) * 11
    prefix = period_prefix(PERIOD)
    with_prefix = b"".join(prefix + ids[i * 11:(i + 1) * 11] for i in range(chunk))
    uk_offsets = np.arange(chunk + 1, dtype=np.int64) * (11 + len(prefix))
    rng = np.random.default_rng(0)
    leaves = rng.integers(0, 256, size=(chunk, 1 + 32 + 16 * assets), dtype=np.uint8)
    nodes = rng.integers(0, 256, size=(chunk, 1 + 2 * (32 + 16 * assets)), dtype=np.uint8)
    def hash_all(n: int) -> None:
        nonces = blake3_batch.hash_ragged(ids, offsets[:n + 1], key=bytes(32))
        blake3_batch.hash_ragged(with_prefix, uk_offsets[:n + 1], key=nonces)
        blake3_batch.hash_rows(leaves[:n])
        blake3_batch.hash_rows(nodes[:n])

    hash_all(2)  # every kernel compiled (or loaded from the cache) before timing
    return _median_time(users, chunk, repeats, hash_all)


def hasher_start_up() -> float:
    """Seconds a fresh Python process spends importing the batch hasher and making its first calls
    (numba import and the cached kernels' load; a compile when the cache is cold)."""
    import subprocess
    import sys

    code = ("import time; t = time.perf_counter(); import numpy as np; from pipeline.tree import blake3_batch as b; "
            "b.hash_rows(np.zeros((2, 705), np.uint8)); b.hash_ragged(np.zeros(4, np.uint8), np.array([0, 2, 4]), "
            "key=np.zeros((2, 32), np.uint8)); print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _peak_rss_kib() -> int:
    """The worker's peak resident set (VmHWM): unlike ``ru_maxrss`` it starts afresh at exec,
    so it does not inherit the benchmark process's own peak through fork."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


PROOF_SAMPLE = 20
PROTOCOLS = ("por-v2", "por-v3")


def mean_proof_bytes(out: str, users: int, sample: int = PROOF_SAMPLE) -> float:
    """The mean size of the compact JSON proof of ``sample`` users spread over the snapshot's ids."""
    b = open_bundle(out)
    ids = [f"U{i:010d}" for i in range(0, users, max(1, users // sample))][:sample]
    sizes = [len(json.dumps(make_proof(b, uid, BENCH_SECRET), separators=(",", ":"))) for uid in ids]
    return statistics.mean(sizes)


def bench_build(users: int, assets: int, workers: int, workdir: str, floor: float, batch: float,
                export: str = "jsonl", protocol: str = "por-v3") -> Row:
    snap = os.path.join(workdir, f"snap-{users}-{assets}")
    if not os.path.exists(os.path.join(snap, "assets.json")):
        write_synth(snap, users, asset_count=assets, files=max(1, users // 250_000), seed=1)
    out = os.path.join(workdir, f"bundle-{users}-{assets}-{workers}-{protocol}")
    t0 = time.perf_counter()
    with dask_client(workers) as client:
        t1 = time.perf_counter()
        result = build_bundle(client, plan_snapshot(snap), PERIOD, BENCH_SECRET, out, force=True, protocol=protocol)
        t2 = time.perf_counter()
        rss = max(client.run(_peak_rss_kib).values())  # the build's peak, before the export
        exported = 0.0
        if export != "none":
            export_proofs(open_bundle(out), out + "-proofs", export, client_mapper(client), force=True)
            exported = time.perf_counter() - t2
    return Row(users, workers, t2 - t0, t2 - t1, floor, batch, rss / 1024, result.stages, exported, protocol,
               mean_proof_bytes(out, users))


def run_bench(user_counts: list[int], assets: int, worker_counts: list[int], workdir: str,
              echo: Callable[[str], None] = print, export: str = "jsonl",
              protocols: tuple[str, ...] = PROTOCOLS) -> list[Row]:
    """For each user count: the hashing floor once, then a build for each worker count and protocol (and,
    unless ``export`` is ``"none"``, an export of every proof in that format)."""
    os.makedirs(workdir, exist_ok=True)
    rows = []
    echo(f"machine: {os.cpu_count()} CPUs; {assets} assets; worker processes with 1 thread each")
    echo(f"batch hasher start-up in a fresh process: {hasher_start_up():.2f} s (numba import, cached kernels)")
    header = ("| users | workers | protocol | wall s | build s | floor s (1 proc) | floor/W s | ratio | batch floor s "
              "| batch ratio | users/s | users/s/core | peak RSS/worker MiB | read | shuffle | count | users | padding "
              "| buckets | merge | proof bytes | export proofs/s/core |")
    echo(header)
    echo("|" + "---|" * (header.count("|") - 1))
    for n in user_counts:
        snap = os.path.join(workdir, f"snap-{n}-{assets}")
        if not os.path.exists(os.path.join(snap, "assets.json")):
            write_synth(snap, n, asset_count=assets, files=max(1, n // 250_000), seed=1)
        floor = hashing_floor(n, assets, repeats=3 if n <= 1_000_000 else 1)
        batch = batch_floor(n, assets, repeats=3 if n <= 1_000_000 else 1)
        for workers in worker_counts:
            for protocol in protocols:
                r = bench_build(n, assets, workers, workdir, floor, batch, export, protocol)
                rows.append(r)
                s = r.stages
                echo(f"| {n:,} | {workers} | {protocol} | {r.wall:.1f} | {r.build:.1f} | {r.floor:.1f} "
                     f"| {r.floor / workers:.1f} | {r.ratio:.2f} | {r.batch_floor:.2f} | {r.batch_ratio:.1f} "
                     f"| {n / r.wall:,.0f} | {n / r.wall / workers:,.0f} | {r.rss_mib:,.0f} "
                     + "".join(f"| {s.get(stage, 0):.1f} " for stage in
                               ("read", "shuffle", "count", "users", "padding", "buckets", "merge"))
                     + f"| {r.proof_bytes:,.0f} | {f'{n / r.export / workers:,.0f}' if r.export else '–'} |")
            by_protocol = {r.protocol: r.build for r in rows if r.users == n and r.workers == workers}
            if {"por-v2", "por-v3"} <= set(by_protocol):
                echo(f"por-v3 / por-v2 build time at {n:,} users, {workers} workers: "
                     f"{by_protocol['por-v3'] / by_protocol['por-v2']:.2f}")
        for protocol in protocols if len(worker_counts) > 1 else ():
            by_w = {r.workers: r.wall for r in rows if r.users == n and r.protocol == protocol}
            base = by_w[min(by_w)]
            echo(f"scaling at {n:,} users ({protocol}): " + ", ".join(
                f"{w} workers {base / t:.2f}x" for w, t in sorted(by_w.items())) + f" (vs {min(by_w)} worker)")
    echo("wall = cluster start-up + build; ratio = wall / (floor / workers); batch ratio = wall / (batch floor / "
         "workers); stages in seconds; "
         f"export = every proof written as {export} on the same cluster")
    return rows
