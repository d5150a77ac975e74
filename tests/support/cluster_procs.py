"""Real Dask processes for tests: ``dask scheduler`` and ``dask worker`` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from typing import Iterator

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dask_processes(workers: int, env: dict[str, str] | None = None,
                   tls: dict[str, str] | None = None) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and ``workers`` single-threaded worker processes (no nanny: a kill is final);
    with ``tls`` (paths ``ca``, ``cert``, ``key``) they speak only TLS, with mutual authentication."""
    port = free_port()
    scheme = "tls" if tls else "tcp"
    address = f"{scheme}://127.0.0.1:{port}"
    full_env = {**os.environ, **(env or {})}
    security = ["--tls-ca-file", tls["ca"], "--tls-cert", tls["cert"], "--tls-key", tls["key"]] if tls else []
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                               "--protocol", scheme, *security],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env)]
    worker_procs = [
        subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                          "--host", "127.0.0.1", "--name", f"w{i}", *security],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env)
        for i in range(workers)
    ]
    procs += worker_procs
    try:
        from distributed import Client

        # the client retries its connection until the scheduler listens (or the timeout passes)
        extra = {}
        if tls:
            from distributed.security import Security

            extra["security"] = Security(tls_ca_file=tls["ca"], tls_client_cert=tls["cert"],
                                         tls_client_key=tls["key"], require_encryption=True)
        with Client(address, timeout=60, set_as_default=False, **extra) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, worker_procs
    finally:
        # workers first: a worker whose scheduler is gone waits to reconnect before it exits
        for group in (worker_procs, procs[:1]):
            for p in group:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in group:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
