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
ALL_VECTORS = os.path.join(SCHEMAS, "vectors")
VECTORS = os.path.join(ALL_VECTORS, "por-v1")
SHAPES = sorted(d for d in os.listdir(VECTORS) if os.path.isdir(os.path.join(VECTORS, d)))
VERSIONS = ("por-v1", "por-v2")
CASES = [(v, s) for v in VERSIONS for s in SHAPES]
SCHEMA_FILES = {"por-v1": ("proof.schema.json", "manifest.schema.json"),
                "por-v2": ("proof-v2.schema.json", "manifest-v2.schema.json")}


def load(shape, name, version="por-v1"):
    with open(os.path.join(ALL_VECTORS, version, shape, name), encoding="utf-8") as f:
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
    """Every version; por-v1's vectors are the ones published before por-v2 existed, byte for byte."""
    subprocess.run([sys.executable, os.path.join(SCHEMAS, "generate_vectors.py"), str(tmp_path)],
                   check=True, capture_output=True)

    def files(root):
        return sorted(os.path.relpath(os.path.join(r, f), root) for r, _, fs in os.walk(root) for f in fs)

    generated = (*VERSIONS, "por-v3")  # por-v3's own checks: tests/test_vectors_v3.py
    committed = [c for c in files(ALL_VECTORS) if c.split("/")[0] in generated]  # reserves/: its own generator
    assert files(tmp_path) == committed and {c.split("/")[0] for c in committed} == set(generated)
    assert {c.split("/")[0] for c in files(ALL_VECTORS)} == {*generated, "reserves"}  # nothing else lies there
    for name in committed:
        with open(os.path.join(ALL_VECTORS, name), "rb") as a, open(tmp_path / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs: re-run schemas/generate_vectors.py and review"


@pytest.mark.parametrize("version, shape", CASES)
def test_vectors_match_the_json_schemas(version, shape):
    proof_file, manifest_file = SCHEMA_FILES[version]
    proof_schema, manifest_schema = schema_validator(proof_file), schema_validator(manifest_file)
    manifest_schema.validate(load(shape, "manifest.json", version))
    for proof in load(shape, "proofs.json", version):
        proof_schema.validate(proof)
    failing = [m["name"] for m in load(shape, "mutations.json", version) if not proof_schema.is_valid(m["proof"])]
    assert all(n.startswith(("balance-", "path[0].sums-", "wrong-version", "decimals-", "all-labels"))
               for n in failing), failing


@pytest.mark.parametrize("version, shape", CASES)
def test_reference_builder_agrees_with_vectors(version, shape):
    snap = load(shape, "snapshot.json", version)
    manifest = load(shape, "manifest.json", version)
    users = {u["user_id"]: [int(v) for v in u["balances"]] for u in snap["users"]}
    ref = ReferenceTree(users, bytes.fromhex(snap["secret_hex"]), snap["period"], snap["bucket_bits"])
    root_hash, root_sums = ref.root()
    assert manifest["root"] == {"hash": root_hash.hex(), "sums": [str(s) for s in root_sums]}
    for proof in load(shape, "proofs.json", version):
        uid = proof["user_id"]
        assert [(bytes.fromhex(p["hash"]), [int(s) for s in p["sums"]]) for p in proof["path"]] == ref.path(uid)
        assert proof["nonce"] == ref.nonces[uid].hex()
        assert proof["position"] == ref.position[uid]


@pytest.mark.parametrize("version, shape", CASES)
def test_every_vector_proof_verifies(version, shape):
    manifest = load(shape, "manifest.json", version)
    snap = {u["user_id"]: u["balances"] for u in load(shape, "snapshot.json", version)["users"]}
    proofs = load(shape, "proofs.json", version)
    assert len(proofs) == len(snap)
    announced = manifest["commitment"] if version == "por-v2" else manifest["root"]["hash"]
    for proof in proofs:
        result = verify_proof(proof, manifest=manifest)
        assert [str(b) for b in result.balances] == snap[proof["user_id"]]
        assert verify_proof(proof, root_hash=announced).root_sums == result.root_sums


def test_v1_and_v2_share_the_tree():
    """por-v2 changes what is announced, not the tree: same snapshot, same root, same paths."""
    for shape in SHAPES:
        assert load(shape, "manifest.json", "por-v1")["root"] == load(shape, "manifest.json", "por-v2")["root"]
        one, two = load(shape, "proofs.json", "por-v1"), load(shape, "proofs.json", "por-v2")
        assert [p["path"] for p in one] == [p["path"] for p in two]


MUTATIONS = [(v, s, m) for v, s in CASES for m in load(s, "mutations.json", v)]


@pytest.mark.parametrize("version, shape, mutation", MUTATIONS, ids=[f"{v}:{s}:{m['name']}" for v, s, m in MUTATIONS])
def test_mutation_fails_named_check(version, shape, mutation):
    manifest = load(shape, "manifest.json", version)
    with pytest.raises(VerificationError) as info:
        verify_proof(mutation["proof"], manifest=manifest)
    assert info.value.check == mutation["expected"]["check"], str(info.value)
    if mutation["expected"]["level"] is not None:
        assert info.value.level == mutation["expected"]["level"]
    if version == "por-v2":  # against the announced value alone, every mutation fails too
        with pytest.raises(VerificationError) as info:
            verify_proof(mutation["proof"], root_hash=manifest["commitment"])
        assert info.value.check == mutation["expected_announced"]["check"], str(info.value)


def test_v2_mutations_cover_the_label_attacks():
    names = {m["name"] for m in load("basic", "mutations.json", "por-v2")}
    assert {"label-renamed", "labels-swapped-decimals", "all-labels-the-same", "decimals-changed",
            "wrong-asset-order", "shape-changed", "decimals-2^53", "decimals-negative"} <= names
    by_name = {m["name"]: m for m in load("basic", "mutations.json", "por-v2")}
    # the attacks of the security audit: against the announced value alone, each is a wrong value
    for name in ("label-renamed", "decimals-changed", "labels-swapped-decimals"):
        assert by_name[name]["expected_announced"]["check"] == "commitment"


def test_a_v2_manifest_with_another_decimals_is_refused_even_with_the_same_root():
    """Security finding 1: a manifest with the same root but BTC decimals 6 makes no verifier print VALID."""
    manifest = load("basic", "manifest.json", "por-v2")
    proof = load("basic", "proofs.json", "por-v2")[0]
    tailored = json.loads(json.dumps(manifest))
    tailored["assets"][0]["decimals"] = 6
    with pytest.raises(VerificationError) as info:
        verify_proof(proof, manifest=tailored)
    assert info.value.check == "manifest"  # its stored announced value is not the value of its fields
    tailored["commitment"] = "00" * 32
    from pipeline.protocol.verify import manifest_commitment

    tailored["commitment"] = manifest_commitment(tailored).hex()  # made consistent: a different announced value
    assert tailored["commitment"] != manifest["commitment"]
    with pytest.raises(VerificationError) as info:
        verify_proof(proof, manifest=tailored)
    assert info.value.check == "assets"


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
