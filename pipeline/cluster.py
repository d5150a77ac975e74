"""Choosing the Dask cluster.

In order of precedence: ``--scheduler ADDRESS`` (or ``DASK_SCHEDULER_ADDRESS``)
connects to a running scheduler; ``--cluster module:Class`` with
``--cluster-option key=value`` creates any Dask cluster class (KubeCluster,
dask-cloudprovider's classes, …); otherwise a LocalCluster of worker processes
with one thread each (``por.local-cluster`` in the Dask config), or, for one worker, a worker in the
command's own process (``local_cluster``).

What crosses the network: the tasks of a build carry the period's keys (the nonce key, the padding
key and the resume MAC key; never the master secret), and workers see every user id and balance.
A scheduler reached over the network must therefore speak TLS (``tls://``, certificates from
``--tls-*`` files or Dask's ``distributed.comm.tls`` configuration); plain ``tcp://`` is accepted on
the loopback interface only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import importlib
import logging
import os
from typing import Any, Callable, Iterator, Mapping, Sequence

import yaml

from . import config
from .errors import InputError


def default_workers() -> int:
    configured = config.get("local-cluster.workers")
    return int(configured) if configured else max(1, os.cpu_count() or 1)


def parse_options(pairs: Sequence[str], flag: str) -> dict[str, Any]:
    """``key=value`` pairs; values are read as YAML scalars (``4`` is an int, ``true`` a bool)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"{flag} {pair!r}: expected KEY=VALUE")
        try:
            out[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            out[key] = value
    return out


LOOPBACK_NAMES = ("localhost", "localhost.")
"""Host names taken as the loopback interface; any other name (``localhost.evil.example``,
``127.0.0.1.nip.io``) is a name that DNS may point anywhere."""


def _host(rest: str) -> str:
    """The host of ``HOST[:PORT][/…]`` (``[v6]`` brackets removed)."""
    rest = rest.split("/", 1)[0]
    if rest.startswith("["):
        inside, close, after = rest[1:].partition("]")
        return inside if close and (not after or after.startswith(":")) else rest
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def is_loopback(host: str) -> bool:
    """Exactly the loopback interface: an IP address in 127.0.0.0/8 or ::1, or the name ``localhost``."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(address: str) -> None:
    """Refuse a plain-text scheduler address off the loopback interface: the period's keys would
    cross the network in the clear."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme == "tls" or scheme == "inproc":
        return
    host = _host(rest)
    if is_loopback(host):
        return
    raise InputError(f"{scheme}:// sends the period's keys and the users' data to {host} unencrypted; use "
                     "tls://HOST:PORT with the cluster's certificates (plain tcp:// is for 127.0.0.1 only)",
                     parameter="scheduler", value=address)


def make_security(ca_file: str | None, cert: str | None, key: str | None) -> Any:
    """Dask's TLS settings from certificate files (all three, or none: then Dask's configuration)."""
    given = [x for x in (ca_file, cert, key) if x]
    if not given:
        return None
    if len(given) != 3:
        raise InputError("TLS needs the CA file, the client certificate and its key together",
                         parameter="tls_ca_file")
    for path in (ca_file, cert, key):
        if not os.path.isfile(str(path)):
            raise InputError(f"TLS file {path}: not found")
    from distributed.security import Security

    return Security(tls_ca_file=ca_file, tls_client_cert=cert, tls_client_key=key, require_encryption=True)


def load_cluster_class(spec: str) -> Callable[..., Any]:
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise InputError("expected module:Class, e.g. dask_kubernetes.operator:KubeCluster", parameter="cluster",
                         value=repr(spec))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"cannot import {module_name} ({exc}); install the matching extra", parameter="cluster",
                         value=repr(spec)) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise InputError(f"{module_name} has no {class_name}", parameter="cluster", value=repr(spec))
    return cls


@contextlib.contextmanager
def dask_client(
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_options: Mapping[str, Any] | None = None,
    announce: Callable[[str], None] | None = None,
    security: Any = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` on the chosen cluster; ``announce`` receives the dashboard address;
    ``security`` (``make_security``) for a ``tls://`` scheduler."""
    from distributed import Client

    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    with contextlib.ExitStack() as stack:
        if scheduler:
            check_transport(scheduler)
            extra = {"security": security} if security is not None else {}
            client = stack.enter_context(Client(scheduler, set_as_default=False, **extra))
        elif cluster:
            made = stack.enter_context(load_cluster_class(cluster)(**dict(cluster_options or {})))
            client = stack.enter_context(Client(made, set_as_default=False))
        else:
            workers = workers or default_workers()
            client = stack.enter_context(Client(stack.enter_context(local_cluster(workers)), set_as_default=False))
            if not local_dashboard(workers):
                announce = None
        if announce is not None:
            link = getattr(client, "dashboard_link", None)
            if link:
                announce(f"Dask dashboard: {link}")
        yield client


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A LocalCluster of ``workers`` single-threaded worker processes on 127.0.0.1; one worker runs
    in this process (``por.local-cluster.in-process-single``, the default): the same Dask graph,
    scheduler and worker, without starting a second Python process that imports everything and
    loads the compiled kernels again (about 0.5 s a run). The dashboard (``por.local-cluster.dashboard``)
    is started for worker processes only: it costs about 0.45 s of start-up, and a one-worker run is
    the short, single-machine case."""
    import dask
    from distributed import LocalCluster

    common = {"n_workers": workers, "threads_per_worker": int(config.get("local-cluster.threads-per-worker")),
              "memory_limit": config.get("local-cluster.memory-limit"), "silence_logs": logging.CRITICAL,
              # Dask's scheduler always serves HTTP (health, metrics): on the loopback interface, on a
              # free port; without the dashboard it is that alone (no bokeh), never 0.0.0.0:8787
              "dashboard_address": "127.0.0.1:0", "scheduler_kwargs": {"dashboard": local_dashboard(workers)},
              # and each worker's own HTTP server (an in-process worker would take Dask's default, every interface)
              "worker_dashboard_address": "127.0.0.1:0"}
    if in_process_single(workers):
        with LocalCluster(processes=False, **common) as made:
            yield made
        return
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_ENVIRON}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), LocalCluster(
            processes=True, host="127.0.0.1", **common) as made:
        yield made


def in_process_single(workers: int) -> bool:
    """Whether a local cluster of ``workers`` runs its one worker in this process."""
    return workers == 1 and bool(config.get("local-cluster.in-process-single"))


def local_dashboard(workers: int) -> bool:
    """Whether a local cluster of ``workers`` serves Dask's dashboard (worker processes only)."""
    return not in_process_single(workers) and bool(config.get("local-cluster.dashboard"))


WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": "33554432"}
"""Set in every local worker process before it starts (the deploy files set it for theirs).

Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_``, which turns off glibc's adaptive mmap threshold: every
array above 128 KiB is then a fresh ``mmap``, page-faulted in and zeroed each time. The build
allocates tens of MB per task step; with arrays up to 32 MiB reused from the heap, a 1M-user build
on 2 workers went from 2.6 to 1.9 s (warm workers, measured in one run), at the same peak memory."""


def client_mapper(client: Any) -> Callable[[Callable[..., Any], Sequence[Any]], list[Any]]:
    """``mapper(fn, items)`` running ``fn`` over ``items`` on the cluster, results in order. Each
    result is fetched as soon as its task is done (its transfer overlaps the tasks still running,
    rather than every result crossing at the end); a task's error is raised as it comes, and the
    tasks not yet done are cancelled."""
    from distributed import as_completed

    def mapper(fn: Callable[..., Any], items: Sequence[Any]) -> list[Any]:
        futures = client.map(fn, items, pure=False)
        if not futures:
            return []
        position = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        try:
            for future, result in as_completed(futures, with_results=True, loop=client.loop):
                out[position[future.key]] = result
        except BaseException:
            client.cancel(futures)
            raise
        return out

    return mapper
