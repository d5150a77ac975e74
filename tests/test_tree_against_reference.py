"""Pure tests, no Dask and no storage: the tree layer folds exactly the reference tree, and the verifier
rejects every change to a committed byte of a valid proof."""

from __future__ import annotations

import copy
import json
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import VerificationError
from pipeline.protocol import shape, v1, v2
from pipeline.protocol.userid import user_id_problem
from pipeline.protocol.amounts import U128_LIMIT
from pipeline.protocol.keys import SecretKey, period_keys
from pipeline.protocol.verify import verify_proof
from pipeline.tree import (
    build_bucket,
    build_top,
    leaf_hashes,
    sibling_path,
    sums_from_ints,
)
from tests.support.reference import ReferenceTree

PERIOD = "2026-11"
ALL_VECTORS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas", "vectors")

users_st = st.dictionaries(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=12),
    st.lists(st.integers(0, (1 << 100) - 1), min_size=2, max_size=2),
    min_size=1, max_size=40)


def fold_with_the_tree_layer(users: dict[str, list[int]], secret: SecretKey, bucket_bits: int):
    """The tree layer's pieces in the order the build uses them, in one process."""
    k_nonce, k_pad = period_keys(secret, PERIOD)
    keyed = sorted((v1.user_key(v1.user_nonce(k_nonce, uid), PERIOD, uid), uid) for uid in users)
    buckets: dict[int, list[tuple[bytes, str]]] = {}
    for uk, uid in keyed:
        buckets.setdefault(shape.bucket_of(uk, bucket_bits), []).append((uk, uid))
    h = shape.height_for(max(len(v) for v in buckets.values()))

    def padding(level: int, index: int) -> bytes:
        return v1.padding_hash(k_pad, level, index)

    m = len(next(iter(users.values())))
    count = 1 << bucket_bits
    hashes = np.zeros((count, 32), np.uint8)
    sums = np.zeros((count, m, 2), np.uint64)
    empty = np.ones(count, bool)
    paths = {}
    for b in range(count):
        members = buckets.get(b, [])
        uks = np.frombuffer(b"".join(uk for uk, _ in members), np.uint8).reshape(-1, 32)
        bal = sums_from_ints([users[uid] for _, uid in members], m)
        sub = build_bucket(leaf_hashes(uks, bal), bal, b, h, padding, keep_levels=bool(members))
        hashes[b] = np.frombuffer(sub.root_hash, np.uint8)
        sums[b] = sub.root_sums
        empty[b] = not members
        for rank, (_, uid) in enumerate(members):
            paths[uid] = (shape.position(b, h, rank), sibling_path(sub.levels, rank))
    levels = build_top(hashes, sums, empty, h, padding)
    for uid, (pos, lower) in paths.items():
        paths[uid] = (pos, lower + sibling_path(levels, shape.bucket_of_position(pos, h)))
    return levels[-1][0][0].tobytes(), levels[-1][1][0], h, paths


@settings(max_examples=60, deadline=None)
@given(users=users_st, bucket_bits=st.integers(0, 3), secret=st.binary(min_size=32, max_size=32))
def test_tree_layer_folds_the_reference_tree(users, bucket_bits, secret):
    root_hash, root_sums, h, paths = fold_with_the_tree_layer(users, SecretKey(secret), bucket_bits)
    ref = ReferenceTree(users, secret, PERIOD, bucket_bits)
    want_hash, want_sums = ref.root()
    assert (root_hash, [(int(a) << 64) | int(b) for a, b in root_sums]) == (want_hash, want_sums)
    assert h == ref.h
    for uid, (pos, path) in paths.items():
        assert pos == ref.position[uid]
        assert [(hx, [(int(a) << 64) | int(b) for a, b in sx]) for hx, sx in path] == ref.path(uid)


# ------------------------------------------------------------------ fuzzing the verifier


def _vector(shape_name: str, version: str = "por-v1"):
    folder = os.path.join(ALL_VECTORS, version, shape_name)
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(folder, "proofs.json")) as f:
        proofs = json.load(f)
    with open(os.path.join(folder, "mutations.json")) as f:
        mutations = json.load(f)
    return manifest, proofs, mutations


def committed_fields(proof) -> list[tuple]:
    """Every place of a proof whose value the root commits to (por-v2: or the announced value): (path
    to the value, kind)."""
    places = [(("nonce",), "hex"), (("user_id",), "text"), (("position",), "int"), (("period",), "period")]
    places += [(("balances", i), "amount") for i in range(len(proof["balances"]))]
    for level, node in enumerate(proof["path"]):
        places.append((("path", level, "hash"), "hex"))
        places += [(("path", level, "sums", i), "amount") for i in range(len(node["sums"]))]
    places += [(("root", "hash"), "hex")] + [(("root", "sums", i), "amount") for i in range(len(proof["root"]["sums"]))]
    if proof["version"] == "por-v2":  # the labels, decimals, shape and the announced value itself
        for i in range(len(proof["assets"])):
            places += [(("assets", i, "symbol"), "text"), (("assets", i, "decimals"), "int")]
        places += [(("tree", "bucket_bits"), "int"), (("tree", "bucket_height"), "int"), (("commitment",), "hex")]
    return places


def mutate(value, kind: str, choice: int):
    if kind == "hex":
        i = choice % len(value)
        digit = int(value[i], 16) ^ (1 << (choice // len(value) % 4))
        return value[:i] + format(digit, "x") + value[i + 1:]
    if kind == "amount":
        n = int(value)
        return str(n + 1) if choice % 2 or n == 0 else str(n - 1)
    if kind == "int":
        return value ^ (1 << (choice % 8))
    if kind == "period":
        return "2025-01" if value != "2025-01" else "2025-02"
    return value + "x" if choice % 2 else value[:-1] + chr(ord(value[-1]) ^ 1)


def put(doc, where, value):
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value


def get(doc, where):
    for key in where:
        doc = doc[key]
    return doc


_CANONICAL = re.compile(r"0|[1-9][0-9]*")
_HEX32 = re.compile(r"[0-9a-f]{64}")


def kind_of(where: tuple) -> str:
    """The kind ``committed_fields`` gives the place ``where``."""
    if where[0] in ("nonce", "commitment") or where[-1] == "hash":
        return "hex"
    if where[0] in ("position", "tree") or where[-1] == "decimals":
        return "int"
    return "other"


def _is_int(value) -> bool:
    """An integer field as the protocol reads it (JavaScript's exact integers, no booleans)."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= (1 << 53) - 1


def _amount(value) -> int | None:
    """The amount a proof field spells, or None when it is not a canonical amount below 2^128."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value) and int(value) < U128_LIMIT:
        return int(value)
    return None


def _overflow_level(proof) -> int | None:
    """The level at which folding the proof's path reaches 2^128 (None: it never does)."""
    sums = [int(b) for b in proof["balances"]]
    for level, node in enumerate(proof["path"]):
        sums = [a + int(b) for a, b in zip(sums, node["sums"], strict=True)]
        if any(s >= U128_LIMIT for s in sums):
            return level
    return None


def expected_failure(before, after, where, manifest) -> tuple[str, str, int | None]:
    """``(name, check, level)``: the named mutation of ``schemas/vectors/*/mutations.json`` that changing
    the committed place ``where`` of the valid proof ``before`` into ``after`` is an instance of, and
    the check (and level) it names, by the rules ``schemas/generate_vectors.py`` writes them with."""
    field = where[0]
    h = manifest["tree"]["bucket_height"]
    k = manifest["tree"]["bucket_bits"]
    position = before["position"]

    def moved() -> bool:  # the user key's bucket is no longer the one the position lies in
        uk = v1.user_key(bytes.fromhex(after["nonce"]), after["period"], after["user_id"])
        return shape.bucket_of(uk, k) != position >> h

    value = get(after, where)
    if kind_of(where) == "hex" and not (isinstance(value, str) and _HEX32.fullmatch(value)):
        return "not-hex", "format", where[1] if field == "path" else None
    if kind_of(where) == "int" and not _is_int(value):
        return "not-an-integer", "format", None
    if field == "period":
        return "wrong-period", "period", None
    if field == "user_id":
        if not isinstance(value, str) or user_id_problem(value) is not None:
            return "user-id-not-an-id", "format", None
        return "other-user-id", "position" if moved() else "root-hash", None
    if field == "nonce":
        return "wrong-nonce", "position" if moved() else "root-hash", None
    if field == "position":
        bit = (position ^ after["position"]).bit_length() - 1
        outside = after["position"] >= 1 << len(before["path"])
        return f"position-bit-{bit}", "position" if outside or bit >= h else "root-hash", None
    if field == "balances" or (field == "path" and where[2] == "sums"):
        level = where[1] if field == "path" else None
        name = "balance-changed" if field == "balances" else f"path[{where[1]}].sums[{where[3]}]-changed"
        if _amount(get(after, where)) is None:
            return name.replace("changed", "2^128"), "number", level
        overflow = _overflow_level(after)
        return (name, "root-hash", None) if overflow is None else (f"{name}-overflows", "sum-overflow", overflow)
    if field == "path":
        return f"path[{where[1]}].hash-bit-flip", "root-hash", None
    if field == "root":
        if where[1] == "sums" and _amount(get(after, where)) is None:
            return "proof-root-sums-2^128", "number", None
        return "proof-root-field-differs", "proof-root", None
    if field == "commitment":
        return "proof-commitment-differs", "proof-root", None
    if field == "assets":
        symbols = [a["symbol"] for a in after["assets"]]
        if where[2] == "symbol" and not (isinstance(value, str) and 1 <= len(value.encode("utf-8", "surrogatepass")) <= 32):
            return "assets-malformed", "format", None
        ordered = symbols == sorted(symbols, key=lambda s: s.encode("utf-8", "surrogatepass")) and len(set(symbols)) == len(symbols)
        if not ordered or not 0 <= after["assets"][where[1]]["decimals"] <= v2.MAX_DECIMALS:
            return "assets-malformed", "format", None
        return ("label-renamed" if where[2] == "symbol" else "decimals-changed"), "assets", None
    if field == "tree":
        k2, h2 = after["tree"]["bucket_bits"], after["tree"]["bucket_height"]
        inside = 0 <= k2 <= shape.MAX_BUCKET_BITS and 0 <= h2 <= shape.MAX_HEIGHT and k2 + h2 <= shape.MAX_HEIGHT
        return ("shape-changed", "shape", None) if inside else ("shape-malformed", "format", None)
    raise AssertionError(f"no rule for a change at {where}")


SHAPES = ("basic", "m22", "near-u128-limit", "empty-buckets")
VERSIONS = ("por-v1", "por-v2")


@settings(max_examples=400, deadline=None)
@given(version=st.sampled_from(VERSIONS), shape_name=st.sampled_from(SHAPES), pick=st.integers(0, 10**6),
       choice=st.integers(0, 10**6))
def test_every_change_to_a_committed_byte_fails_its_named_check(version, shape_name, pick, choice):
    """Not just any VerificationError: the check (and level) the named mutation of that kind names."""
    manifest, proofs, _ = _vector(shape_name, version)
    before = proofs[pick % len(proofs)]
    proof = copy.deepcopy(before)
    verify_proof(proof, manifest=manifest)  # the untouched proof is valid
    where, kind = committed_fields(proof)[choice % len(committed_fields(proof))]
    put(proof, where, mutate(get(proof, where), kind, pick))
    name, check, level = expected_failure(before, proof, where, manifest)
    with pytest.raises(VerificationError) as info:
        verify_proof(proof, manifest=manifest)
    assert (info.value.check, info.value.level) == (check, level), f"{name} at {where}: {info.value}"


def _one_change(proof, mutated) -> tuple | None:
    """The one committed place where ``mutated`` differs from ``proof`` (None: not exactly one)."""
    if set(proof) != set(mutated) or len(mutated.get("path", ())) != len(proof["path"]):
        return None
    if any(len(mutated.get(f) or ()) != len(proof[f]) for f in ("balances", "assets")) or \
            any(not isinstance(n, dict) or len(n.get("sums", ())) != len(proof["balances"])
                for n in [*mutated["path"], mutated["root"]]):
        return None
    places = {where for where, _ in committed_fields(proof)}
    try:
        differ = [where for where in places if get(proof, where) != get(mutated, where)]
    except (KeyError, IndexError, TypeError):
        return None
    rest = copy.deepcopy(mutated)
    for where in differ:
        put(rest, where, get(proof, where))
    return differ[0] if len(differ) == 1 and rest == proof else None


NAMED = [(v, s) for v in VERSIONS for s in (*SHAPES, "one-user-k0")]


@pytest.mark.parametrize("version, shape_name", NAMED)
def test_the_fuzzing_rules_give_every_named_mutation_its_check(version, shape_name):
    """Every committed mutation fails the check it names (and its level, where it names one); each that
    changes one committed place is an instance of the rules above, which predict that same check."""
    manifest, proofs, mutations = _vector(shape_name, version)
    covered = 0
    for mutation in mutations:
        named = mutation["expected"]
        with pytest.raises(VerificationError) as info:
            verify_proof(mutation["proof"], manifest=manifest)
        assert info.value.check == named["check"], f"{mutation['name']}: {info.value}"
        if named["level"] is not None:
            assert info.value.level == named["level"], f"{mutation['name']}: {info.value}"
        found = [(p, w) for p in proofs if (w := _one_change(p, mutation["proof"])) is not None]
        if not found:  # several places changed (sum splitting, a forged root, a path cut short): named only
            continue
        proof, where = found[0]
        _, check, level = expected_failure(proof, mutation["proof"], where, manifest)
        assert (check, level) == (named["check"], named["level"]), f"{mutation['name']} at {where}"
        covered += 1
    assert covered >= 10, f"only {covered} named mutations change one committed place"


def test_refolding_a_top_tree_finds_each_kind_of_tampering():
    """``history verify``'s re-fold of a published top tree (pure: no archive needed)."""
    from pipeline.formats.manifest import top_tree_json
    from pipeline.formats.nodes import node_json
    from pipeline.publication.history import refold_top_tree

    k_pad = SecretKey(bytes(range(32)))
    m, k, h = 2, 2, 3
    hashes = np.frombuffer(bytes(range(128)), np.uint8).reshape(4, 32).copy()
    sums = sums_from_ints([[5, 1], [0, 0], [7, 2], [1, 1]], m)
    empty = np.array([False, True, False, False])
    hashes[1] = np.frombuffer(v1.padding_hash(k_pad, h, 1), np.uint8)
    levels = build_top(hashes, sums, empty, h, lambda level, index: v1.padding_hash(k_pad, level, index))
    top = top_tree_json("2026-11", k, h, levels)
    manifest = {"assets": [{"symbol": "A", "decimals": 0}, {"symbol": "B", "decimals": 0}],
                "tree": {"bucket_bits": k, "bucket_height": h, "height": k + h},
                "root": node_json(levels[-1][0][0].tobytes(), levels[-1][1][0])}
    assert refold_top_tree(top, manifest) == []
    bad_sum = copy.deepcopy(top)
    bad_sum["levels"][1][0]["sums"][0] = "6"
    assert "its sums are not its children's sums" in refold_top_tree(bad_sum, manifest)[0]
    bad_hash = copy.deepcopy(top)
    bad_hash["levels"][1][1]["hash"] = "00" * 32
    assert "is not the hash of its children" in refold_top_tree(bad_hash, manifest)[0]
    other_root = copy.deepcopy(manifest)
    other_root["root"]["sums"] = ["13", "5"]
    assert "the manifest's root" in refold_top_tree(top, other_root)[0]


def test_every_error_crosses_a_process_boundary_with_its_fields():
    """Errors raised on a Dask worker are pickled to the client: each keeps its class, fields and text."""
    import pickle

    from pipeline import errors

    samples = [
        errors.InputError("is not YYYY-MM", parameter="period", value="'2026-13'",
                          remedy=errors.Remedy("force", "to replace it")),
        errors.BadInputData(errors.Problem("negative amount -5", "p.parquet", "BTC", 3)),
        errors.BadValue(7, "null amount"),
        errors.BundleError("b: missing x"),
        errors.AuditError("audit FAILED", ["one", "two"]),
        errors.VerificationError("root-sums", "differ", 2, expected=[1], got=[2]),
        errors.SumOverflow(1, 4, 1 << 128),
        errors.BuildInterrupted("out", ValueError("boom")),
        errors.PublishError("2026-11", "build", "arch", ConnectionResetError(104, "reset")),
        errors.SetupError("the browser BLAKE3 module", "npm ci exited 1", "run it again online"),
    ]
    for error in samples:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and back.__dict__.keys() == error.__dict__.keys()
        assert str(back) == str(error) and back.diagnostics(lambda p: "--" + p) == error.diagnostics(lambda p: "--" + p)
        assert errors.exit_code(back) == errors.exit_code(error)
    assert pickle.loads(pickle.dumps(samples[1])).problem.row == 3
