"""What the tests need beyond Python is installed by the tests' own files, visibly.

``announce`` writes past pytest's capture so that a run says what it installs and from where: pytest
captures file descriptor 2 itself (``sys.__stderr__`` included), so the line goes through pytest's
terminal writer with capturing suspended (``use_terminal``, called by ``tests/conftest.py``). ``required`` turns a part that cannot be installed into a skip with the reason
outside CI, and into a failure with ``CI=true``: CI never passes by skipping.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, TypeVar

import pytest

T = TypeVar("T")


_TERMINAL: list[pytest.Config] = []


def use_terminal(config: pytest.Config) -> None:
    """Announce through this pytest run's terminal (its capture suspended for the line)."""
    _TERMINAL[:] = [config]


def announce(message: str) -> None:
    line = f"[test set-up] {message}"
    if _TERMINAL:
        config = _TERMINAL[0]
        capture = config.pluginmanager.getplugin("capturemanager")
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if capture is not None and reporter is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
            return
    stream = sys.__stderr__ or sys.stderr  # outside pytest (a script): stderr is the terminal
    stream.write(f"\n{line}\n")
    stream.flush()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def required(what: str, install: Callable[[], T]) -> T:
    try:
        return install()
    except Exception as exc:  # noqa: BLE001 - any failure to install is reported, with its reason
        reason = f"{what} could not be installed: {type(exc).__name__}: {exc}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: a test that needs it fails instead of skipping)")
        pytest.skip(reason)
