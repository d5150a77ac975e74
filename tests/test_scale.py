"""Scale-out on real parts: dask scheduler/worker processes over TCP, a killed worker, resume."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
from distributed import Client

from tests.support.cluster_procs import dask_processes
from pipeline.liabilities.build import build_bundle
from pipeline.protocol import SecretKey
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.synth import write_synth
from tests.support.snapshots import SECRET_HEX, write_secret

POR = os.path.join(os.path.dirname(os.sys.executable), "por")
PERIOD = "2026-11"


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale")
    write_synth(str(d / "snap"), 120_000, asset_count=6, files=6, seed=11)
    return d


@pytest.fixture(scope="module")
def local_manifest(snap, client2):
    out = snap / "local-bundle"
    build_bundle(client2, plan_snapshot(str(snap / "snap")), PERIOD, SecretKey(bytes.fromhex(SECRET_HEX)),
                 str(out), bucket_bits=5)
    return (out / "manifest.json").read_bytes()


def test_build_on_dask_scheduler_and_worker_processes(snap, local_manifest, tmp_path):
    secret = write_secret(str(tmp_path))
    with dask_processes(2) as (address, _):
        out = tmp_path / "bundle"
        proc = subprocess.run([POR, "build", str(snap / "snap"), "--period", PERIOD, "--secret-file", secret,
                               "--out", str(out), "--scheduler", address, "--bucket-bits", "5"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
        assert "Dask dashboard" not in proc.stdout  # announcements go to stderr, results to stdout
    assert (out / "manifest.json").read_bytes() == local_manifest


def test_killed_worker_mid_build_gives_the_same_root(snap, local_manifest, tmp_path):
    with dask_processes(3) as (address, workers), Client(address, set_as_default=False) as client:
        killed = threading.Event()

        def kill_one_busy_worker() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed.is_set():
                busy = {w: keys for w, keys in client.processing().items()
                        if any(k.startswith(("por-shuffle", "por-buckets")) for k in map(str, keys))}
                for worker_addr in busy:
                    name = client.scheduler_info()["workers"][worker_addr]["name"]
                    workers[int(str(name)[1:])].send_signal(signal.SIGKILL)
                    killed.set()
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_one_busy_worker)
        killer.start()
        out = tmp_path / "bundle"
        build_bundle(client, plan_snapshot(str(snap / "snap")), PERIOD, SecretKey(bytes.fromhex(SECRET_HEX)),
                     str(out), bucket_bits=5)
        killer.join()
        assert killed.is_set(), "no worker was killed: the build finished too fast to test"
        assert sum(p.poll() is not None for p in workers) == 1
    assert (out / "manifest.json").read_bytes() == local_manifest


def test_resume_after_the_client_is_killed(snap, local_manifest, tmp_path):
    secret = write_secret(str(tmp_path))
    out = tmp_path / "bundle"
    args = [POR, "build", str(snap / "snap"), "--period", PERIOD, "--secret-file", secret, "--out", str(out),
            "--bucket-bits", "5"]
    with dask_processes(2) as (address, _):
        client_proc = subprocess.Popen([*args, "--scheduler", address], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        macs: list[str] = []
        while time.monotonic() < deadline and client_proc.poll() is None:
            macs = [os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs if f.endswith(".mac")]
            if macs:
                client_proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        client_proc.wait()
        assert macs, "the build finished before any bucket was observed"
        assert not (out / "manifest.json").exists()
        staging = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
        assert len(staging) == 1
        time.sleep(1)  # let tasks of the dead client settle
        done = sorted((staging[0] / "private" / "buckets").glob("*.mac"))
        # tamper with one finished bucket: it must be recomputed, never trusted
        tampered = done[0].with_suffix("")
        raw = bytearray(tampered.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        tampered.write_bytes(bytes(raw))
        proc = subprocess.run([*args, "--scheduler", address, "--resume"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
    reused = int(proc.stdout.split(" reused")[0].rsplit(", ", 1)[1])
    buckets = int(proc.stdout.split(" non-empty buckets")[0].rsplit(" in ", 1)[1])
    assert 1 <= len(done) and 0 <= reused <= buckets - 1  # the tampered bucket is never reused
    assert (out / "manifest.json").read_bytes() == local_manifest
    name = tampered.relative_to(staging[0])
    assert (out / name).read_bytes() == (snap / "local-bundle" / name).read_bytes()
    assert not list(out.rglob("*.mac"))
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_without_resume_a_stale_partial_run_is_discarded(snap, local_manifest, tmp_path, scheduler2):
    """A partial directory of an interrupted run is rebuilt from scratch unless --resume is given."""
    secret = write_secret(str(tmp_path))
    out = tmp_path / "bundle"
    args = [POR, "build", str(snap / "snap"), "--period", PERIOD, "--secret-file", secret, "--out", str(out),
            "--bucket-bits", "5", "--scheduler", scheduler2]
    first = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert first.returncode == 0, first.stderr
    shutil.rmtree(out)
    again = subprocess.run([*args, "--resume"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and ", 0 reused" in again.stdout
    assert (out / "manifest.json").read_bytes() == local_manifest
