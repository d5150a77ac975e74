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


# ------------------------------------------------------------------------------------------------------
# Issue 20, items 10 and 11 at the command lines: `por verify`, `python -m pipeline.verify`, the Node CLI.

POR = os.path.join(os.path.dirname(sys.executable), "por")
V2_BASIC = os.path.join(ROOT, "schemas", "vectors", "por-v2", "basic")


def three_clis(proof: str, manifest: str | None = None, root: str | None = None, user: str | None = None,
               public_key: str | None = None) -> dict[str, subprocess.CompletedProcess]:
    """The same verification by the three command lines."""
    py_args = [proof] + (["--manifest", manifest] if manifest is not None else []) + (
        ["--root", root] if root is not None else []) + (["--user", user] if user is not None else [])
    node_args = [proof] + ([manifest] if manifest is not None else []) + (
        ["--root", root] if root is not None else []) + (["--user", user] if user is not None else [])
    key = ["--public-key", public_key] if public_key is not None else []
    out = {"por verify": subprocess.run([POR, "verify", *py_args, *key], capture_output=True, text=True, cwd=ROOT),
           "node": node(os.path.join(WEB, "verify-cli.mjs"), *node_args, *key)}
    if public_key is None:
        out["python -m pipeline.verify"] = subprocess.run([sys.executable, "-m", "pipeline.verify", *py_args],
                                                          capture_output=True, text=True, cwd=ROOT)
    return out


def invalid_line(proc: subprocess.CompletedProcess) -> str:
    """The ``INVALID proof: …`` line (por verify puts ``error: `` before it)."""
    [line] = [ln for ln in proc.stderr.splitlines() if "INVALID proof: " in ln]
    return line[line.index("INVALID proof: "):]


def test_unreadable_content_is_invalid_input_in_every_cli(tmp_path):
    """Content that is read but is not a JSON document of the strict reader: ``INVALID proof: input:``,
    exit 1, in all three command lines, for the proof and for the manifest; never ``cannot read``."""
    manifest = open(os.path.join(V2_BASIC, "manifest.json"), "rb").read()
    proof = json.dumps(json.load(open(os.path.join(V2_BASIC, "proofs.json")))[0]).encode()
    contents = {"bom": b"\xef\xbb\xbf" + proof, "not UTF-8": proof.replace(b'"alice"', b'"al\xffice"'),
                "not JSON": b"proof, please", "empty": b"", "trailing data": proof + b" {}",
                "41-digit integer": proof.replace(b'"position": ', b'"position": 1' + b"0" * 40 + b', "x": ')}
    for name, raw in contents.items():
        for target in ("proof", "manifest"):
            bad = tmp_path / f"{target}-{name.replace(' ', '_')}.json"
            bad.write_bytes(raw if target == "proof" else raw.replace(proof, manifest))
            good = tmp_path / f"{target}-good.json"
            good.write_bytes(proof if target == "manifest" else manifest)
            p, m = (str(bad), str(good)) if target == "proof" else (str(good), str(bad))
            for cli, proc in three_clis(p, m).items():
                assert proc.returncode == 1, (cli, name, target, proc.stderr)
                assert invalid_line(proc).startswith(f"INVALID proof: input: {target} {bad}: not valid JSON"), (
                    cli, name, target, proc.stderr)
                assert "cannot read" not in proc.stderr


def test_empty_option_values_are_usage_errors_in_every_cli(tmp_path):
    """``--root ""`` (and an empty manifest path or account id) exits 2 in all three command lines."""
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(json.load(open(os.path.join(V2_BASIC, "proofs.json")))[0]))
    manifest = os.path.join(V2_BASIC, "manifest.json")
    for kwargs in ({"root": ""}, {"manifest": ""}, {"manifest": manifest, "user": ""}, {"root": "", "user": "alice"}):
        for cli, proc in three_clis(str(proof), **kwargs).items():
            assert proc.returncode == 2, (cli, kwargs, proc.stdout, proc.stderr)
            assert "INVALID" not in proc.stderr


def test_ids_are_printed_the_same_way_by_every_cli(tmp_path):
    """Item 10: one escaping rule (schemas/por-v2.md, "User ids") in the three command lines: on VALID, in
    an id that breaks the rule, and in an entered id that differs."""
    from tests.test_differential import single_leaf

    proof, manifest = single_leaf("por-v2", "jos\u00e9 O'Brien")
    p, m = tmp_path / "proof.json", tmp_path / "manifest.json"
    p.write_text(json.dumps(proof), encoding="utf-8")
    m.write_text(json.dumps(manifest), encoding="utf-8")
    for cli, proc in three_clis(str(p), str(m), user="jos\u00e9 O'Brien").items():
        assert proc.returncode == 0, (cli, proc.stderr)
        assert proc.stdout.splitlines()[0] == "VALID proof for user 'jos\\u{00E9} O\\'Brien' in period 2026-11", cli
    lines = {cli: invalid_line(proc) for cli, proc in three_clis(str(p), str(m), user="jose\u0301").items()}
    assert set(lines.values()) == {"INVALID proof: user-id: the account id given, 'jose\\u{0301}', is not a user id: "
                                   "user_id is not in Unicode normalisation form NFC"}, lines
    lines = {cli: invalid_line(proc) for cli, proc in three_clis(str(p), str(m), user="jos\u00e9").items()}
    assert set(lines.values()) == {"INVALID proof: user-id: the proof is for user 'jos\\u{00E9} O\\'Brien', not for "
                                   "'jos\\u{00E9}'"}, lines
    for uid, reason in (("ali\u200bce", "an invisible format character U+200B"),
                        ("\u202ealice", "an invisible format character U+202E"), ("alice\x1b", "a control character U+001B")):
        proof, manifest = single_leaf("por-v1", uid)
        p.write_text(json.dumps(proof), encoding="utf-8")
        m.write_text(json.dumps(manifest), encoding="utf-8")
        shown = "'" + "".join(c if " " <= c <= "~" else f"\\u{{{ord(c):04X}}}" for c in uid) + "'"
        lines = {cli: invalid_line(proc) for cli, proc in three_clis(str(p), str(m)).items()}
        assert set(lines.values()) == {f"INVALID proof: format: user_id contains {reason}: {shown}"}, lines
        assert all(proc.returncode == 1 for proc in three_clis(str(p), str(m)).values())


def test_the_signature_is_checked_after_both_documents_are_read(tmp_path):
    """Item 11, check order at the command lines: the proof and the manifest are read before the signature
    is checked (a broken proof file is ``input`` even beside a bad signature); the signature's hex is
    strict in both (an upper-case copy of a valid signature is ``signature``)."""
    from tests.test_differential import _signed_manifest

    proof, manifest, signature, pem = _signed_manifest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "key.pem").write_text(pem)
    good, bom = tmp_path / "proof.json", tmp_path / "bom.json"
    good.write_text(json.dumps(proof))
    bom.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    m, key = str(tmp_path / "manifest.json"), str(tmp_path / "key.pem")
    (tmp_path / "signature.json").write_text(json.dumps(signature))
    for cli, proc in three_clis(str(good), m, public_key=key).items():
        assert proc.returncode == 0 and "manifest signature: valid" in proc.stdout, (cli, proc.stderr)
    for spelling in (signature["signature"].upper(), signature["signature"] + "\n", " " + signature["signature"]):
        (tmp_path / "signature.json").write_text(json.dumps({**signature, "signature": spelling}))
        for cli, proc in three_clis(str(good), m, public_key=key).items():
            assert proc.returncode == 1 and invalid_line(proc).startswith("INVALID proof: signature"), (cli, proc.stderr)
        for cli, proc in three_clis(str(bom), m, public_key=key).items():
            assert proc.returncode == 1 and invalid_line(proc).startswith("INVALID proof: input: proof"), (cli, proc.stderr)


def test_the_strict_ed25519_rule_is_python_s_in_node():
    """verify.mjs's strict Ed25519 (schemas/reserves.md, "Ed25519"): its list of the eight small-order encodings
    is the set Python computes (``ownership.ed25519.SMALL_ORDER``), and at the edges of each rule (y = p - 1 and
    y = p, the sign bit on y = ±1 and on another y, S = L - 1 and S = L) it gives Python's verdict."""
    from pipeline.ownership import ed25519
    from pipeline.ownership.chains import Refused

    p, order = 2**255 - 19, 2**252 + 27742317777372353535851937790883648493
    # RFC 8032's test 1 public key: a canonical point of large order, used as A and as R
    real = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")

    def enc(y: int, sign: int = 0) -> bytes:
        return (y | sign << 255).to_bytes(32, "little")

    points = {"real": real, "y = p - 1": enc(p - 1), "y = p": enc(p), "y = p + 1": enc(p + 1),
              "y = 2^255 - 1": enc(2**255 - 1), "identity, sign bit": enc(1, 1), "y = -1, sign bit": enc(p - 1, 1),
              "y = 0, sign bit": enc(0, 1),
              "real, sign bit flipped": bytes(real[:31]) + bytes([real[31] ^ 0x80])}
    scalars = {"0": 0, "L - 1": order - 1, "L": order, "L + 1": order + 1, "2^256 - 1": 2**256 - 1}
    cases = []
    for pname, point in points.items():
        for sname, s in scalars.items():
            for role in ("A", "R"):
                a, r = (point, real) if role == "A" else (real, point)
                cases.append({"name": f"{role} {pname}, S {sname}", "a": a.hex(),
                              "sig": (r + s.to_bytes(32, "little")).hex()})
    for point in sorted(ed25519.SMALL_ORDER):
        cases.append({"name": f"A small-order {point.hex()}", "a": point.hex(), "sig": (real + bytes(32)).hex()})
        cases.append({"name": f"R small-order {point.hex()}", "a": real.hex(), "sig": (point + bytes(32)).hex()})
    module = json.dumps("file://" + os.path.join(WEB, "verify.mjs"))
    script = f"""
        import {{ SMALL_ORDER_POINTS, checkStrictEd25519, hexToBytes }} from {module};
        const cases = {json.dumps(cases)};
        const out = {{ points: SMALL_ORDER_POINTS, verdicts: {{}} }};
        for (const c of cases) {{
          try {{ checkStrictEd25519(hexToBytes(c.a), hexToBytes(c.sig)); out.verdicts[c.name] = null; }}
          catch (e) {{ out.verdicts[c.name] = [e.check, e.message]; }}
        }}
        console.log(JSON.stringify(out));
    """
    proc = node("--input-type=module", "-e", script)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["points"] == sorted(q.hex() for q in ed25519.SMALL_ORDER)
    refused = 0
    for c in cases:
        try:
            ed25519.check_strict(bytes.fromhex(c["a"]), bytes.fromhex(c["sig"]))
            want = None
        except Refused as exc:
            want = ["signature", f"signature: {exc}"]
            refused += 1
        assert out["verdicts"][c["name"]] == want, c["name"]
    assert 0 < refused < len(cases)
