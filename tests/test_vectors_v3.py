"""por-v3: the reference builder (tests/support/ref_v3.py) against the spec, its proofs against the verifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import VerificationError
from pipeline.protocol import shape, v3
from pipeline.protocol.keys import SecretKey
from pipeline.protocol.verify import check_manifest, verify_proof
from pipeline.protocol.verify_v3 import VerifiedProofV3, manifest_commitment
from tests.support.ref_v3 import build_v3, canonical
from tests.test_vectors import schema_validator

SECRET = SecretKey(blake3(b"por-v3 reference self-test: public test secret").digest())
PERIOD = "2026-11"
SMALL = {
    "alice": {"BTC": (150_000_000, 0), "USDT": (0, 5_000_000)},
    "bob": {},
    "carol": {"ETH": (7, 3), "BTC": (1, 1)},
    "dave": {"BTC": (0, 0)},
}
ASSETS = [("USDT", 6), ("BTC", 8), ("ETH", 18)]


def _lp(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def _fold(key: bytes, fragment: dict, k: int, h: int) -> tuple[bytes, int, int]:
    """A fragment's path folded with blake3 directly (the formulas of schemas/por-v3.md section 5)."""
    node_key = blake3(b"", derive_key_context="por-v3 node key").digest()
    e, d = int(fragment["equity"]), int(fragment["debt"])
    current = blake3(e.to_bytes(16, "big") + d.to_bytes(16, "big"), key=key).digest()
    assert len(fragment["path"]) == k + h
    for level, sib in enumerate(fragment["path"]):
        mine = current + e.to_bytes(16, "big") + d.to_bytes(16, "big")
        se, sd = int(sib["equity"]), int(sib["debt"])
        theirs = bytes.fromhex(sib["hash"]) + se.to_bytes(16, "big") + sd.to_bytes(16, "big")
        message = mine + theirs if (fragment["position"] >> level) & 1 == 0 else theirs + mine
        current, e, d = blake3(message, key=node_key).digest(), e + se, d + sd
    return current, e, d


def test_reference_build_is_consistent_with_the_spec():
    build = build_v3(SMALL, ASSETS, SECRET, PERIOD, bucket_bits=3)
    manifest, store = build.manifest, build.store
    assert [a["symbol"] for a in manifest["assets"]] == ["BTC", "ETH", "USDT"]
    # C recomputes from the manifest's fields, byte by byte
    message = b"\x04" + _lp("por-v3") + _lp(PERIOD) + bytes([2, 25, 3])
    for asset, tree in zip(manifest["assets"], manifest["trees"], strict=True):
        assert tree["asset"] == asset["symbol"] and tree["height"] == tree["bucket_bits"] + tree["bucket_height"]
        message += _lp(asset["symbol"]) + bytes([asset["decimals"], tree["bucket_bits"], tree["bucket_height"]])
        message += bytes.fromhex(tree["root"]["hash"]) + int(tree["root"]["equity"]).to_bytes(16, "big")
        message += int(tree["root"]["debt"]).to_bytes(16, "big")
    assert blake3(message).hexdigest() == manifest["commitment"] == build.commitment.hex()
    assert manifest["files"] == {"top-tree.json": blake3(canonical(build.top_tree)).hexdigest()}
    # totals, leaf counts, shapes
    totals = {"BTC": (150_000_001, 1), "ETH": (7, 3), "USDT": (0, 5_000_000)}
    for tree, doc in zip(store.trees, manifest["trees"], strict=True):
        assert (tree.root[1], tree.root[2]) == totals[tree.asset]
        assert (int(doc["root"]["equity"]), int(doc["root"]["debt"])) == totals[tree.asset]
        assert tree.leaf_count >= 4096 and tree.fragments == 2 * {"BTC": 2, "ETH": 1, "USDT": 1}[tree.asset]
        assert sum(leaf.equity for leaf in tree.leaves) == totals[tree.asset][0]
        for b, leaves in tree.buckets.items():
            assert [leaf.key for leaf in leaves] == sorted(leaf.key for leaf in leaves)
            assert all(shape.bucket_of(leaf.key, 3) == b == leaf.position >> tree.bucket_height for leaf in leaves)
    # users: everyone in the store, zero holdings dropped, a proof for each
    assert set(store.users) == set(build.proofs) == set(SMALL)
    assert build.proofs["bob"]["holdings"] == [] and build.proofs["dave"]["holdings"] == []
    assert store.users["carol"].holdings == ((0, 1, 1), (1, 7, 3))
    assert store.users["carol"].held_mask(3) == b"\x03"
    # every fragment folds to its tree's root, with the key derived from the proof's own fields
    for user_id, proof in build.proofs.items():
        uk = v3.user_key(bytes.fromhex(proof["nonce"]), PERIOD, user_id)
        assert uk == store.users[user_id].uk
        for holding in proof["holdings"]:
            j = [a["symbol"] for a in proof["assets"]].index(holding["asset"])
            tree = manifest["trees"][j]
            assert sum(int(f["equity"]) for f in holding["fragments"]) == int(holding["equity"])
            assert sum(int(f["debt"]) for f in holding["fragments"]) == int(holding["debt"])
            for i, fragment in enumerate(holding["fragments"]):
                key = v3.fragment_key(uk, holding["asset"], i)
                root = _fold(key, fragment, tree["bucket_bits"], tree["bucket_height"])
                assert (root[0].hex(), str(root[1]), str(root[2])) == tuple(tree["root"][f] for f in ("hash", "equity", "debt"))


def test_default_bucket_bits_and_padding_share():
    build = build_v3({f"u{i}": {"A": (i, 0)} for i in range(1, 6)}, [("A", 0)], SECRET, PERIOD,
                     v3.Parameters(fragments=3, padding=100))
    tree = build.store.trees[0]
    assert tree.bucket_bits == shape.default_bucket_bits(tree.leaf_count) == 0
    assert tree.fragments == 15
    k_pad = v3.period_keys(SECRET, PERIOD)[1]
    assert tree.padding_leaves == v3.padding_leaf_count(15, 100, v3.padding_share(k_pad, "A"))
    assert sorted(leaf.padding_index for leaf in tree.leaves if leaf.owner is None) == list(range(tree.padding_leaves))


def test_every_reference_proof_verifies_with_the_manifest_and_with_c_alone():
    build = build_v3(SMALL, ASSETS, SECRET, PERIOD, bucket_bits=3)
    for user_id, proof in build.proofs.items():
        with_manifest = verify_proof(proof, manifest=build.manifest, user_id=user_id)
        alone = verify_proof(proof, root_hash=build.manifest["commitment"])
        assert with_manifest == alone and alone.commitment == build.commitment.hex()
        for asset in alone.assets:
            assert (asset.equity, asset.debt) == SMALL[user_id].get(asset.symbol, (0, 0))


# ---------------------------------------------------------------------------------------------------
# the golden vectors of schemas/vectors/por-v3/

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "schemas")
VECTORS = os.path.join(SCHEMAS, "vectors", "por-v3")
SHAPES = sorted(d for d in os.listdir(VECTORS) if os.path.isdir(os.path.join(VECTORS, d)))
FILES = ("manifest.json", "mutations.json", "proofs.json", "snapshot.json", "top-tree.json")


def load(shape_name, name):
    with open(os.path.join(VECTORS, shape_name, name), encoding="utf-8") as f:
        return json.load(f)


def snapshot_of(shape_name):
    snap = load(shape_name, "snapshot.json")
    users = {u["user_id"]: {s: (int(v["equity"]), int(v["debt"])) for s, v in u["holdings"].items()} for u in snap["users"]}
    return snap, users


def test_shapes_cover_the_edge_cases():
    assert {"basic", "one-holder", "many-assets", "near-u128-limit", "s3-p100"} <= set(SHAPES)
    for name in SHAPES:
        assert sorted(os.listdir(os.path.join(VECTORS, name))) == sorted(FILES)
    basic = load("basic", "manifest.json")
    assert len(basic["assets"]) == 3 and {t["bucket_bits"] for t in basic["trees"]} == {3}
    assert any(int(t["root"]["debt"]) > 0 for t in basic["trees"])
    one = load("one-holder", "manifest.json")
    (tree,) = one["trees"]
    assert (tree["bucket_bits"], tree["bucket_height"]) == (0, 12)  # 4 096 leaves, two of them the holder's
    assert len(load("one-holder", "proofs.json")) == 1
    assert len(load("many-assets", "manifest.json")["assets"]) >= 22
    near = load("near-u128-limit", "manifest.json")["trees"]
    assert max((1 << 128) - int(t["root"]["equity"]) for t in near) <= 1 << 102
    assert min((1 << 128) - int(t["root"]["debt"]) for t in near) <= 1 << 102
    assert load("s3-p100", "manifest.json")["parameters"] == {"fragments": 3, "padding": 100}
    assert all(len(h["fragments"]) == 3 for p in load("s3-p100", "proofs.json") for h in p["holdings"])
    assert os.path.exists(os.path.join(VECTORS, "worked-example.md"))


def test_generator_reproduces_committed_vectors(tmp_path):
    """por-v3's vectors from the reference builder, byte for byte (no cluster: a few seconds)."""
    subprocess.run([sys.executable, os.path.join(SCHEMAS, "generate_vectors.py"), str(tmp_path), "--versions", "por-v3"],
                   check=True, capture_output=True)

    def files(root):
        return sorted(os.path.relpath(os.path.join(r, f), root) for r, _, fs in os.walk(root) for f in fs)

    assert files(tmp_path / "por-v3") == files(VECTORS)
    for name in files(VECTORS):
        with open(os.path.join(VECTORS, name), "rb") as a, open(tmp_path / "por-v3" / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs: re-run schemas/generate_vectors.py and review"


@pytest.mark.parametrize("shape_name", SHAPES)
def test_reference_builder_rebuilds_the_vectors_from_their_snapshot(shape_name):
    """The snapshot file says everything: the builder rebuilds manifest, top tree and proofs from it."""
    snap, users = snapshot_of(shape_name)
    build = build_v3(users, list(snap["assets"].items()), SecretKey(bytes.fromhex(snap["secret_hex"])), snap["period"],
                     v3.Parameters(**snap["parameters"]), snap["bucket_bits"])
    with open(os.path.join(VECTORS, shape_name, "manifest.json"), "rb") as f:
        assert f.read() == build.manifest_bytes()
    with open(os.path.join(VECTORS, shape_name, "top-tree.json"), "rb") as f:
        top = f.read()
    assert top == build.top_tree_bytes() and build.manifest["files"]["top-tree.json"] == blake3(top).hexdigest()
    assert load(shape_name, "proofs.json") == [build.proofs[u] for u in sorted(build.proofs)]


@pytest.mark.parametrize("shape_name", SHAPES)
def test_vectors_match_the_json_schemas(shape_name):
    proof_schema, manifest_schema = schema_validator("proof-v3.schema.json"), schema_validator("manifest-v3.schema.json")
    manifest_schema.validate(load(shape_name, "manifest.json"))
    for proof in load(shape_name, "proofs.json"):
        proof_schema.validate(proof)
    failing = {m["name"] for m in load(shape_name, "mutations.json") if not proof_schema.is_valid(m["proof"])}
    # what the schema cannot see (order, sums, keys) passes it; what it refuses, the verifier refuses while reading
    by_name = {m["name"]: m for m in load(shape_name, "mutations.json")}
    allowed = {"format", "number", "path-length", "holdings", "fragments", "period", "version"}
    assert all(by_name[n]["expected"]["check"] in allowed for n in failing), sorted(failing)
    if shape_name == "basic":  # the schema refuses what it can see
        assert {"fragments-9", "path-65-entries", "holdings-256", "decimals-39", "unknown-field", "fragment-dropped",
                "fragment-equity-leading-zero", "path[0].debt-plus-sign", "parameters-padding-101", "wrong-version"} <= failing
    published = dict(load(shape_name, "manifest.json"), previous=None)
    manifest_schema.validate(published)


@pytest.mark.parametrize("shape_name", SHAPES)
def test_every_vector_proof_verifies_and_shows_the_snapshot(shape_name):
    manifest = load(shape_name, "manifest.json")
    check_manifest(manifest)
    assert manifest_commitment(manifest).hex() == manifest["commitment"]
    snap, users = snapshot_of(shape_name)
    proofs = load(shape_name, "proofs.json")
    assert sorted(p["user_id"] for p in proofs) == sorted(users)
    for proof in proofs:
        result = verify_proof(proof, manifest=manifest, user_id=proof["user_id"])
        assert isinstance(result, VerifiedProofV3) and result.commitment == manifest["commitment"]
        assert verify_proof(proof, root_hash=manifest["commitment"]) == result
        assert result.symbols == tuple(sorted(snap["assets"], key=str.encode))
        for asset in result.assets:
            assert (asset.equity, asset.debt) == users[proof["user_id"]].get(asset.symbol, (0, 0))
            assert asset.held == ((asset.equity, asset.debt) != (0, 0))
        totals = {t["asset"]: (int(t["root"]["equity"]), int(t["root"]["debt"])) for t in manifest["trees"]}
        assert {a.symbol: (a.total_equity, a.total_debt) for a in result.assets} == totals
    for symbol in snap["assets"]:  # the announced totals are the snapshot's
        total = tuple(sum(h.get(symbol, (0, 0))[t] for h in users.values()) for t in (0, 1))
        assert totals[symbol] == total


MUTATIONS = [(s, m) for s in SHAPES for m in load(s, "mutations.json")]


@pytest.mark.parametrize("shape_name, mutation", MUTATIONS, ids=[f"{s}:{m['name']}" for s, m in MUTATIONS])
def test_mutation_fails_exactly_its_check(shape_name, mutation):
    manifest = load(shape_name, "manifest.json")
    for key, kwargs in (("expected", {"manifest": manifest}), ("expected_announced", {"root_hash": manifest["commitment"]})):
        want = mutation[key]
        if want["valid"]:
            result = verify_proof(mutation["proof"], **kwargs)
            assert result.commitment == manifest["commitment"]
            continue
        with pytest.raises(VerificationError) as info:
            verify_proof(mutation["proof"], **kwargs)
        assert (info.value.check, info.value.level) == (want["check"], want["level"]), (key, str(info.value))


REQUIRED_MUTATIONS = {
    "debt-moved-to-equity", "fragment-dropped", "fragment-duplicated", "fragment-in-other-asset",
    "fragment-equity-changed", "holding-sum-changed", "sibling-debt-changed", "sibling-hash-changed", "holding-omitted",
    "other-asset-root-changed", "holding-omitted-other-asset-root-changed", "parameters-changed", "padding-changed",
    "position-changed", "position-other-bucket", "path-too-long", "path-too-short", "holdings-out-of-order",
    "holding-repeated", "holding-zero", "unknown-asset", "user-id-changed", "nonce-changed", "commitment-field-differs",
    "label-renamed", "labels-swapped-decimals", "all-labels-the-same", "decimals-changed", "wrong-asset-order",
    "shape-changed", "decimals-2^53", "decimals-negative", "root-from-proof", "wrong-period", "wrong-version",
    "sum-splitting", "fragment-equity-2^128", "path[0].debt-leading-zero",
}


def test_mutations_cover_the_attacks():
    by_name = {m["name"]: m for m in load("basic", "mutations.json")}
    assert REQUIRED_MUTATIONS <= set(by_name), REQUIRED_MUTATIONS - set(by_name)
    # an omitted holding verifies, shown at zero: the user, who knows their account, sees it; the exchange
    # cannot also lower that asset's root, which C pins
    omitted = by_name["holding-omitted"]
    assert omitted["expected"]["valid"] and omitted["expected_announced"]["valid"]
    result = verify_proof(omitted["proof"], manifest=load("basic", "manifest.json"))
    gone = set(result.symbols) - {h["asset"] for h in omitted["proof"]["holdings"]}
    assert gone and all((a.equity, a.debt) == (0, 0) for a in result.assets if a.symbol in gone)
    assert by_name["holding-omitted-other-asset-root-changed"]["expected"]["check"] == "commitment"
    # the forged self-consistent proof, and the label attacks, are a wrong C against the announced value
    for name in ("label-renamed-not-in-holdings", "decimals-changed", "labels-swapped-decimals", "padding-changed",
                 "root-from-proof"):
        assert by_name[name]["expected_announced"]["check"] in ("commitment", "holdings")
    forged = by_name["root-from-proof"]["proof"]
    assert forged["commitment"] != load("basic", "manifest.json")["commitment"]
    verify_proof(forged, root_hash=forged["commitment"])  # consistent in itself: only the published C exposes it
    for name in SHAPES:
        names = {m["name"] for m in load(name, "mutations.json")}
        assert {"debt-moved-to-equity", "fragment-dropped", "holding-omitted", "parameters-changed", "padding-changed",
                "commitment-field-differs", "nonce-changed", "user-id-changed"} <= names, name
        assert all(m["expected"]["valid"] is False for m in load(name, "mutations.json") if m["name"] != "holding-omitted")


def test_worked_example_states_every_byte_of_c():
    text = open(os.path.join(VECTORS, "worked-example.md"), encoding="utf-8").read()
    manifest = load("basic", "manifest.json")
    message = text.split("| the whole message (")[1].split("`")[1]
    assert blake3(bytes.fromhex(message)).hexdigest() == manifest["commitment"]
    parts = text.split("## The announced value C, every byte")[1].split("| the whole message")[0]
    pieces = [line.split("`")[1] for line in parts.splitlines() if line.startswith("| ") and "`" in line]
    assert "".join(pieces) == message
    proof = next(p for p in load("basic", "proofs.json") if p["user_id"] == "alice")
    assert proof["nonce"] in text and all(str(f["position"]) in text for h in proof["holdings"] for f in h["fragments"])


# ---------------------------------------------------------------------------------------------------
# what a tampered manifest or a wrong account id meets

def test_a_manifest_must_be_exactly_por_v3_and_its_c_its_fields_value():
    manifest = load("basic", "manifest.json")
    proof = load("basic", "proofs.json")[0]

    def refused(doc, check="manifest"):
        with pytest.raises(VerificationError) as info:
            verify_proof(proof, manifest=doc)
        assert info.value.check == check, str(info.value)

    for mutate in (lambda m: m.pop("files"), lambda m: m.update(extra=1), lambda m: m.update(hash="sha256"),
                   lambda m: m["trees"][0].update(asset="ETH"), lambda m: m["trees"][0].update(height=0),
                   lambda m: m["trees"].pop(), lambda m: m["parameters"].update(fragments=9),
                   lambda m: m["trees"][0]["root"].update(equity="01"), lambda m: m.update(commitment="00" * 32),
                   lambda m: m["files"].update({"top-tree.json": "XX"}), lambda m: m["assets"].reverse()):
        doc = json.loads(json.dumps(manifest))
        mutate(doc)
        refused(doc)
    # a manifest whose C is recomputed after a change is self-consistent: the proof meets its own check
    held = {h["asset"] for h in proof["holdings"]}
    assert {t["asset"] for t in manifest["trees"]} - held and held  # alice: BTC and USDT, not ETH
    for j, tree in enumerate(manifest["trees"]):
        for field in ("equity", "debt"):
            forged = json.loads(json.dumps(manifest))
            forged["trees"][j]["root"][field] = str(int(tree["root"][field]) + 1)
            forged["commitment"] = _recommit(forged)
            refused(forged, "root-sums" if tree["asset"] in held else "commitment")
        forged = json.loads(json.dumps(manifest))
        forged["trees"][j]["root"]["hash"] = "ab" * 32
        forged["commitment"] = _recommit(forged)
        refused(forged, "root-hash" if tree["asset"] in held else "commitment")
    other = json.loads(json.dumps(manifest))
    other["parameters"]["padding"] = 24
    other["commitment"] = _recommit(other)
    refused(other, "parameters")
    v2 = load_v2_manifest()
    refused(v2, "version")
    # the publication's own fields are allowed (schemas/archive.md), not read
    published = dict(manifest, previous=None, publication={"revision": 1})
    verify_proof(proof, manifest=published)


def _recommit(m):
    """C of a manifest's fields, as a forger who changed them would recompute it."""
    return v3.commitment(m["period"], v3.Parameters(**m["parameters"]), [(a["symbol"], a["decimals"]) for a in m["assets"]],
                         [v3.TreeRoot(t["bucket_bits"], t["bucket_height"], bytes.fromhex(t["root"]["hash"]),
                                      int(t["root"]["equity"]), int(t["root"]["debt"])) for t in m["trees"]]).hex()


def load_v2_manifest():
    with open(os.path.join(SCHEMAS, "vectors", "por-v2", "basic", "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def test_the_account_id_given_must_be_the_proofs():
    manifest = load("basic", "manifest.json")
    proof = next(p for p in load("basic", "proofs.json") if p["user_id"] == "alice")
    assert verify_proof(proof, manifest=manifest, user_id="alice").user_id == "alice"
    for given_id in ("bob", "alice\u200b", ""):
        with pytest.raises(VerificationError) as info:
            verify_proof(proof, manifest=manifest, user_id=given_id)
        assert info.value.check == "user-id"
    with pytest.raises(VerificationError) as info:  # the announced value must be 64 lowercase hex
        verify_proof(proof, root_hash=manifest["commitment"].upper())
    assert info.value.check == "format"


# ---------------------------------------------------------------------------------------------------
# the printed verdict: python -m pipeline.verify (heavy packages blocked) and por verify

def test_standalone_verifier_prints_every_asset_equity_debt_net_and_c(tmp_path):
    from tests.test_verify_standalone import run

    manifest_path = os.path.join(VECTORS, "basic", "manifest.json")
    manifest = load("basic", "manifest.json")
    proof = next(p for p in load("basic", "proofs.json") if p["user_id"] == "alice")
    good = tmp_path / "alice.json"
    good.write_text(json.dumps(proof))
    ok = run(str(good), "--manifest", manifest_path, "--user", "alice")
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0] == "VALID proof for user 'alice' in period 2026-11"
    assert lines[1] == f"announced value (por-v3) {manifest['commitment']}"
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ")}
    assert rows["asset"] == ["equity", "debt", "net"]
    assert rows["BTC"] == ["1.5", "0", "1.5"]  # readable (the report's rule); every digit with --exact
    assert rows["ETH"] == ["0"] * 3  # not held: shown at zero
    assert rows["USDT"] == ["250", "1,000", "-750"]
    exact = {line.split()[0]: line.split()[1:] for line in run(str(good), "--manifest", manifest_path, "--exact")
             .stdout.splitlines() if line.startswith("  ")}
    assert exact["BTC"] == ["1.50000000", "0.00000000", "1.50000000"]
    assert exact["ETH"] == ["0.000000000000000000"] * 3
    assert exact["USDT"] == ["250.000000", "1000.000000", "-750.000000"]
    assert "Assets not held (ETH) are counted at zero for this user." in ok.stdout
    announced = run(str(good), "--root", manifest["commitment"])
    assert announced.returncode == 0 and announced.stdout == ok.stdout
    bad = json.loads(json.dumps(proof))
    bad["holdings"][0]["fragments"][0]["path"][0]["debt"] = "01"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    failed = run(str(tmp_path / "bad.json"), "--manifest", manifest_path)
    assert failed.returncode == 1 and failed.stderr.startswith("INVALID proof: number at level 0")
    wrong = run(str(good), "--root", manifest["trees"][0]["root"]["hash"])  # a tree's root is not C
    assert wrong.returncode == 1 and wrong.stderr.startswith("INVALID proof: commitment")


def test_por_verify_prints_the_same(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    manifest_path = os.path.join(VECTORS, "basic", "manifest.json")
    proof = next(p for p in load("basic", "proofs.json") if p["user_id"] == "dave")  # holds nothing
    path = tmp_path / "dave.json"
    path.write_text(json.dumps(proof))
    result = CliRunner().invoke(app, ["verify", str(path), "--manifest", manifest_path, "--user", "dave"])
    assert result.exit_code == 0, result.stderr
    assert verify_proof(proof, manifest=load("basic", "manifest.json")).summary() == result.stdout.rstrip("\n")
    assert "No asset is held: every asset is counted at zero for this user." in result.stdout
    result = CliRunner().invoke(app, ["verify", str(path), "--manifest", manifest_path, "--user", "erin"])
    assert result.exit_code == 1 and "INVALID proof: user-id" in result.stderr


# ---------------------------------------------------------------------------------------------------
# properties: every proof of a random small snapshot verifies; any single change of a number is refused

SYMBOLS = ["BTC", "ETH", "USDT", "A", "Zz", "\u00e9T"]
AMOUNT = st.one_of(st.just(0), st.integers(1, 1000), st.integers(0, (1 << 125) - 1))


@st.composite
def snapshots(draw):
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
    assets = [(s, draw(st.integers(0, 38))) for s in symbols]
    n = draw(st.integers(1, 4))
    users = {}
    for i in range(n):
        held = draw(st.lists(st.sampled_from(symbols), unique=True, max_size=len(symbols)))
        users[f"u{i}"] = {s: (draw(AMOUNT), draw(AMOUNT)) for s in held}
    parameters = v3.Parameters(draw(st.integers(2, 8)), draw(st.integers(0, 100)))
    k = draw(st.one_of(st.none(), st.integers(0, 4)))
    return users, assets, parameters, k


def _numbers(proof):
    """Every amount, hash and position of a proof, as (container, key, kind)."""
    out = []
    for h in proof["holdings"]:
        out += [(h, "equity", "amount"), (h, "debt", "amount")]
        for f in h["fragments"]:
            out += [(f, "equity", "amount"), (f, "debt", "amount"), (f, "position", "position")]
            for node in f["path"]:
                out += [(node, "hash", "hash"), (node, "equity", "amount"), (node, "debt", "amount")]
    for t in proof["trees"]:
        out += [(t["root"], "hash", "hash"), (t["root"], "equity", "amount"), (t["root"], "debt", "amount")]
    out += [(proof, "nonce", "hash"), (proof, "commitment", "hash")]
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(snapshots(), st.data())
def test_reference_proofs_verify_and_any_single_change_is_refused(snapshot, data):
    users, assets, parameters, k = snapshot
    build = build_v3(users, assets, SECRET, PERIOD, parameters, k)
    for user_id, proof in build.proofs.items():
        result = verify_proof(proof, manifest=build.manifest, user_id=user_id)
        assert {a.symbol: (a.equity, a.debt) for a in result.assets if a.held} == \
            {s: v for s, v in users[user_id].items() if v != (0, 0)}
    user_id = data.draw(st.sampled_from(sorted(build.proofs)))
    proof = json.loads(json.dumps(build.proofs[user_id]))
    numbers = _numbers(proof)
    if not proof["holdings"]:  # a proof of nothing held binds no key: its nonce enters no hash (see below)
        numbers = [n for n in numbers if n[1] != "nonce"]
    container, key, kind = data.draw(st.sampled_from(numbers))
    bit = data.draw(st.integers(0, {"amount": 127, "hash": 255, "position": 52}[kind]))
    if kind == "amount":
        container[key] = str(int(container[key]) ^ (1 << bit))
    elif kind == "hash":
        container[key] = (int(container[key], 16) ^ (1 << bit)).to_bytes(32, "big").hex()
    else:
        container[key] ^= 1 << bit
    for kwargs in ({"manifest": build.manifest}, {"root_hash": build.manifest["commitment"]}):
        with pytest.raises(VerificationError):
            verify_proof(proof, **kwargs)


def test_a_proof_of_nothing_held_binds_no_key():
    """A user with no holding has no leaf: their proof (``holdings: []``) is C's roots and nothing of theirs,
    so its nonce (and id) enter no hash and any nonce verifies. It shows every asset at zero, as the omitted
    holding does: only the user, who knows their account, can tell it from the truth."""
    manifest = load("basic", "manifest.json")
    proof = json.loads(json.dumps(next(p for p in load("basic", "proofs.json") if p["user_id"] == "dave")))
    assert proof["holdings"] == []
    proof["nonce"] = "00" * 32
    proof["user_id"] = "somebody-else"
    result = verify_proof(proof, manifest=manifest)
    assert all((a.equity, a.debt) == (0, 0) for a in result.assets)


def test_por_v3_documents_are_read_strictly(tmp_path):
    """The strict reader (protocol.jsonread) before any check: a duplicate key, a fraction, a byte-order mark."""
    from pipeline.protocol.verify import verify_files

    manifest_path = os.path.join(VECTORS, "basic", "manifest.json")
    proof = next(p for p in load("basic", "proofs.json") if p["user_id"] == "alice")
    text = json.dumps(proof)
    position = proof["holdings"][0]["fragments"][0]["position"]
    for name, body in (("dup", text.replace('"position": ', f'"position": {position ^ 1}, "position": ', 1)),
                       ("fraction", text.replace(f'"position": {position}', f'"position": {position}.0', 1)),
                       ("bom", "\ufeff" + text)):
        path = tmp_path / f"{name}.json"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(VerificationError) as info:
            verify_files(str(path), manifest_path, None)
        assert info.value.check == "input", name
    good = tmp_path / "good.json"
    good.write_text(text)
    assert verify_files(str(good), manifest_path, None, "alice").commitment == load("basic", "manifest.json")["commitment"]


def test_every_check_of_section_8_is_met_by_some_vector():
    from pipeline.protocol.checks import Check

    met = {m[key]["check"] for s in SHAPES for m in load(s, "mutations.json") for key in ("expected", "expected_announced")}
    # input, signature, manifest, user-id, root-sums: the tests above (the files, the manifest, the account id)
    assert set(Check) - met == {Check.INPUT, Check.SIGNATURE, Check.MANIFEST, Check.USER_ID, Check.ROOT_SUMS}
