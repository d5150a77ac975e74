"""Types and lint, checked in CI the way tests/test_architecture.py checks the import contracts:
mypy with the configuration in pyproject.toml (strict on the pure core: protocol, tree, formats,
ownership; every function typed everywhere else) and ruff's rules there. A regression fails the suite."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def test_mypy_finds_no_error():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_ruff_finds_nothing():
    result = run("ruff", "check", "pipeline", "jobs", "tests", "schemas")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checks_catch_a_planted_fault(tmp_path):
    """The checks run on what they say they run on: an untyped function and an unused import in a
    copy of one core module are found."""
    planted = tmp_path / "planted.py"
    planted.write_text("import os\n\n\ndef f(x):\n    return x\n")
    mypy = run("mypy", "--strict", str(planted))
    assert mypy.returncode != 0 and "Function is missing a type annotation" in mypy.stdout
    ruff = run("ruff", "check", "--no-cache", str(planted))
    assert ruff.returncode != 0 and "F401" in ruff.stdout
