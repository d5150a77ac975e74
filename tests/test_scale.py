"""Scale-out on real parts: dask scheduler/worker processes over TCP, a killed worker, resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
from distributed import Client

from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol import SecretKey
from pipeline.testing.synth import write_synth
from tests.support.cluster_procs import dask_processes
from tests.support.snapshots import SECRET_HEX, write_secret

POR = os.path.join(os.path.dirname(sys.executable), "por")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.e2e
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
    """A worker is SIGKILLed at a fixed point of the build: when the bucket stage's tasks (which read
    the shuffle files every read task wrote) have been submitted and before any of its results is
    gathered (the build's own stage hook, no polling)."""
    with dask_processes(3) as (address, workers), Client(address, set_as_default=False) as client:
        stages: list[str] = []

        def kill_one_worker_at_the_buckets(stage: str, futures: list) -> None:
            stages.append(stage)
            if stage == "buckets":
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()

        out = tmp_path / "bundle"
        build_bundle(client, plan_snapshot(str(snap / "snap")), PERIOD, SecretKey(bytes.fromhex(SECRET_HEX)),
                     str(out), bucket_bits=5, watch=kill_one_worker_at_the_buckets)
        assert stages == ["read", "padding", "users", "buckets"]  # por-v3 (wide): the users tasks run beside the trees
        assert [p.poll() is not None for p in workers] == [True, False, False]
    assert (out / "manifest.json").read_bytes() == local_manifest


CLIENT_KILLED_AFTER_THE_BUCKETS = """
import os, signal, sys
from distributed import Client
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol import SecretKey


snapshot, out, address, secret = sys.argv[1:]

def die_when_every_bucket_is_written(stage, futures):
    if stage == "buckets":
        client.gather(futures)
        os.kill(os.getpid(), signal.SIGKILL)

with Client(address, set_as_default=False) as client:
    build_bundle(client, plan_snapshot(snapshot), "2026-11", SecretKey(bytes.fromhex(secret)), out,
                 bucket_bits=5, watch=die_when_every_bucket_is_written)
"""


def test_resume_after_the_client_is_killed(snap, local_manifest, tmp_path):
    """The client is SIGKILLed at a fixed point (every bucket written, before the merge); a --resume
    build reuses every verified bucket and recomputes the one tampered with, byte for byte."""
    secret = write_secret(str(tmp_path))
    out = tmp_path / "bundle"
    args = [POR, "build", str(snap / "snap"), "--period", PERIOD, "--secret-file", secret, "--out", str(out),
            "--bucket-bits", "5"]
    with dask_processes(2) as (address, _):
        killed = subprocess.run([sys.executable, "-c", CLIENT_KILLED_AFTER_THE_BUCKETS, str(snap / "snap"), str(out),
                                 address, SECRET_HEX], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                cwd=ROOT)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert not (out / "manifest.json").exists()
        staging = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
        assert len(staging) == 1
        done = sorted((staging[0] / "private" / "trees").glob("*/*.mac"))
        index = json.loads((snap / "local-bundle" / "private" / "index.json").read_text())
        buckets = sum(len(t["buckets"]) for t in index["trees"])
        assert len(done) == buckets  # every tree's buckets finished and authenticated
        # tamper with one finished bucket: it must be recomputed, never trusted
        tampered = done[0].with_suffix("")
        raw = bytearray(tampered.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        tampered.write_bytes(bytes(raw))
        proc = subprocess.run([*args, "--scheduler", address, "--resume"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
    assert f"{buckets} non-empty buckets, {buckets - 1} reused from the interrupted run" in proc.stdout
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
