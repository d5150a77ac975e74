"""The verifier runs with only the standard library and blake3: heavy packages are blocked outright."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "schemas", "vectors", "por-v1", "basic")

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


def test_verifier_installed_without_dask_pandas_or_pyarrow(tmp_path):
    """A fresh virtual environment holding only the project (no dependencies) and blake3."""
    import shutil
    import venv

    import blake3

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # blake3 is a compiled package: copy it from this environment (no network in tests)
    shutil.copytree(os.path.dirname(blake3.__file__), os.path.join(site, "blake3"))
    # the project's wheel, built offline with this environment's setuptools, installed without dependencies
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(wheels), ROOT], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    [wheel] = list(wheels.glob("por_pipeline-*.whl"))
    install = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    for heavy in ("dask", "pandas", "pyarrow", "numpy", "typer"):
        assert f"{heavy}==" not in listed.lower()
    import json

    manifest = os.path.join(VECTORS, "manifest.json")
    proof = json.load(open(os.path.join(VECTORS, "proofs.json")))[0]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    ok = subprocess.run([str(py), "-m", "pipeline.verify", str(path), "--manifest", manifest],
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and "VALID" in ok.stdout, ok.stderr
    proof["balances"][0] = str(int(proof["balances"][0]) + 1)
    path.write_text(json.dumps(proof))
    bad = subprocess.run([str(py), "-m", "pipeline.verify", str(path), "--manifest", manifest],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "root-hash" in bad.stderr
