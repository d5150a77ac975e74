"""The verifier runs with only the standard library and blake3: heavy packages are blocked outright."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "schemas", "vectors", "por-v1")

BLOCKER = """
import sys
BLOCKED = {"numpy", "pyarrow", "pandas", "dask", "distributed", "fsspec", "typer", "click", "rfc8785"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked in this test: " + name)
        return None
sys.meta_path.insert(0, Block())
from pipeline.verify import main
sys.exit(main(sys.argv[1:]))
"""


def run(*args):
    return subprocess.run([sys.executable, "-c", BLOCKER, *args], capture_output=True, text=True, cwd=ROOT)


def test_standalone_verifier_accepts_valid_and_rejects_tampered(tmp_path):
    import json

    manifest = os.path.join(VECTORS, "manifest.json")
    proofs = json.load(open(os.path.join(VECTORS, "proofs.json")))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(proofs[0]))
    ok = run(str(good), "--manifest", manifest)
    assert ok.returncode == 0, ok.stderr
    assert "VALID" in ok.stdout and proofs[0]["user_id"] in ok.stdout
    proofs[0]["path"][0]["sums"][0] = "01"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(proofs[0]))
    failed = run(str(bad), "--manifest", manifest)
    assert failed.returncode == 1 and "number at level 0" in failed.stderr
    missing = run(str(tmp_path / "nope.json"), "--manifest", manifest)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
