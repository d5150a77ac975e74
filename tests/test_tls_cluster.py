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
from pipeline.testing.synth import write_synth
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


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "scheduler.internal:8786", "tcp://por-scheduler:8786",
                                     "tcp://localhost.evil.example:8786", "tcp://127.0.0.1.nip.io:8786",
                                     "tcp://127.evil.example:8786", "tcp://[::1].evil.example:8786",
                                     "tcp://::1.evil:8786", "localhostx:8786"])
def test_plain_tcp_off_the_loopback_is_refused_before_connecting(tmp_path, address):
    result = CliRunner().invoke(app, ["audit", str(tmp_path), "--scheduler", address])
    assert result.exit_code == 2 and "unencrypted" in result.stderr and "tls://" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://127.4.5.6:8786", "tcp://localhost:8786",
                                     "tcp://LOCALHOST.:8786", "tcp://[::1]:8786", "127.0.0.1:8786"])
def test_plain_tcp_on_the_loopback_is_accepted(address):
    from pipeline.cluster import check_transport

    check_transport(address)  # no exception: these are the loopback interface exactly


class Recorder:
    """A TCP forwarder on 127.0.0.1 that keeps every byte the client sends to the scheduler."""

    def __init__(self, target_port: int) -> None:
        import socket
        import threading

        self.target_port = target_port
        self.sent = bytearray()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src, dst, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def test_the_period_keys_never_cross_the_network_in_the_clear(tmp_path):
    """Finding 7, reproduced through a recording proxy: over plain TCP the client sends the period's
    nonce key to the scheduler as raw bytes (the recorder sees them); over TLS it never does."""
    from pipeline.protocol import v3
    from pipeline.protocol.keys import SecretKey
    from tests.support.snapshots import SECRET_HEX

    certs = make_certificates(str(tmp_path))
    write_synth(str(tmp_path / "snap"), 1500, asset_count=2, files=1, seed=9)
    secret = write_secret(str(tmp_path))
    k_nonce, k_pad = v3.period_keys(SecretKey(bytes.fromhex(SECRET_HEX)), "2026-11")  # the default protocol's
    seen = {}
    for tls in (None, certs):
        with dask_processes(2, tls=tls) as (address, _):
            recorder = Recorder(int(address.rsplit(":", 1)[1]))
            via = f"{address.split('://')[0]}://127.0.0.1:{recorder.port}"
            extra = ["--tls-ca-file", certs["ca"], "--tls-cert", certs["cert"], "--tls-key", certs["key"]] if tls else []
            out = tmp_path / ("tls" if tls else "tcp")
            build = subprocess.run([POR, "build", str(tmp_path / "snap"), "--period", "2026-11", "--secret-file", secret,
                                    "--out", str(out), "--scheduler", via, *extra],
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
            recorder.close()
            assert build.returncode == 0, build.stderr
            sent = bytes(recorder.sent)
            assert len(sent) > 1000
            seen["tls" if tls else "tcp"] = (k_nonce.reveal() in sent, k_pad.reveal() in sent)
    assert seen["tcp"][0], "the recorder must see the key in plain TCP, or this test proves nothing"
    assert seen["tls"] == (False, False)
