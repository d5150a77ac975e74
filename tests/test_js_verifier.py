"""The JavaScript verifier (pipeline/web/verify.mjs) under Node: BLAKE3 against the official
test-vector recipe, and the same verdict as the Python verifier on every golden vector."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.node import node, official_blake3_cases

pytestmark = pytest.mark.e2e

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "schemas", "vectors", "por-v1")
WEB = os.path.join(ROOT, "pipeline", "web")


def test_blake3_official_vectors(tmp_path):
    """verify.mjs's BLAKE3 (the pinned @noble/hashes) on the official recipe, in every mode."""
    path = tmp_path / "vectors.json"
    doc = official_blake3_cases()
    path.write_text(json.dumps(doc))
    proc = node(os.path.join(ROOT, "tests", "js", "blake3_vectors.mjs"), str(path))
    assert proc.returncode == 0, proc.stderr
    assert f"{3 * len(doc['cases'])} passed, 0 failed" in proc.stdout


def test_verify_module_takes_blake3_from_the_pinned_package_only():
    """No hand-rolled BLAKE3 left in the module: its one import is @noble/hashes, at the locked version."""
    with open(os.path.join(WEB, "verify.mjs"), encoding="utf-8") as f:
        source = f.read()
    imports = [line for line in source.splitlines() if line.startswith("import ")]
    assert imports == ['import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";']
    for word in ("MSG_PERMUTATION", "compress(", "0x6a09e667"):
        assert word not in source
    with open(os.path.join(WEB, "package-lock.json"), encoding="utf-8") as f:
        lock = json.load(f)["packages"]["node_modules/@noble/hashes"]
    with open(os.path.join(WEB, "node_modules", "@noble", "hashes", "package.json"), encoding="utf-8") as f:
        installed = json.load(f)["version"]
    assert installed == lock["version"] and lock["integrity"].startswith("sha512-")


@pytest.mark.parametrize("version", ["por-v1", "por-v2"])
def test_same_verdict_as_python_on_every_golden_vector(version):
    vectors = os.path.join(ROOT, "schemas", "vectors", version)
    proc = node(os.path.join(ROOT, "tests", "js", "run_vectors.mjs"), vectors)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    modes = ["manifest"] + (["announced"] if version == "por-v2" else [])
    seen = 0
    for shape in sorted(os.listdir(vectors)):
        if not os.path.isdir(os.path.join(vectors, shape)):
            continue
        manifest = json.load(open(os.path.join(vectors, shape, "manifest.json")))
        for mode in modes:
            by_name = {r["name"]: r for r in results if r["shape"] == shape and r["mode"] == mode}
            for proof in json.load(open(os.path.join(vectors, shape, "proofs.json"))):
                r = by_name[f"valid:{proof['user_id']}"]
                assert r["valid"] and r["balances"] == proof["balances"], r
                assert r["commitment"] == manifest.get("commitment"), r
                seen += 1
            for m in json.load(open(os.path.join(vectors, shape, "mutations.json"))):
                r = by_name[m["name"]]
                expected = m["expected"] if mode == "manifest" else m["expected_announced"]
                assert not r["valid"] and r["check"] == expected["check"], (shape, mode, m["name"], r)
                if expected["level"] is not None:
                    assert r["level"] == expected["level"]
                seen += 1
    assert seen == len(results) > 100


def test_node_cli(tmp_path):
    shape = os.path.join(VECTORS, "basic")
    proof = json.load(open(os.path.join(shape, "proofs.json")))[0]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(proof))
    ok = node(os.path.join(WEB, "verify-cli.mjs"), str(good), os.path.join(shape, "manifest.json"))
    assert ok.returncode == 0 and "VALID" in ok.stdout and proof["user_id"] in ok.stdout, ok.stderr
    proof["path"][1]["hash"] = "00" * 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(proof))
    failed = node(os.path.join(WEB, "verify-cli.mjs"), str(bad), os.path.join(shape, "manifest.json"))
    assert failed.returncode == 1 and "INVALID proof: root-hash" in failed.stderr
    usage = node(os.path.join(WEB, "verify-cli.mjs"))
    assert usage.returncode == 2


def test_node_cli_takes_the_announced_value_and_the_user_id(tmp_path):
    shape = os.path.join(ROOT, "schemas", "vectors", "por-v2", "basic")
    manifest = json.load(open(os.path.join(shape, "manifest.json")))
    proof = json.load(open(os.path.join(shape, "proofs.json")))[0]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    cli = os.path.join(WEB, "verify-cli.mjs")
    ok = node(cli, str(path), "--root", manifest["commitment"], "--user", proof["user_id"])
    assert ok.returncode == 0 and f"announced value (por-v2) {manifest['commitment']}" in ok.stdout, ok.stderr
    other = node(cli, str(path), os.path.join(shape, "manifest.json"), "--user", "someone-else")
    assert other.returncode == 1 and "INVALID proof: user-id" in other.stderr
    wrong = node(cli, str(path), "--root", manifest["root"]["hash"])
    assert wrong.returncode == 1 and "INVALID proof: commitment" in wrong.stderr
    usage = node(cli, str(path), os.path.join(shape, "manifest.json"), "--root", manifest["commitment"])
    assert usage.returncode == 2
    missing = node(cli, str(tmp_path / "absent.json"), "--root", manifest["commitment"])
    assert missing.returncode == 1 and "cannot read" in missing.stderr and "INVALID" not in missing.stderr
    # the Python verifiers say the same
    for cmd in ([sys.executable, "-m", "pipeline.verify"], [os.path.join(os.path.dirname(sys.executable), "por"), "verify"]):
        same = subprocess.run([*cmd, str(path), "--manifest", os.path.join(shape, "manifest.json"), "--user",
                               "someone-else"], capture_output=True, text=True, cwd=ROOT)
        assert same.returncode == 1 and "INVALID proof: user-id" in same.stderr, same.stderr
