from __future__ import annotations

import logging

import pytest

from tests.support.install import announce, use_terminal


def pytest_configure(config: pytest.Config) -> None:
    use_terminal(config)  # installs are announced on the real terminal, past pytest's capture
    from pipeline import webmodule

    webmodule.set_announcer(announce)  # the page module's npm ci too ([test set-up] installing …)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The page module is set up (and announced) before any test runs: set up from inside a test that
    invokes a command through typer's CliRunner, the announcement's suspension of pytest's capture
    replaced the runner's streams (a fresh checkout's first build failed 'I/O operation on closed file')."""
    from pipeline import webmodule
    from tests.support.install import in_ci

    try:
        webmodule.ensure_browser_module()
    except Exception:  # noqa: BLE001 - outside CI, the tests that need the module say why they skip
        if in_ci():
            raise


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
