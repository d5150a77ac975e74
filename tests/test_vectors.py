"""Golden vectors: reproducible by their script, valid against the JSON Schemas, valid proofs
verify, every mutation fails its named check, and the reference builder agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from pipeline.errors import VerificationError
from pipeline.verify import verify_proof
from tests.support.reference import ReferenceTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "schemas")
VECTORS = os.path.join(SCHEMAS, "vectors", "por-v1")
SHAPES = sorted(d for d in os.listdir(VECTORS) if os.path.isdir(os.path.join(VECTORS, d)))


def load(shape, name):
    with open(os.path.join(VECTORS, shape, name), encoding="utf-8") as f:
        return json.load(f)


def schema_validator(name):
    docs = {n: json.load(open(os.path.join(SCHEMAS, n))) for n in sorted(os.listdir(SCHEMAS)) if n.endswith(".schema.json")}
    registry = Registry().with_resources(
        [(doc["$id"], Resource.from_contents(doc)) for doc in docs.values()]
        + [(n, Resource.from_contents(doc)) for n, doc in docs.items()])
    return Draft202012Validator(docs[name], registry=registry)


def test_shapes_cover_the_edge_cases():
    assert {"basic", "one-user-k0", "empty-buckets", "m22", "near-u128-limit"} <= set(SHAPES)
    trees = {s: load(s, "manifest.json")["tree"] for s in SHAPES}
    assert trees["one-user-k0"] == {"bucket_bits": 0, "bucket_height": 0, "height": 0}
    assert len(load("m22", "manifest.json")["assets"]) == 22
    top = load("empty-buckets", "top-tree.json")["levels"][0]
    assert sum(all(v == "0" for v in node["sums"]) for node in top) >= 8  # empty buckets
    near = max(int(v) for v in load("near-u128-limit", "manifest.json")["root"]["sums"])
    assert (1 << 128) - near <= 1 << 102


@pytest.mark.integration
def test_generator_reproduces_committed_vectors(tmp_path):
    subprocess.run([sys.executable, os.path.join(SCHEMAS, "generate_vectors.py"), str(tmp_path)],
                   check=True, capture_output=True)
    committed = sorted(os.path.relpath(os.path.join(r, f), VECTORS) for r, _, fs in os.walk(VECTORS) for f in fs)
    fresh = sorted(os.path.relpath(os.path.join(r, f), tmp_path) for r, _, fs in os.walk(tmp_path) for f in fs)
    assert fresh == committed
    for name in committed:
        with open(os.path.join(VECTORS, name), "rb") as a, open(tmp_path / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs: re-run schemas/generate_vectors.py and review"


@pytest.mark.parametrize("shape", SHAPES)
def test_vectors_match_the_json_schemas(shape):
    proof_schema, manifest_schema = schema_validator("proof.schema.json"), schema_validator("manifest.schema.json")
    manifest_schema.validate(load(shape, "manifest.json"))
    for proof in load(shape, "proofs.json"):
        proof_schema.validate(proof)
    failing = [m["name"] for m in load(shape, "mutations.json") if not proof_schema.is_valid(m["proof"])]
    assert all(n.startswith(("balance-", "path[0].sums-", "wrong-version")) for n in failing), failing


@pytest.mark.parametrize("shape", SHAPES)
def test_reference_builder_agrees_with_vectors(shape):
    snap = load(shape, "snapshot.json")
    manifest = load(shape, "manifest.json")
    users = {u["user_id"]: [int(v) for v in u["balances"]] for u in snap["users"]}
    ref = ReferenceTree(users, bytes.fromhex(snap["secret_hex"]), snap["period"], snap["bucket_bits"])
    root_hash, root_sums = ref.root()
    assert manifest["root"] == {"hash": root_hash.hex(), "sums": [str(s) for s in root_sums]}
    for proof in load(shape, "proofs.json"):
        uid = proof["user_id"]
        assert [(bytes.fromhex(p["hash"]), [int(s) for s in p["sums"]]) for p in proof["path"]] == ref.path(uid)
        assert proof["nonce"] == ref.nonces[uid].hex()
        assert proof["position"] == ref.position[uid]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_vector_proof_verifies(shape):
    manifest = load(shape, "manifest.json")
    snap = {u["user_id"]: u["balances"] for u in load(shape, "snapshot.json")["users"]}
    proofs = load(shape, "proofs.json")
    assert len(proofs) == len(snap)
    for proof in proofs:
        result = verify_proof(proof, manifest=manifest)
        assert [str(b) for b in result.balances] == snap[proof["user_id"]]
        assert verify_proof(proof, root_hash=manifest["root"]["hash"]).root_sums == result.root_sums


MUTATIONS = [(s, m) for s in SHAPES for m in load(s, "mutations.json")]


@pytest.mark.parametrize("shape, mutation", MUTATIONS, ids=[f"{s}:{m['name']}" for s, m in MUTATIONS])
def test_mutation_fails_named_check(shape, mutation):
    with pytest.raises(VerificationError) as info:
        verify_proof(mutation["proof"], manifest=load(shape, "manifest.json"))
    assert info.value.check == mutation["expected"]["check"], str(info.value)
    if mutation["expected"]["level"] is not None:
        assert info.value.level == mutation["expected"]["level"]


def test_mutation_names_cover_the_attacks():
    names = {m["name"] for m in load("basic", "mutations.json")}
    height = load("basic", "manifest.json")["tree"]["height"]
    for i in range(height):
        assert f"path[{i}].hash-bit-flip" in names and f"path[{i}].sums[0]-changed" in names
    for required in ("sum-splitting", "truncated-path", "extra-path-entry", "wrong-period", "root-from-proof",
                     "balance-negative", "balance-leading-zero", "balance-2^128", "wrong-asset-order",
                     "wrong-nonce", "position-bit-0", "proof-root-field-differs"):
        assert required in names


def test_root_from_proof_would_fool_a_naive_verifier():
    """The forged proof is self-consistent: only the manifest's root exposes it."""
    forged = next(m for m in load("basic", "mutations.json") if m["name"] == "root-from-proof")["proof"]
    verify_proof(forged, root_hash=forged["root"]["hash"])  # consistent with its own root
    with pytest.raises(VerificationError):
        verify_proof(forged, manifest=load("basic", "manifest.json"))
