"""Keys protected in transit (security finding 7): a real TLS scheduler and two workers on 127.0.0.1
with certificates made in the test; the build runs over TLS, a plain-TCP client and a client
without the cluster's certificate are refused, and plain tcp:// off the loopback is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.synth import write_synth
from tests.support.cluster_procs import dask_processes
from tests.support.snapshots import write_secret
from tests.support.tls import make_certificates

pytestmark = pytest.mark.e2e
POR = os.path.join(os.path.dirname(sys.executable), "por")


def test_build_over_tls_matches_a_local_build_and_plain_clients_are_refused(tmp_path, scheduler2):
    certs = make_certificates(str(tmp_path))
    write_synth(str(tmp_path / "snap"), 4000, asset_count=3, files=2, seed=8)
    secret = write_secret(str(tmp_path))
    local = CliRunner().invoke(app, ["build", str(tmp_path / "snap"), "--period", "2026-11", "--secret-file", secret,
                                     "--out", str(tmp_path / "local"), "--scheduler", scheduler2, "--bucket-bits", "2"])
    assert local.exit_code == 0, local.output
    with dask_processes(2, tls=certs) as (address, _):
        assert address.startswith("tls://127.0.0.1:")
        over_tls = subprocess.run(
            [POR, "build", str(tmp_path / "snap"), "--period", "2026-11", "--secret-file", secret,
             "--out", str(tmp_path / "tls"), "--scheduler", address, "--bucket-bits", "2",
             "--tls-ca-file", certs["ca"], "--tls-cert", certs["cert"], "--tls-key", certs["key"]],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
        assert over_tls.returncode == 0, over_tls.stderr
        assert (tmp_path / "tls" / "manifest.json").read_bytes() == (tmp_path / "local" / "manifest.json").read_bytes()
        plain = address.replace("tls://", "tcp://")
        refused = subprocess.run(
            [POR, "audit", str(tmp_path / "tls"), "--scheduler", plain],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
            env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s"})
        assert refused.returncode != 0 and "audit OK" not in refused.stdout
        stranger = subprocess.run(
            [POR, "audit", str(tmp_path / "tls"), "--scheduler", address, "--tls-ca-file", certs["ca"],
             "--tls-cert", certs["other_cert"], "--tls-key", certs["other_key"]],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
            env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s"})
        assert stranger.returncode != 0 and "audit OK" not in stranger.stdout


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "scheduler.internal:8786", "tcp://por-scheduler:8786"])
def test_plain_tcp_off_the_loopback_is_refused_before_connecting(tmp_path, address):
    result = CliRunner().invoke(app, ["audit", str(tmp_path), "--scheduler", address])
    assert result.exit_code == 2 and "unencrypted" in result.stderr and "tls://" in result.stderr
    assert len(result.stderr.splitlines()) == 1
