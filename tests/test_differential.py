"""Verifiers agree (security finding 3): thousands of mutated proofs and manifests, byte-level and
structural, through the Python verifier and the Node module: the same verdict and the same failing
check every time, and neither ever crashes."""

from __future__ import annotations

import base64
import json
import os
import random

import pytest

from pipeline.errors import VerificationError
from pipeline.protocol.jsonread import parse_json
from pipeline.protocol.verify import verify_proof
from tests.support.node import node

pytestmark = pytest.mark.e2e
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "schemas", "vectors")
CASES = int(os.environ.get("POR_DIFFERENTIAL_CASES", "4000"))


def python_verdict(proof: bytes, manifest: bytes | None, announced: str | None, user: str | None) -> dict:
    try:
        p = parse_json(proof, "proof")
        m = parse_json(manifest, "manifest") if manifest is not None else None
        verify_proof(p, manifest=m, root_hash=announced, user_id=user)
    except VerificationError as exc:
        return {"valid": False, "check": exc.check}
    return {"valid": True}


TEXT_TRICKS = [
    lambda t: "\ufeff" + t,                                         # byte-order mark
    lambda t: t + "\n{}",                                           # trailing garbage
    lambda t: t.replace('"position":', '"position": 1, "position":', 1),   # duplicate key
    lambda t: t.replace('{"', '{"version":"por-v0","', 1),         # duplicate version
    lambda t: _first_int(t, lambda n: f"{n}.0"),                    # fraction where an integer belongs
    lambda t: _first_int(t, lambda n: f"{n}e0"),                    # exponent
    lambda t: _first_int(t, lambda n: str(1 << 60)),                # beyond the exact integer range
    lambda t: _first_int(t, lambda n: "-" + n),
    lambda t: t.replace('"sums":["', '"sums":["\\n', 1),            # newline inside an amount
    lambda t: t.replace('"],', '\\n"],', 1),                        # trailing newline inside an amount
    lambda t: t.replace('"nonce":"', '"nonce":" ', 1),
    lambda t: t.replace('"user_id":"', '"user_id":"\\ud800', 1),    # lone surrogate
    lambda t: t.replace('"user_id":"', '"user_id":"\\udc00x', 1),
    lambda t: "[" * 40 + t + "]" * 40,                              # deep nesting
    lambda t: t.replace('"decimals":', '"decimals":1000000', 1),
    lambda t: t.replace('"decimals":', '"decimals":-', 1),
    lambda t: t.replace('"decimals":', '"decimals":9007199254740993', 1),
    lambda t: t.replace("true", "True"),
    lambda t: t.replace('"path":[', '"path":[NaN,', 1),
    lambda t: t.replace('"', "'", 2),
]


def _first_int(text: str, change) -> str:
    import re

    m = re.search(r'(?<=[:\[,])(\d+)(?=[,\]}])', text)
    return text if m is None else text[:m.start()] + change(m.group(1)) + text[m.end():]


def _structural(doc, rng: random.Random):
    """Replace, delete or retype one value somewhere in the document."""
    doc = json.loads(json.dumps(doc))
    holders = []

    def walk(node):
        if isinstance(node, dict):
            for k in node:
                holders.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                holders.append((node, i))
                walk(node[i])

    walk(doc)
    holder, key = rng.choice(holders)
    value = holder[key]
    choices = [None, True, 0, -1, 1 << 53, 39, "", "0", "01", " 1", "+1", "1\n", "x" * 70, [], {}, "ff" * 32,
               "FF" * 32, str(1 << 128), str((1 << 128) - 1)]
    if isinstance(value, str) and value:
        choices += [value[:-1], value + "0", value.upper()]
    if isinstance(value, int) and not isinstance(value, bool):
        choices += [value + 1, value ^ 1, str(value)]
    if isinstance(holder, dict) and rng.random() < 0.2:
        del holder[key]
    else:
        holder[key] = rng.choice(choices)
    return doc


def _cases(rng: random.Random):
    sets = []
    for version in ("por-v1", "por-v2"):
        for shape in sorted(os.listdir(os.path.join(VECTORS, version))):
            d = os.path.join(VECTORS, version, shape)
            if os.path.isdir(d):
                manifest = json.load(open(os.path.join(d, "manifest.json")))
                for proof in json.load(open(os.path.join(d, "proofs.json"))):
                    sets.append((version, proof, manifest))
    for i in range(CASES):
        version, proof, manifest = rng.choice(sets)
        announced = None
        if rng.random() < 0.25:
            announced = manifest.get("commitment", manifest["root"]["hash"])
        user = rng.choice([None, None, proof["user_id"], proof["user_id"] + "x"])
        target = rng.choice(["proof", "proof", "manifest"]) if announced is None else "proof"
        doc = proof if target == "proof" else manifest
        kind = rng.random()
        if kind < 0.35:
            text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
            raw = rng.choice(TEXT_TRICKS)(text).encode("utf-8", "surrogatepass")
        elif kind < 0.75:
            raw = json.dumps(_structural(doc, rng), separators=(",", ":")).encode()
        else:
            raw = bytearray(json.dumps(doc, separators=(",", ":")).encode())
            for _ in range(rng.randint(1, 3)):
                op, at = rng.random(), rng.randrange(len(raw))
                if op < 0.5:
                    raw[at] ^= 1 << rng.randrange(8)
                elif op < 0.75:
                    del raw[at]
                else:
                    raw.insert(at, rng.choice([0x00, 0x0a, 0x22, 0x5c, 0x80, 0xc3, 0xff, 0x30]))
            raw = bytes(raw)
        proof_bytes = raw if target == "proof" else json.dumps(proof).encode()
        manifest_bytes = None if announced is not None else (raw if target == "manifest" else json.dumps(manifest).encode())
        yield {"id": i, "proof": proof_bytes, "manifest": manifest_bytes, "announced": announced, "user": user}


def test_python_and_node_give_the_same_verdict_and_check(tmp_path):
    cases = list(_cases(random.Random(20261122)))
    path = tmp_path / "cases.jsonl"
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps({**c, "proof": base64.b64encode(c["proof"]).decode(),
                                "manifest": None if c["manifest"] is None else base64.b64encode(c["manifest"]).decode()})
                    + "\n")
    proc = node(os.path.join(ROOT, "tests", "js", "differential.mjs"), str(path), timeout=600)
    assert proc.returncode == 0, proc.stderr
    js = {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    disagreements, checks = [], {}
    for c in cases:
        py = python_verdict(c["proof"], c["manifest"], c["announced"], c["user"])
        node_verdict = {k: v for k, v in js[c["id"]].items() if k in ("valid", "check")}
        if py != node_verdict:
            disagreements.append((c["id"], py, js[c["id"]], c["proof"][:200]))
        checks[py.get("check", "VALID")] = checks.get(py.get("check", "VALID"), 0) + 1
    assert not disagreements, f"{len(disagreements)} of {len(cases)} differ; first: {disagreements[:3]}"
    assert len(checks) >= 12, checks  # the mutations reach many different checks
    assert checks.get("VALID", 0) < len(cases) // 4


def _named_cases():
    """Each reproduction of the audit's findings 3 and 4, with the check both verifiers must report."""
    d = os.path.join(VECTORS, "por-v1", "basic")
    manifest_text = open(os.path.join(d, "manifest.json")).read()
    proof = json.load(open(os.path.join(d, "proofs.json")))[0]
    text = json.dumps(proof, separators=(",", ":"))
    position = f'"position":{proof["position"]}'
    amount = proof["balances"][0]
    manifest = json.loads(manifest_text)

    def with_decimals(value: str) -> bytes:
        return manifest_text.replace('"decimals":8', f'"decimals":{value}', 1).encode()

    return [
        ("duplicate key", text.replace(position, f'"position":0,{position}').encode(), None, "input"),
        ("integer written 2675.0", text.replace(position, position + ".0").encode(), None, "input"),
        ("integer written 2.675e3", text.replace(position, position + "e0").encode(), None, "input"),
        ("byte-order mark", b"\xef\xbb\xbf" + text.encode(), None, "input"),
        ("newline inside an amount", text.replace(f'"{amount}"', f'"{amount}\\n"', 1).encode(), None, "number"),
        ("newline inside a hash", text.replace(proof["nonce"], proof["nonce"] + "\\n").encode(), None, "format"),
        ("lone surrogate in user_id", text.replace('"user_id":"', '"user_id":"\\ud800', 1).encode(), None, "input"),
        ("invalid UTF-8 in user_id", text.replace('"user_id":"', '"user_id":"\xff', 1).encode("latin-1"), None, "input"),
        ("nested 5000 deep", ("[" * 5000 + "]" * 5000).encode(), None, "input"),
        ("decimals 10^8", text.encode(), with_decimals("100000000"), "manifest"),
        ("decimals 2^53", text.encode(), with_decimals(str(1 << 53)), "manifest"),
        ("decimals negative", text.encode(), with_decimals("-1"), "manifest"),
        ("a manifest over 16 MiB", text.encode(), b" " * (17 << 20) + manifest_text.encode(), "input"),
    ], manifest


def test_each_audit_reproduction_fails_the_same_named_check_in_python_and_node(tmp_path):
    cases, manifest = _named_cases()
    path = tmp_path / "named.jsonl"
    with open(path, "w") as f:
        for i, (_, proof, man, _) in enumerate(cases):
            man = man if man is not None else json.dumps(manifest).encode()
            f.write(json.dumps({"id": i, "proof": base64.b64encode(proof).decode(),
                                "manifest": base64.b64encode(man).decode(), "announced": None, "user": None}) + "\n")
    proc = node(os.path.join(ROOT, "tests", "js", "differential.mjs"), str(path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    js = {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    for i, (name, proof, man, check) in enumerate(cases):
        man = man if man is not None else json.dumps(manifest).encode()
        assert python_verdict(proof, man, None, None) == {"valid": False, "check": check}, name
        assert (js[i]["valid"], js[i]["check"]) == (False, check), (name, js[i])
