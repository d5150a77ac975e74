"""Choosing the Dask cluster.

In order of precedence: ``--scheduler ADDRESS`` (or ``DASK_SCHEDULER_ADDRESS``)
connects to a running scheduler; ``--cluster module:Class`` with
``--cluster-option key=value`` creates any Dask cluster class (KubeCluster,
dask-cloudprovider's classes, …); otherwise a LocalCluster of worker processes
with one thread each (``por.local-cluster`` in the Dask config).
"""

from __future__ import annotations

import contextlib
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


def load_cluster_class(spec: str) -> Callable[..., Any]:
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise InputError(f"--cluster {spec!r}: expected module:Class, e.g. dask_kubernetes.operator:KubeCluster")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"--cluster {spec!r}: cannot import {module_name} ({exc}); install the matching extra") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise InputError(f"--cluster {spec!r}: {module_name} has no {class_name}")
    return cls  # type: ignore[no-any-return]


@contextlib.contextmanager
def dask_client(
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_options: Mapping[str, Any] | None = None,
    announce: Callable[[str], None] | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client`` on the chosen cluster; ``announce`` receives the dashboard address."""
    from distributed import Client, LocalCluster

    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler, set_as_default=False))
        elif cluster:
            made = stack.enter_context(load_cluster_class(cluster)(**dict(cluster_options or {})))
            client = stack.enter_context(Client(made, set_as_default=False))
        else:
            local = stack.enter_context(
                LocalCluster(
                    n_workers=workers or default_workers(),
                    threads_per_worker=int(config.get("local-cluster.threads-per-worker")),
                    memory_limit=config.get("local-cluster.memory-limit"),
                    processes=True,
                    dashboard_address="127.0.0.1:0",
                    host="127.0.0.1",
                    silence_logs=logging.CRITICAL,
                )
            )
            client = stack.enter_context(Client(local, set_as_default=False))
        if announce is not None:
            link = getattr(client, "dashboard_link", None)
            if link:
                announce(f"Dask dashboard: {link}")
        yield client


def client_mapper(client: Any) -> Callable[[Callable[..., Any], Sequence[Any]], list[Any]]:
    """``mapper(fn, items)`` running ``fn`` over ``items`` on the cluster, results in order."""
    return lambda fn, items: client.gather(client.map(fn, items, pure=False))
