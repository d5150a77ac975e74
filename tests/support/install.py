"""What the tests need beyond Python is installed by the tests' own files, visibly.

``announce`` writes past pytest's capture (to the real stderr) so that a run says what it installs
and from where. ``required`` turns a part that cannot be installed into a skip with the reason
outside CI, and into a failure with ``CI=true``: CI never passes by skipping.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, TypeVar

import pytest

T = TypeVar("T")


def announce(message: str) -> None:
    stream = sys.__stderr__ or sys.stderr
    stream.write(f"\n[test set-up] {message}\n")
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
