"""Golden vectors: reproducible by their script, valid proofs verify, every mutation fails its named check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.errors import VerificationError
from pipeline.verify import verify_proof
from reference import ReferenceTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "schemas", "vectors", "por-v1")


def load(name):
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        return json.load(f)


def test_generator_reproduces_committed_vectors(tmp_path):
    subprocess.run([sys.executable, os.path.join(ROOT, "schemas", "generate_vectors.py"), str(tmp_path)],
                   check=True, capture_output=True)
    committed = sorted(os.listdir(VECTORS))
    assert sorted(os.listdir(tmp_path)) == committed
    for name in committed:
        with open(os.path.join(VECTORS, name), "rb") as a, open(tmp_path / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs: re-run schemas/generate_vectors.py and review"


def test_reference_builder_agrees_with_vectors():
    snap = load("snapshot.json")
    manifest = load("manifest.json")
    users = {u["user_id"]: [int(v) for v in u["balances"]] for u in snap["users"]}
    ref = ReferenceTree(users, bytes.fromhex(snap["secret_hex"]), snap["period"], snap["bucket_bits"])
    root_hash, root_sums = ref.root()
    assert manifest["root"] == {"hash": root_hash.hex(), "sums": [str(s) for s in root_sums]}
    for proof in load("proofs.json"):
        uid = proof["user_id"]
        assert [(bytes.fromhex(p["hash"]), [int(s) for s in p["sums"]]) for p in proof["path"]] == ref.path(uid)
        assert proof["nonce"] == ref.nonces[uid].hex()
        assert proof["position"] == ref.position[uid]


def test_every_vector_proof_verifies():
    manifest = load("manifest.json")
    snap = {u["user_id"]: u["balances"] for u in load("snapshot.json")["users"]}
    proofs = load("proofs.json")
    assert len(proofs) == len(snap)
    for proof in proofs:
        result = verify_proof(proof, manifest=manifest)
        assert [str(b) for b in result.balances] == snap[proof["user_id"]]
        assert verify_proof(proof, root_hash=manifest["root"]["hash"]).root_sums == result.root_sums


MUTATIONS = load("mutations.json")


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m["name"] for m in MUTATIONS])
def test_mutation_fails_named_check(mutation):
    manifest = load("manifest.json")
    with pytest.raises(VerificationError) as info:
        verify_proof(mutation["proof"], manifest=manifest)
    assert info.value.check == mutation["expected"]["check"], str(info.value)
    if mutation["expected"]["level"] is not None:
        assert info.value.level == mutation["expected"]["level"]


def test_mutation_names_cover_the_attacks():
    names = {m["name"] for m in MUTATIONS}
    height = load("manifest.json")["tree"]["height"]
    for i in range(height):
        assert f"path[{i}].hash-bit-flip" in names and f"path[{i}].sums[0]+1" in names
    for required in ("sum-splitting", "truncated-path", "extra-path-entry", "wrong-period", "root-from-proof",
                     "balance-negative", "balance-leading-zero", "wrong-nonce", "position-bit-0"):
        assert required in names


def test_root_from_proof_would_fool_a_naive_verifier():
    """The forged proof is self-consistent: only the manifest's root exposes it."""
    forged = next(m for m in MUTATIONS if m["name"] == "root-from-proof")["proof"]
    verify_proof(forged, root_hash=forged["root"]["hash"])  # consistent with its own root
    with pytest.raises(VerificationError):
        verify_proof(forged, manifest=load("manifest.json"))
