"""The layers hold: import-linter's contracts (pyproject.toml) pass on the tree, and fail on a copy of
the tree with a wrong import, so the check is known to bite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint(root: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.run([LINT, "--no-cache"], capture_output=True, text=True, cwd=root, env=env, timeout=300)


def test_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "BROKEN" not in result.stdout


@pytest.fixture
def scratch(tmp_path):
    """A copy of the packages and the contracts, to break on purpose."""
    for name in ("pipeline", "jobs"):
        shutil.copytree(os.path.join(ROOT, name), tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    return tmp_path


def add_line(path, line: str) -> None:
    text = path.read_text()
    head, sep, rest = text.partition("from __future__ import annotations\n")
    path.write_text(head + sep + line + "\n" + rest if sep else line + "\n" + text)


@pytest.mark.parametrize("module, line, contract", [
    ("pipeline/protocol/v1.py", "from ..liabilities import build", "Layers"),
    ("pipeline/formats/canonical.py", "import pipeline.cli", "Layers"),
    ("pipeline/protocol/shape.py", "import numpy", "The protocol layer is standard library + blake3 only"),
    ("pipeline/tree/fold.py", "import pyarrow", "The tree layer does no I/O"),
    ("pipeline/liabilities/snapshot.py", "from . import read", "No import cycles"),
])
def test_a_wrong_import_breaks_a_contract(scratch, module, line, contract):
    add_line(scratch / module, line)
    result = lint(str(scratch))
    assert result.returncode != 0, result.stdout
    broken = [ln for ln in result.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(ln.startswith(contract) for ln in broken), result.stdout


def test_library_never_imports_the_cli_or_the_jobs():
    """Said by the layers contract too; here as a plain search, so the message names the file."""
    offenders = []
    for base, _, files in os.walk(os.path.join(ROOT, "pipeline")):
        if os.path.basename(base) == "cli":
            continue
        for name in files:
            if name.endswith(".py") and name != "verify.py":
                text = open(os.path.join(base, name), encoding="utf-8").read()
                if "from jobs" in text or "import jobs" in text or "pipeline.cli" in text:
                    offenders.append(os.path.join(base, name))
    assert offenders == []
