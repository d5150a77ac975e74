"""Installs are announced on the real terminal: pytest captures file descriptor 2 itself, so a line
written to ``sys.__stderr__`` from a test never reaches the terminal. ``announce`` goes through the
run's terminal writer instead; this runs a small pytest session and reads what its terminal shows."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_an_install_announced_inside_a_test_reaches_the_terminal(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "from tests.support.install import use_terminal\n\n\ndef pytest_configure(config):\n    use_terminal(config)\n")
    (tmp_path / "test_one.py").write_text(
        "import sys\nfrom tests.support.install import announce\n\n\ndef test_install():\n"
        "    sys.__stderr__.write('raw stderr line\\n')\n    announce('installing a part (probe)')\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "[test set-up] installing a part (probe)" in shown
    assert "raw stderr line" not in shown  # what the old announce relied on: swallowed by the capture
