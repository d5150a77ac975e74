"""The verifier runs with only the standard library and blake3: heavy packages are blocked outright."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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


MAX_LIGHT_DISTRIBUTIONS = 15
EXCHANGE_STACK = ("dask", "distributed", "pandas", "pyarrow", "numpy", "fsspec", "matplotlib", "pyyaml", "bokeh")


def _requirements(metadata_text: str) -> list[str]:
    """Requirement names of a wheel's METADATA that a plain install (no extra) pulls in."""
    from email.parser import Parser

    from packaging.requirements import Requirement

    names = []
    for line in Parser().parsestr(metadata_text).get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return names


def _closure(names: list[str]) -> dict[str, object]:
    """Every distribution of this environment that installing ``names`` brings, recursively."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    found: dict[str, object] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        dist = md.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


@pytest.mark.e2e
def test_plain_install_verifies_with_few_distributions(tmp_path):
    """``pip install por-pipeline`` (no extra) into a bare environment: ``por verify`` and
    ``python -m pipeline.verify`` work on a golden vector, with at most 15 distributions and none of
    the exchange's build stack. Offline: the project's wheel is built here, and each dependency's
    installed files (with their dist-info) are copied from this environment, as pip would lay them out."""
    import shutil
    import venv
    import zipfile

    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(wheels), ROOT], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    [wheel] = list(wheels.glob("por_pipeline-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        [meta] = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        requirements = _requirements(z.read(meta).decode())
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    for dist in _closure(requirements).values():
        for f in dist.files or []:  # type: ignore[attr-defined]
            if str(f).startswith("..") or "__pycache__" in str(f):
                continue
            source = f.locate()
            target = os.path.join(site, str(f))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
    install = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    check = subprocess.run([str(py), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # every dependency of what is installed is installed
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    names = {line.split("==")[0].lower() for line in listed.split()} - {"pip", "setuptools"}
    assert "por-pipeline" in names and len(names) <= MAX_LIGHT_DISTRIBUTIONS, sorted(names)
    assert not names & set(EXCHANGE_STACK), sorted(names & set(EXCHANGE_STACK))

    import json

    manifest = os.path.join(VECTORS, "manifest.json")
    proof = json.load(open(os.path.join(VECTORS, "proofs.json")))[0]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    por = env_dir / "bin" / "por"
    for cmd in ([str(por), "verify"], [str(py), "-m", "pipeline.verify"]):
        ok = subprocess.run([*cmd, str(path), "--manifest", manifest], capture_output=True, text=True, cwd=tmp_path)
        assert ok.returncode == 0 and "VALID" in ok.stdout, ok.stderr
    signed = subprocess.run([str(por), "verify", str(path), "--manifest", manifest, "--public-key",
                             str(tmp_path / "absent.pub")], capture_output=True, text=True, cwd=tmp_path)
    assert signed.returncode == 1 and "public key" in signed.stderr and "absent.pub" in signed.stderr
    proof["balances"][0] = str(int(proof["balances"][0]) + 1)
    path.write_text(json.dumps(proof))
    for cmd in ([str(por), "verify"], [str(py), "-m", "pipeline.verify"]):
        bad = subprocess.run([*cmd, str(path), "--manifest", manifest], capture_output=True, text=True, cwd=tmp_path)
        assert bad.returncode == 1 and "root-hash" in bad.stderr, bad.stderr
    needs_extra = subprocess.run([str(por), "audit", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert needs_extra.returncode == 2 and "por-pipeline[exchange]" in needs_extra.stderr, needs_extra.stderr
