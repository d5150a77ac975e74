"""The LLVM IR kernel (``pipeline.tree.blake3_ir``) against the ``blake3`` package byte for byte, on
every length from 0 to 1 024 bytes, plain, keyed (one key, one key per message) and derive-key, with
random keys and lane counts around the vector width; the same inputs through the numba kernel give
the same bytes; a fault planted in the generated IR is caught; the selection falls back (with its
reason) where the kernel cannot run; worker processes compile once each; no read past the data."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from blake3 import blake3

from pipeline.errors import InputError, SetupError
from pipeline.tree import blake3_batch as bb
from pipeline.tree import blake3_ir as ir
from tests.test_blake3_batch import CONTEXT, options, reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_compiled: dict[str, ir.Kernel] = {}


def variant(name: str) -> ir.Kernel:
    """``host`` (this CPU's width and features), ``host-8`` (8 lanes, this CPU's features), ``avx2-8``
    and ``avx2-16`` (code generated for Haswell: AVX2, no AVX-512), each compiled once per test run."""
    cpu, has = ir._host()
    lanes, why = ir.host_lanes()
    if lanes is None:
        pytest.skip(f"no IR kernel on this CPU: {why}")
    if name.startswith("avx2") and "avx2" not in has:
        pytest.skip("the CPU has no AVX2")
    if name not in _compiled:
        if name == "host":
            kernel, reason = ir.kernel()
            assert kernel is not None, reason
            _compiled[name] = kernel
        elif name == "host-8":
            _compiled[name] = ir.compile_kernel(8)
        else:
            _compiled[name] = ir.compile_kernel(int(name.split("-")[1]), cpu="haswell", features="")
    return _compiled[name]


@pytest.fixture
def use(monkeypatch):
    """Routes ``blake3_batch``'s public functions through one compiled variant."""
    def choose(name: str) -> ir.Kernel:
        kernel = variant(name)
        monkeypatch.setenv(bb.KERNEL_VARIABLE, "ir")
        monkeypatch.setattr(ir, "kernel", lambda: (kernel, f"test variant {name}"))
        return kernel
    return choose


def lane_counts(lanes: int) -> list[int]:
    return [1, lanes - 1, lanes, lanes + 1, 2 * lanes + 3, 3]


@pytest.mark.parametrize("name", ["host", "host-8", "avx2-8", "avx2-16"])
@pytest.mark.parametrize("mode", ["plain", "keyed", "derive"])
def test_every_length_and_mode_as_rows_and_as_ragged(use, name, mode):
    kernel = use(name)
    counts = lane_counts(kernel.lanes)
    rng = np.random.default_rng(11)
    for length in range(0, 1025):
        n = counts[length % len(counts)]
        rows = rng.integers(0, 256, size=(n, length), dtype=np.uint8)
        keys = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        per_message = mode == "keyed" and length % 2 == 1
        key = keys if per_message else keys[0].tobytes()
        want = [reference(r.tobytes(), mode, keys[i].tobytes() if per_message else keys[0].tobytes())
                for i, r in enumerate(rows)]
        got = bb.hash_rows(rows, **options(mode, key))
        assert [d.tobytes() for d in got] == want, (name, mode, length, n)
        got = bb.hash_ragged(rows.reshape(-1), np.arange(n + 1) * length, **options(mode, key))
        assert [d.tobytes() for d in got] == want, (name, mode, length, n, "ragged")


@pytest.mark.parametrize("name", ["host", "avx2-8"])
def test_ragged_lanes_of_every_length_mixed_in_one_group(use, name):
    """Lanes of one group finish at different blocks; messages overlap, repeat and sit at the data's
    very end (the 64-byte window past it is copied, never read in place)."""
    use(name)
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = int(rng.integers(1, 70))
        data = rng.integers(0, 256, size=int(rng.integers(1, 3000)), dtype=np.uint8)
        lengths = rng.integers(0, min(1025, data.size + 1), size=n)
        starts = np.array([rng.integers(0, data.size - m + 1) for m in lengths], dtype=np.int64)
        if trial % 2:
            starts[-1] = data.size - lengths[-1]  # ends exactly at the data's end
        keys = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        words = np.empty((n, 8), np.uint32)
        key_words = np.ascontiguousarray(keys).view("<u4").reshape(n, 8).astype(np.uint32)
        ir.kernel()[0].ragged(data, starts, lengths.astype(np.int64), key_words, bb.KEYED_HASH, words)
        got = np.ascontiguousarray(words, "<u4").view(np.uint8).reshape(n, 32)
        for i in range(n):
            message = data[starts[i]:starts[i] + lengths[i]].tobytes()
            assert got[i].tobytes() == blake3(message, key=keys[i].tobytes()).digest(), (trial, i, lengths[i])


def test_the_same_inputs_through_both_kernels(monkeypatch):
    """Differential: the numba kernel and the IR kernel give the same bytes on the same inputs
    (rows of the protocol's sizes, ragged messages past one chunk, one key and one key per message)."""
    variant("host")
    rng = np.random.default_rng(3)
    cases = []
    for width in (0, 1, 31, 32, 33, 64, 65, 128, 129, 705, 1000, 1024, 1025, 2000):
        for n in (1, 15, 16, 17, 100):
            rows = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
            keys = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
            cases.append(("rows", rows, keys if n % 2 else keys[0].tobytes()))
    lengths = rng.integers(0, 1300, size=300)
    data = rng.integers(0, 256, size=int(lengths.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ragged_keys = rng.integers(0, 256, (300, 32), np.uint8)
    results = {}
    for kernel in ("numba", "ir"):
        monkeypatch.setenv(bb.KERNEL_VARIABLE, kernel)
        assert bb.kernel_in_use()[0] == kernel
        out = [bb.hash_rows(rows, key=key).tobytes() for _, rows, key in cases]
        out += [bb.hash_rows(rows, derive_key_context=CONTEXT).tobytes() for _, rows, _ in cases[:20]]
        out.append(bb.hash_ragged(data, offsets, key=ragged_keys).tobytes())
        out.append(bb.hash_ragged(data, offsets).tobytes())
        results[kernel] = out
    assert results["ir"] == results["numba"]


def test_a_fault_planted_in_the_generated_ir_is_caught(monkeypatch):
    """The byte-exact comparison bites: a kernel generated with one rotate amount wrong (7 -> 6)
    gives other digests."""
    variant("host")
    original = ir._Emitter.rotr
    monkeypatch.setattr(ir._Emitter, "rotr", lambda self, a, bits: original(self, a, 6 if bits == 7 else bits))
    broken = ir.compile_kernel(8)
    rows = np.frombuffer(os.urandom(9 * 100), np.uint8).reshape(9, 100).copy()
    out = np.empty((9, 8), np.uint32)
    broken.rows(rows, np.array(ir.IV, np.uint32).reshape(1, 8), 0, out)
    got = np.ascontiguousarray(out, "<u4").view(np.uint8).reshape(9, 32)
    assert all(g.tobytes() != blake3(r.tobytes()).digest() for g, r in zip(got, rows, strict=True))


def test_fallback_when_the_cpu_lacks_the_features(monkeypatch):
    monkeypatch.setattr(ir, "_host", lambda: ("pentium4", frozenset({"sse2"})))
    lanes, why = ir.host_lanes()
    assert lanes is None and why == "the CPU (pentium4) has no AVX2"
    monkeypatch.delenv(bb.KERNEL_VARIABLE, raising=False)
    assert bb.kernel_in_use() == ("numba", why)
    rows = np.frombuffer(os.urandom(5 * 70), np.uint8).reshape(5, 70)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing feature is no news: no warning
        assert [d.tobytes() for d in bb.hash_rows(rows)] == [blake3(r.tobytes()).digest() for r in rows]
    monkeypatch.setenv(bb.KERNEL_VARIABLE, "ir")
    with pytest.raises(SetupError, match="the CPU \\(pentium4\\) has no AVX2"):
        bb.hash_rows(rows)


def test_fallback_when_compiling_fails_says_why_in_one_line(monkeypatch):
    monkeypatch.setattr(ir, "_state", {})
    monkeypatch.setattr(ir, "module_text", lambda lanes: "define void @broken( {\n")
    kernel, reason = ir.kernel()
    assert kernel is None
    assert reason.startswith(f"compiling the {ir.host_lanes()[0]}-lane LLVM IR kernel failed: RuntimeError: ")
    assert "\n" not in reason
    monkeypatch.delenv(bb.KERNEL_VARIABLE, raising=False)
    monkeypatch.setattr(bb, "_warned", set())
    rows = np.frombuffer(os.urandom(3 * 40), np.uint8).reshape(3, 40)
    with pytest.warns(RuntimeWarning, match="BLAKE3: the numba kernel, because compiling the"):
        got = bb.hash_rows(rows, key=b"k" * 32)
    assert [d.tobytes() for d in got] == [blake3(r.tobytes(), key=b"k" * 32).digest() for r in rows]
    assert ir.kernel() == (None, reason)  # the failure is kept: no second compile


def test_forcing_a_kernel_and_bad_settings(monkeypatch):
    rows = np.zeros((2, 8), np.uint8)
    monkeypatch.setenv(bb.KERNEL_VARIABLE, "fastest")
    with pytest.raises(InputError, match="POR_BLAKE3_KERNEL: unknown BLAKE3 kernel 'fastest'"):
        bb.hash_rows(rows)
    monkeypatch.setenv(bb.KERNEL_VARIABLE, "numba")
    assert bb.kernel_in_use() == ("numba", "POR_BLAKE3_KERNEL=numba")
    monkeypatch.setenv(ir.LANES_VARIABLE, "7")
    assert ir.host_lanes() == (None, "POR_BLAKE3_LANES='7': expected 8 or 16")
    if "avx2" in ir._host()[1]:
        monkeypatch.setenv(ir.LANES_VARIABLE, "8")
        assert ir.host_lanes()[0] == 8


def test_bad_arguments_are_refused_before_the_machine_code_runs():
    kernel = variant("host")
    data = np.zeros(100, np.uint8)
    keys = np.zeros((1, 8), np.uint32)
    out = np.empty((2, 8), np.uint32)
    with pytest.raises(ValueError, match="outside the data"):
        kernel.ragged(data, np.array([0, 90], np.int64), np.array([10, 11], np.int64), keys, 0, out)
    with pytest.raises(ValueError, match="outside the data"):
        kernel.ragged(data, np.array([0, 0], np.int64), np.array([10, 1025], np.int64), keys, 0, out)
    with pytest.raises(ValueError, match="keys"):
        kernel.ragged(data, np.array([0, 0], np.int64), np.array([1, 1], np.int64), np.zeros((3, 8), np.uint32), 0, out)
    with pytest.raises(ValueError, match="out"):
        kernel.rows(np.zeros((3, 5), np.uint8), keys, 0, out)
    big = np.zeros((2, 128), np.uint8)
    with pytest.raises(ValueError, match="contiguous"):  # a strided view would hash the wrong bytes
        kernel.rows(big[:, :64], keys, 0, out)
    with pytest.raises(ValueError, match="contiguous"):
        kernel.rows(big[::-1], keys, 0, out)
    with pytest.raises(ValueError, match="longer than one chunk"):
        kernel.rows(np.zeros((2, 1025), np.uint8), keys, 0, out)
    with pytest.raises(ValueError, match="offsets must rise"):
        bb.hash_ragged(data, np.array([0, 50, 40]))
    with pytest.raises(ValueError, match="offsets must rise"):
        bb.hash_ragged(data, np.array([0, 101]))


def run_python(tmp_path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` as a script file of its own (a spawned pool finds its functions there)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": ROOT, **env})


def test_no_byte_is_read_past_the_data(tmp_path):
    """Messages that end at the last byte before an unmapped page: any read past the data would
    crash the process (run apart, so a crash fails this test rather than the suite)."""
    variant("host")
    result = run_python(tmp_path, """
        import ctypes, mmap
        import numpy as np
        from blake3 import blake3
        from pipeline.tree import blake3_batch as bb
        page = mmap.PAGESIZE
        size = -(-17 * 1024 // page) * page  # room for the largest case
        area = mmap.mmap(-1, size + page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(area))
        libc = ctypes.CDLL(None, use_errno=True)
        everything = np.frombuffer(area, np.uint8, count=size)
        everything[:] = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8)
        assert libc.mprotect(ctypes.c_void_p(base + size), page, 0) == 0  # PROT_NONE
        for length in (0, 1, 17, 63, 64, 65, 100, 705, 1024):
            for n in (1, 5, 16, 17):
                data = everything[size - n * length:]  # the data ends at the guard page
                rows = data.reshape(n, length) if length else np.zeros((n, 0), np.uint8)
                got = bb.hash_rows(rows, key=bytes(32))
                want = [blake3(r.tobytes(), key=bytes(32)).digest() for r in rows]
                assert [g.tobytes() for g in got] == want, (length, n)
                got = bb.hash_ragged(data, np.arange(n + 1) * length)
                assert [g.tobytes() for g in got] == [blake3(r.tobytes()).digest() for r in rows]
        print("clean", bb.kernel_in_use()[0])
    """, POR_BLAKE3_KERNEL="ir")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["clean", "ir"]


def test_a_spawned_process_compiles_once(tmp_path):
    variant("host")
    result = run_python(tmp_path, """
        import multiprocessing as mp

        def work(_):
            import numpy as np
            from pipeline.tree import blake3_batch as bb, blake3_ir as ir
            for _ in range(3):
                bb.hash_rows(np.zeros((40, 128), np.uint8), key=bytes(32))
                bb.hash_ragged(np.zeros(50, np.uint8), np.array([0, 20, 50]))
            return len(ir.compiles), bb.kernel_in_use()[0]

        if __name__ == "__main__":
            with mp.get_context("spawn").Pool(2) as pool:
                print(pool.map(work, range(4), chunksize=1))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    per_task = eval(result.stdout)  # [(compiles in that worker so far, kernel), ...]
    assert all(count == 1 and kernel == "ir" for count, kernel in per_task), per_task


def test_dask_workers_compile_once_each(client2):
    variant("host")

    def task(seed: int) -> bytes:
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, 256, (50, 705), dtype=np.uint8)
        return bb.hash_rows(rows, key=bytes(32)).tobytes()

    workers = sorted(client2.scheduler_info()["workers"])
    futures = [client2.submit(task, seed, workers=[workers[seed % len(workers)]], allow_other_workers=False, pure=False)
               for seed in range(8)]
    results = client2.gather(futures)
    for seed, got in enumerate(results):
        rows = np.random.default_rng(seed).integers(0, 256, (50, 705), dtype=np.uint8)
        assert got == b"".join(blake3(r.tobytes(), key=bytes(32)).digest() for r in rows)
    per_worker = client2.run(lambda: (len(ir.compiles), bb.kernel_in_use()[0]))
    assert all(v == (1, "ir") for v in per_worker.values()), per_worker
