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
proof (sampled); a line per user count gives por-v3's build time over por-v2's.

por-v3's floors are its own messages (``v3_message_counts``), counted exactly from the bundle the
build wrote (``private/index.json``): per user a nonce and a user key; per fragment its key; per
holding ``s − 1`` split draws (one side of the holding non-zero; the bench's snapshots have no debt);
per padding leaf its key; per leaf one 32-byte message under its own key; per node a 128-byte
message under ``K_node``; per odd level of a bucket one padding node; the top trees' nodes. Each kind's
time per message is measured over ``KIND_SAMPLE`` prepared messages (median of 3), one ``blake3``
call each for the per-call floor and through the batch hasher for the batch floor, and multiplied by
its count: at 10M users the loop over every message would take minutes of the benchmark's own time.

``peer_comparison`` runs a peer's public generator (BitMEX's ``generate_liabilities.py``, given by
path: see docs/PERFORMANCE.md) on the same accounts, one asset, one process each, alternating with
``por build --workers 1``, and prints the medians and their ratio.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

from blake3 import blake3

from pipeline.cluster import client_mapper, dask_client
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.export import export_proofs
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol import SecretKey, period_prefix, v3
from pipeline.storage.bundle import open_bundle
from pipeline.storage.private import create_private_file
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
    messages: int = 0  # messages hashed (por-v3: counted from the bundle; por-v1/v2: 4 per user)

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


@dataclass(frozen=True)
class MessageCounts:
    """How many messages of each kind a por-v3 build hashes (``v3_message_counts``)."""

    nonces: int
    user_keys: int
    fragment_keys: int
    splits: int
    padding_keys: int
    leaves: int
    nodes: int
    padding_nodes: int

    def total(self) -> int:
        return sum(getattr(self, k) for k in self.__dataclass_fields__)


def v3_message_counts(bundle_dir: str) -> MessageCounts:
    """The messages the por-v3 build of ``bundle_dir`` hashed, from its ``private/index.json``: every
    bucket's levels (``ceil(n / 2)`` parents a level, a padding node where a level is odd) and each
    asset's top tree (``2^k − 1`` nodes)."""
    with open(os.path.join(bundle_dir, "private", "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    s = int(index["parameters"]["fragments"])
    fragments = leaves = nodes = pads = 0
    for tree in index["trees"]:
        fragments += int(tree["fragments"])
        leaves += int(tree["leaves"])
        nodes += (1 << int(tree["bucket_bits"])) - 1
        for bucket in tree["buckets"]:
            n = int(bucket["leaves"])
            for _ in range(int(tree["bucket_height"])):
                pads += n % 2
                n = math.ceil(n / 2)
                nodes += n
    users = int(index["users"])
    return MessageCounts(users, users, fragments, fragments // s * (s - 1), leaves - fragments, leaves, nodes, pads)


KIND_SAMPLE = 200_000


def _v3_kind_messages(n: int) -> dict[str, tuple[list[bytes], list[bytes]]]:
    """Per message kind of por-v3: ``n`` messages of its size and their keys (as the build keys them)."""
    rng = os.urandom
    ids = [f"U{i:010d}".encode() for i in range(n)]
    prefix = period_prefix(PERIOD)
    one_key = [bytes(32)] * n
    per_row = [rng(32) for _ in range(n)]
    symbol = v3.lp("BTC")
    return {
        "nonces": (ids, one_key),
        "user_keys": ([prefix + u for u in ids], per_row),
        "fragment_keys": ([v3.FRAGMENT_TAG + symbol + bytes([i % 2]) for i in range(n)], per_row),
        "splits": ([v3.SPLIT_TAG + symbol + bytes([0, 1])] * n, per_row),
        "padding_keys": ([v3.PADDING_LEAF_TAG + symbol + i.to_bytes(8, "big") for i in range(n)], one_key),
        "leaves": ([rng(v3.LEAF_MESSAGE_SIZE) for _ in range(n)], per_row),
        "nodes": ([rng(v3.NODE_MESSAGE_SIZE) for _ in range(n)], [v3.NODE_KEY] * n),
        "padding_nodes": ([v3.PADDING_NODE_TAG + symbol + bytes([3]) + i.to_bytes(8, "big") for i in range(n)],
                          one_key),
    }


def _per_message(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / n


def v3_kind_times(sample: int = KIND_SAMPLE) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per message of each por-v3 kind: one ``blake3`` call each, and through the batch hasher
    (``hash_ragged`` with a key per message or one key, ``hash_rows`` for the fixed-size leaves and
    nodes), median of 3 over ``sample`` messages after a warm-up."""
    import numpy as np

    from pipeline.tree import blake3_batch

    per_call: dict[str, float] = {}
    batch: dict[str, float] = {}
    h = blake3
    for kind, (messages, keys) in _v3_kind_messages(sample).items():
        pairs = list(zip(messages, keys, strict=True))

        def each(pairs: list[tuple[bytes, bytes]] = pairs) -> None:
            for m, k in pairs:
                h(m, key=k).digest()

        per_call[kind] = _per_message(each, sample)
        data = np.frombuffer(b"".join(messages), dtype=np.uint8)
        offsets = np.zeros(sample + 1, dtype=np.int64)
        np.cumsum([len(m) for m in messages], out=offsets[1:])
        same_key = all(k is keys[0] for k in keys)
        key_arg: Any = keys[0] if same_key else np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(sample, 32)
        fixed = kind in ("leaves", "nodes")

        def call(data: Any = data, offsets: Any = offsets, key_arg: Any = key_arg, fixed: bool = fixed) -> None:
            if fixed:
                blake3_batch.hash_rows(data.reshape(sample, -1), key=key_arg)
            else:
                blake3_batch.hash_ragged(data, offsets, key=key_arg)

        call()  # compiled (or loaded) before timing
        batch[kind] = _per_message(call, sample)
    return per_call, batch


def v3_floors(counts: MessageCounts, times: tuple[dict[str, float], dict[str, float]]) -> tuple[float, float]:
    """``(per-call floor, batch floor)`` in seconds of one process for ``counts``' messages."""
    per_call, batch = times
    return (sum(getattr(counts, k) * per_call[k] for k in per_call),
            sum(getattr(counts, k) * batch[k] for k in batch))


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
                export: str = "jsonl", protocol: str = "por-v3",
                v3_times: tuple[dict[str, float], dict[str, float]] | None = None) -> Row:
    """One build on a fresh cluster; ``floor``/``batch`` are por-v1/v2's floors, replaced for a por-v3 build by
    its own (``v3_floors`` of its counted messages) when ``v3_times`` (``v3_kind_times``) is given."""
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
    row = Row(users, workers, t2 - t0, t2 - t1, floor, batch, rss / 1024, result.stages, exported, protocol,
              mean_proof_bytes(out, users), 4 * users)
    if v3_times is not None and protocol == "por-v3":  # por-v3's own messages, counted from what it built
        counts = v3_message_counts(out)
        row.floor, row.batch_floor = v3_floors(counts, v3_times)
        row.messages = counts.total()
    return row


def run_bench(user_counts: list[int], assets: int, worker_counts: list[int], workdir: str,
              echo: Callable[[str], None] = print, export: str = "jsonl",
              protocols: tuple[str, ...] = PROTOCOLS) -> list[Row]:
    """For each user count: the hashing floor once, then a build for each worker count and protocol (and,
    unless ``export`` is ``"none"``, an export of every proof in that format)."""
    os.makedirs(workdir, exist_ok=True)
    rows = []
    echo(f"machine: {os.cpu_count()} CPUs; {assets} assets; worker processes with 1 thread each")
    echo(f"batch hasher start-up in a fresh process: {hasher_start_up():.2f} s (numba import, cached kernels)")
    v3_times = v3_kind_times() if "por-v3" in protocols else None
    if v3_times is not None:
        echo("por-v3 ns per message, per call / batch: " + ", ".join(
            f"{k} {v3_times[0][k] * 1e9:.0f}/{v3_times[1][k] * 1e9:.0f}" for k in v3_times[0]))
    header = ("| users | workers | protocol | wall s | build s | floor s (1 proc) | floor/W s | ratio | batch floor s "
              "| batch ratio | messages | users/s | users/s/core | peak RSS/worker MiB | read | shuffle | count | users "
              "| padding | buckets | merge | proof bytes | export proofs/s/core |")
    echo(header)
    echo("|" + "---|" * (header.count("|") - 1))
    for n in user_counts:
        snap = os.path.join(workdir, f"snap-{n}-{assets}")
        if not os.path.exists(os.path.join(snap, "assets.json")):
            write_synth(snap, n, asset_count=assets, files=max(1, n // 250_000), seed=1)
        older = any(p != "por-v3" for p in protocols)  # por-v1/v2's floors: only when such a build is timed
        floor = hashing_floor(n, assets, repeats=3 if n <= 1_000_000 else 1) if older else 0.0
        batch = batch_floor(n, assets, repeats=3 if n <= 1_000_000 else 1) if older else 0.0
        for workers in worker_counts:
            for protocol in protocols:
                r = bench_build(n, assets, workers, workdir, floor, batch, export, protocol, v3_times)
                rows.append(r)
                s = r.stages
                echo(f"| {n:,} | {workers} | {protocol} | {r.wall:.1f} | {r.build:.1f} | {r.floor:.1f} "
                     f"| {r.floor / workers:.1f} | {r.ratio:.2f} | {r.batch_floor:.2f} | {r.batch_ratio:.1f} "
                     f"| {r.messages:,} | {n / r.wall:,.0f} | {n / r.wall / workers:,.0f} | {r.rss_mib:,.0f} "
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
         "workers); floors: each protocol's own messages (por-v3: counted from its bundle); stages in seconds; "
         f"export = every proof written as {export} on the same cluster")
    return rows


def peer_csv(snap: str, path: str) -> int:
    """The snapshot's first asset as the peer's input, ``account,amount`` (account: the id's digits), in
    the asset's smallest unit; returns the rows written."""
    import glob

    import pyarrow.parquet as pq

    with open(os.path.join(snap, "assets.json"), encoding="utf-8") as f:
        symbol = next(iter(json.load(f)))
    rows = 0
    with open(path, "w", encoding="ascii") as out:
        out.write("account,amount\n")
        for name in sorted(glob.glob(os.path.join(snap, "*.parquet"))):
            table = pq.read_table(name, columns=["user_id", symbol])
            ids, amounts = table.column("user_id").to_pylist(), table.column(symbol).to_pylist()
            out.writelines(f"{int(u[1:])},{int(a)}\n" for u, a in zip(ids, amounts, strict=True))
            rows += len(ids)
    return rows


def peer_comparison(script: str, users: int, workdir: str, echo: Callable[[str], None] = print,
                    repeats: int = 3) -> tuple[float, float]:
    """``por build --workers 1`` (the whole command: start-up, one process) against the peer's generator
    (``python SCRIPT --liabilities CSV --blockheight 1``, its output discarded, its nonce file removed before
    each run so that every run does the same work) on the same ``users`` accounts of one asset, runs
    alternating; returns the medians ``(ours, peer)`` in seconds."""
    if not os.path.isfile(script):
        raise FileNotFoundError(f"--peer {script}: no such file (see docs/PERFORMANCE.md for the peer's script)")
    os.makedirs(workdir, exist_ok=True)
    snap = os.path.join(workdir, f"snap-{users}-1")
    if not os.path.exists(os.path.join(snap, "assets.json")):
        write_synth(snap, users, asset_count=1, files=max(1, users // 250_000), seed=1)
    csv_path = os.path.join(workdir, f"peer-{users}.csv")
    written = peer_csv(snap, csv_path)
    secret = os.path.join(workdir, "bench.secret")
    if not os.path.exists(secret):
        create_private_file(secret, (BENCH_SECRET.reveal().hex() + "\n").encode("ascii"), "the bench's secret")
    por = os.path.join(os.path.dirname(sys.executable), "por")
    ours_cmd = [por, "build", snap, "--period", PERIOD, "--secret-file", secret, "--out",
                os.path.join(workdir, f"peer-bundle-{users}"), "--force", "--workers", "1"]
    ours, theirs = [], []
    with tempfile.TemporaryDirectory(dir=workdir) as peer_dir:
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(ours_cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ours.append(time.perf_counter() - t0)
            nonces = os.path.join(peer_dir, "nonces.txt")
            if os.path.exists(nonces):
                os.remove(nonces)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, os.path.abspath(script), "--liabilities", csv_path, "--blockheight", "1"],
                           check=True, cwd=peer_dir, stdout=subprocess.DEVNULL)
            theirs.append(time.perf_counter() - t0)
    a, b = statistics.median(ours), statistics.median(theirs)
    echo(f"peer comparison, {written:,} accounts of one asset, one process each, {repeats} alternating runs: "
         f"por build --workers 1 {a:.2f} s (runs {', '.join(f'{t:.2f}' for t in ours)}), "
         f"peer {b:.2f} s (runs {', '.join(f'{t:.2f}' for t in theirs)}): {b / a:.1f}x")
    return a, b
