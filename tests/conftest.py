from __future__ import annotations

import logging

import pytest

from tests.support.install import announce, use_terminal


def pytest_configure(config: pytest.Config) -> None:
    use_terminal(config)  # installs are announced on the real terminal, past pytest's capture
    from pipeline import webmodule

    webmodule.set_announcer(announce)  # the page module's npm ci too ([test set-up] installing …)


@pytest.fixture(scope="session")
def cluster2():
    """A real LocalCluster: 2 worker processes, one thread each."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cluster1():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def client2(cluster2):
    from distributed import Client

    with Client(cluster2, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="session")
def client1(cluster1):
    from distributed import Client

    with Client(cluster1, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="session")
def scheduler2(cluster2) -> str:
    """The address of the 2-worker cluster, for ``--scheduler`` in CLI tests."""
    return cluster2.scheduler_address
