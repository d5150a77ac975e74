"""Choosing the Dask cluster: a LocalCluster of single-threaded worker processes
by default, or an existing scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler`` when given, else to a new
    LocalCluster of ``workers`` processes with one thread each (BLAKE3 holds the GIL)."""
    from distributed import Client, LocalCluster

    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if scheduler:
        with Client(scheduler, set_as_default=False) as client:
            yield client
        return
    with LocalCluster(
        n_workers=workers or default_workers(),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    ) as cluster, Client(cluster, set_as_default=False) as client:
        yield client
