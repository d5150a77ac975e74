"""Retries on transient storage errors, Dask config defaults, cluster options, reports."""

from __future__ import annotations

import os
import subprocess

import dask.config
import pytest
from typer.testing import CliRunner

from pipeline import config
from pipeline.cli import app
from pipeline.cluster import load_cluster_class, parse_options
from pipeline.errors import InputError
from pipeline.storage import fs as storage
from tests.support.snapshots import write_secret

pytestmark = pytest.mark.integration

POR = os.path.join(os.path.dirname(os.sys.executable), "por")


def flaky(failures: list[BaseException]):
    calls = []

    def fn():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return fn, calls


@pytest.fixture(autouse=True)
def loaded_config():
    config.get("storage.attempts")


def test_transient_errors_are_retried(monkeypatch):
    monkeypatch.setitem(dask.config.config["por"]["storage"], "backoff-max", 0.01)
    fn, calls = flaky([ConnectionResetError("reset"), TimeoutError("slow")])
    assert storage.retrying(fn) == "ok" and len(calls) == 3


def test_permanent_errors_fail_at_once():
    fn, calls = flaky([PermissionError("denied")])
    with pytest.raises(PermissionError):
        storage.retrying(fn)
    assert len(calls) == 1


def test_retries_give_up_after_the_configured_attempts(monkeypatch):
    monkeypatch.setitem(dask.config.config["por"]["storage"], "backoff-max", 0.01)
    fn, calls = flaky([ConnectionError("down")] * 10)
    with pytest.raises(ConnectionError):
        storage.retrying(fn)
    assert len(calls) == config.get("storage.attempts")


def test_config_defaults_and_environment_override():
    assert config.get("local-cluster.threads-per-worker") == 1
    code = "from pipeline import config; print(config.get('fragment-rows'), config.get('local-cluster.workers'))"
    env = {**os.environ, "DASK_POR__FRAGMENT_ROWS": "1000", "DASK_POR__LOCAL_CLUSTER__WORKERS": "3"}
    out = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["1000", "3"]


def test_cluster_option_parsing_and_class_loading():
    assert parse_options(["n_workers=2", "processes=true", "name=x"], "--cluster-option") == {
        "n_workers": 2, "processes": True, "name": "x"}
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        parse_options(["novalue"], "--cluster-option")
    assert load_cluster_class("distributed:LocalCluster").__name__ == "LocalCluster"
    with pytest.raises(InputError, match="cannot import"):
        load_cluster_class("no_such_module_xyz:Cluster")
    with pytest.raises(InputError, match="module:Class"):
        load_cluster_class("distributed.LocalCluster")


def test_cluster_class_dashboard_and_performance_report(tmp_path):
    """`--cluster module:Class` builds through any cluster class; the dashboard is announced on stderr."""
    snap = tmp_path / "snap"
    CliRunner().invoke(app, ["synth", str(snap), "--users", "2000"])
    secret = write_secret(str(tmp_path))
    report = tmp_path / "report.html"
    proc = subprocess.run(
        [POR, "build", str(snap), "--period", "2026-11", "--secret-file", secret, "--out", str(tmp_path / "b"),
         "--cluster", "distributed:LocalCluster", "--cluster-option", "n_workers=1",
         "--cluster-option", "threads_per_worker=1", "--cluster-option", "dashboard_address=127.0.0.1:0",
         "--performance-report", str(report)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "Dask dashboard: http://127.0.0.1:" in proc.stderr
    assert "Dask Performance Report" in report.read_text()
    assert "\u2588" not in proc.stdout and "[" not in proc.stdout.split("root")[0]  # no progress bar off a terminal


def test_only_one_way_to_choose_a_cluster(tmp_path):
    result = CliRunner().invoke(app, ["audit", str(tmp_path), "--workers", "1", "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "only one of" in result.output
    result = CliRunner().invoke(app, ["audit", str(tmp_path), "--cluster-option", "a=1"])
    assert result.exit_code == 2


def _worker_environ() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}


def test_local_workers_start_with_the_allocator_settings():
    """Each local worker process gets ``WORKER_ENVIRON`` on top of Dask's own settings, and the
    deploy files give their workers the same value."""
    from pipeline.cluster import WORKER_ENVIRON, dask_client

    with dask_client(2) as client:
        envs = list(client.run(_worker_environ).values())
    assert len(envs) == 2
    env = envs[0]
    assert env["MALLOC_MMAP_THRESHOLD_"] == WORKER_ENVIRON["MALLOC_MMAP_THRESHOLD_"]
    assert env["MALLOC_TRIM_THRESHOLD_"] is not None  # Dask's own setting is kept
    root = os.path.join(os.path.dirname(__file__), "..", "deploy")
    for name in ("docker-compose.yml", "kubernetes/daskcluster.yaml"):
        with open(os.path.join(root, name)) as f:
            assert WORKER_ENVIRON["MALLOC_MMAP_THRESHOLD_"] in f.read().split("MALLOC_MMAP_THRESHOLD_", 1)[1][:80]


def _where() -> tuple[int, str]:
    import threading

    return os.getpid(), threading.current_thread().name


def _worker_http(client) -> list[list[str]]:
    """The interfaces each worker's HTTP server listens on."""
    return list(client.run(lambda dask_worker: sorted({s.getsockname()[0] for s in
                                                       dask_worker.http_server._sockets.values()})).values())


def _status_page(http) -> int:
    import urllib.error
    import urllib.request

    port = next(iter(http._sockets.values())).getsockname()[1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_one_local_worker_runs_in_this_process_and_more_in_their_own():
    """`--workers 1` runs the same Dask graph on a worker inside the command's process (no second
    process to start, no second import of the kernels) and starts no dashboard; `--workers 2`
    starts two worker processes; `por.local-cluster.in-process-single: false` brings the worker
    process back for one worker."""
    from pipeline.cluster import client_mapper, dask_client

    with dask_client(1) as client:
        assert client.scheduler.address.startswith("inproc://")
        [http] = client.cluster.scheduler.services.values()  # health and metrics only, on loopback
        assert {sock.getsockname()[0] for sock in http._sockets.values()} == {"127.0.0.1"}
        assert _status_page(http) == 404  # no dashboard
        assert _worker_http(client) == [["127.0.0.1"]]  # the worker's own HTTP server: loopback too
        [(pid, thread)] = client_mapper(client)(lambda _: _where(), [0])
        assert pid == os.getpid() and thread != "MainThread"
    with dask_client(2) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        pids = {p for p, _ in client.run(_where).values()}
        assert len(pids) == 2 and os.getpid() not in pids
        [http] = client.cluster.scheduler.services.values()
        assert {sock.getsockname()[0] for sock in http._sockets.values()} == {"127.0.0.1"}
        assert _status_page(http) == 200  # the dashboard, for worker processes
        assert _worker_http(client) == [["127.0.0.1"], ["127.0.0.1"]]
    with dask.config.set({"por.local-cluster.in-process-single": False}), dask_client(1) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        [(pid, _)] = client.run(_where).values()
        assert pid != os.getpid()
