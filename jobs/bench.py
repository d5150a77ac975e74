"""The benchmark: ``por build`` on synthetic snapshots against the hashing floor.

The *hashing floor* is the time one Python process takes to BLAKE3, in a bare
loop over prepared bytes, exactly the messages por-v1 requires: per user one
keyed nonce hash (``U``), one keyed user-key hash (``u8(len P) ‖ P ‖ U``), one
leaf (``1 + 32 + 16 m`` bytes) and one internal node (``1 + 2 (32 + 16 m)``
bytes). With ``W`` workers the floor is that time divided by ``W``. Floor and
build are measured in the same run, so their ratio holds on a noisy machine.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import dataclass
from typing import Callable

from blake3 import blake3

from pipeline.build import build_bundle
from pipeline.cluster import dask_client
from pipeline.protocol import SecretKey, period_prefix
from pipeline.snapshot import plan_snapshot
from pipeline.synth import write_synth

PERIOD = "2026-11"
BENCH_SECRET = SecretKey(blake3(b"por benchmark secret (public)").digest())


@dataclass
class Row:
    users: int
    workers: int
    wall: float  # cluster start-up + build
    build: float  # build only
    floor: float
    rss_mib: float
    stages: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.wall / (self.floor / self.workers)


def hashing_floor(users: int, assets: int, repeats: int = 3) -> float:
    """Median over ``repeats`` of the bare single-process hashing time for ``users`` users."""
    ids = [f"U{i:010d}".encode() for i in range(users)]
    prefix = period_prefix(PERIOD)
    key = bytes(32)
    leaf_len, node_len = 1 + 32 + 16 * assets, 1 + 2 * (32 + 16 * assets)
    leaves = memoryview(os.urandom(leaf_len) * users)
    nodes = memoryview(os.urandom(node_len) * users)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for u in ids:
            blake3(prefix + u, key=blake3(u, key=key).digest()).digest()
        for i in range(0, users * leaf_len, leaf_len):
            blake3(leaves[i : i + leaf_len]).digest()
        for i in range(0, users * node_len, node_len):
            blake3(nodes[i : i + node_len]).digest()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_rss_kib() -> int:
    """The worker's peak resident set (VmHWM): unlike ``ru_maxrss`` it starts afresh at exec,
    so it does not inherit the benchmark process's own peak through fork."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_one(users: int, assets: int, workers: int, workdir: str) -> Row:
    snap = os.path.join(workdir, f"snap-{users}-{assets}")
    if not os.path.exists(os.path.join(snap, "assets.json")):
        write_synth(snap, users, asset_count=assets, files=max(1, users // 250_000), seed=1)
    out = os.path.join(workdir, f"bundle-{users}-{assets}-{workers}")
    floor = hashing_floor(users, assets, repeats=3 if users <= 1_000_000 else 1)
    t0 = time.perf_counter()
    with dask_client(workers) as client:
        t1 = time.perf_counter()
        result = build_bundle(client, plan_snapshot(snap), PERIOD, BENCH_SECRET, out, force=True)
        t2 = time.perf_counter()
        rss = max(client.run(_peak_rss_kib).values())
    return Row(users, workers, t2 - t0, t2 - t1, floor, rss / 1024, result.stages)


def run_bench(user_counts: list[int], assets: int, workers: int, workdir: str,
              echo: Callable[[str], None] = print) -> list[Row]:
    os.makedirs(workdir, exist_ok=True)
    rows = []
    echo(f"machine: {os.cpu_count()} CPUs; {assets} assets; {workers} worker processes, 1 thread each")
    header = ("| users | workers | wall s | build s | floor s (1 proc) | floor/W s | ratio | users/s | users/s/core "
              "| peak RSS/worker MiB | read | shuffle | count | buckets | merge |")
    echo(header)
    echo("|" + "---|" * (header.count("|") - 1))
    for n in user_counts:
        r = bench_one(n, assets, workers, workdir)
        rows.append(r)
        s = r.stages
        echo(f"| {n:,} | {workers} | {r.wall:.1f} | {r.build:.1f} | {r.floor:.1f} | {r.floor / workers:.1f} | {r.ratio:.2f} "
             f"| {n / r.wall:,.0f} | {n / r.wall / workers:,.0f} | {r.rss_mib:,.0f} | {s.get('read', 0):.1f} "
             f"| {s.get('shuffle', 0):.1f} | {s.get('count', 0):.1f} | {s.get('buckets', 0):.1f} | {s.get('merge', 0):.1f} |")
    echo("wall = cluster start-up + build; ratio = wall / (floor / workers); stages in seconds")
    return rows
