"""The BLAKE3 kernels side by side: nanoseconds of CPU per message for the LLVM IR kernel (16 and 8
lanes where the CPU has them), the numba kernel and the ``blake3`` package (one call per message,
``max_threads=1``: its own multi-threading off), on the same messages, in one process.

``python -m jobs.bench_kernel [messages]`` (200 000 by default) hashes that many random messages of
32, 64, 128 and 705 bytes (por-v3's leaves and nodes are 32 and 128 bytes keyed, por-v2's nodes 705),
keyed and plain, through ``blake3_batch.hash_rows`` (equal-length rows) and ``hash_ragged`` (the same
messages given by offsets), the kernel forced with ``POR_BLAKE3_KERNEL`` and the width with
``POR_BLAKE3_LANES``; each figure is the median of 5 runs of ``time.process_time``, after a warm-up
call, and every kernel's digests are checked against the package's first. The IR kernel's compile
and the numba kernel's first call (loading its cached machine code) are timed in this process too.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Callable

import numpy as np
from blake3 import blake3

from pipeline.tree import blake3_batch, blake3_ir

SIZES = (32, 64, 128, 705)
RUNS = 5


def _median_ns(work: Callable[[], object], count: int) -> float:
    times = []
    for _ in range(RUNS):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return statistics.median(times) / count * 1e9


def _set(kernel: str, lanes: str | None) -> None:
    os.environ[blake3_batch.KERNEL_VARIABLE] = kernel
    if lanes is None:
        os.environ.pop(blake3_ir.LANES_VARIABLE, None)
    else:
        os.environ[blake3_ir.LANES_VARIABLE] = lanes


def kernels() -> list[tuple[str, str, str | None]]:
    """(column, POR_BLAKE3_KERNEL, POR_BLAKE3_LANES) for what runs on this CPU."""
    out: list[tuple[str, str, str | None]] = []
    has = blake3_ir._host()[1]
    if {"avx512f", "avx512bw"} <= has:
        out.append(("ir-16", "ir", "16"))
    if "avx2" in has:
        out.append(("ir-8", "ir", "8"))
    out.append(("numba", "numba", None))
    return out


def run(count: int, echo: Callable[[str], None] = print) -> list[dict[str, object]]:
    saved = {k: os.environ.get(k) for k in (blake3_batch.KERNEL_VARIABLE, blake3_ir.LANES_VARIABLE)}
    columns = kernels()
    startup: dict[str, float] = {}
    for name, kernel, lanes in columns:  # first calls: the compile / the cache load, CPU seconds
        _set(kernel, lanes)
        started = time.process_time()
        blake3_batch.hash_rows(np.zeros((20, 705), np.uint8), key=bytes(32))
        blake3_batch.hash_ragged(np.zeros(100, np.uint8), np.array([0, 30, 100]), key=bytes(32))
        startup[name] = time.process_time() - started
    compiles = {f"ir-{lanes}": seconds for lanes, seconds in blake3_ir.compiles}
    rng = np.random.default_rng(2026)
    key = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
    results: list[dict[str, object]] = []
    try:
        for size in SIZES:
            rows = rng.integers(0, 256, (count, size), dtype=np.uint8)
            flat = rows.reshape(-1)
            offsets = np.arange(count + 1, dtype=np.int64) * size
            messages = [r.tobytes() for r in rows]
            for mode in ("keyed", "plain"):
                opts: dict[str, bytes] = {"key": key} if mode == "keyed" else {}

                def package(opts: dict[str, bytes] = opts, messages: list[bytes] = messages) -> list[bytes]:
                    return [blake3(m, max_threads=1, **opts).digest() for m in messages]  # type: ignore[arg-type]

                want = package()
                row: dict[str, object] = {"bytes": size, "mode": mode,
                                          "blake3 package": _median_ns(package, count)}
                for name, kernel, lanes in columns:
                    _set(kernel, lanes)
                    got = blake3_batch.hash_rows(rows, **opts)  # type: ignore[arg-type]
                    if [g.tobytes() for g in got[:2000]] != want[:2000] or got[-1].tobytes() != want[-1]:
                        raise AssertionError(f"{name} disagrees with the blake3 package on {size}-byte {mode} rows")
                    got = blake3_batch.hash_ragged(flat, offsets, **opts)  # type: ignore[arg-type]
                    if got[-1].tobytes() != want[-1] or got[0].tobytes() != want[0]:
                        raise AssertionError(f"{name} disagrees with the blake3 package on {size}-byte {mode} ragged")
                    row[name] = _median_ns(lambda: blake3_batch.hash_rows(rows, **opts), count)  # type: ignore[arg-type]  # noqa: B023
                    row[f"{name} ragged"] = _median_ns(
                        lambda: blake3_batch.hash_ragged(flat, offsets, **opts), count)  # type: ignore[arg-type]  # noqa: B023
                results.append(row)
                echo(_line(row, columns))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    echo("")
    for name, seconds in startup.items():
        extra = f" (of which compiling the IR: {compiles[name]:.3f} s)" if name in compiles else ""
        echo(f"first call, {name}: {seconds:.3f} s CPU{extra}")
    return results


def _header(columns: list[tuple[str, str, str | None]]) -> str:
    names = [n for n, _, _ in columns]
    cells = ["bytes", "mode"] + names + [f"{n} ragged" for n in names] + ["blake3 package", "best IR / numba",
                                                                           "best IR / package"]
    return "| " + " | ".join(cells) + " |\n|" + "---|" * len(cells)


def _line(row: dict[str, object], columns: list[tuple[str, str, str | None]]) -> str:
    names = [n for n, _, _ in columns]
    ir_names = [n for n in names if n.startswith("ir")]
    best = min(float(row[n]) for n in ir_names) if ir_names else float("nan")  # type: ignore[arg-type]
    cells = [str(row["bytes"]), str(row["mode"])]
    cells += [f"{float(row[n]):.1f}" for n in names]  # type: ignore[arg-type]
    cells += [f"{float(row[n + ' ragged']):.1f}" for n in names]  # type: ignore[arg-type]
    cells += [f"{float(row['blake3 package']):.1f}",  # type: ignore[arg-type]
              f"{best / float(row['numba']):.2f}", f"{best / float(row['blake3 package']):.2f}"]  # type: ignore[arg-type]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 200_000
    cpu = blake3_ir._host()[0]
    print(f"ns of CPU per message, median of {RUNS}, {count} messages, one process; CPU {cpu}")
    print(_header(kernels()))
    run(count)


if __name__ == "__main__":
    main(sys.argv[1:])
