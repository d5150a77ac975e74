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


# ------------------------------------------------------------------------------------------------------
# Issue 20, items 10 to 13: the page is a third verifier in every comparison; user ids, huge integers,
# signature hex, several faults at once, and the bytes the page's file input reads.

MAX_INTEGER_DIGITS = 40  # schemas/por-v2.md, "Reading documents"
ZWSP, RLO = "\u200b", "\u202e"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The offline verifier page, opened from file:// in headless Chromium."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from typer.testing import CliRunner

    from pipeline.cli import app
    from tests.support.browser import chromium_driver
    from tests.support.install import required

    driver = required("Chromium (headless browser)",
                      lambda: chromium_driver(str(tmp_path_factory.mktemp("chromium-profile"))))
    path = tmp_path_factory.mktemp("page") / "verifier.html"
    result = CliRunner().invoke(app, ["verifier-page", str(path)])
    assert result.exit_code == 0, result.output
    driver.get(f"file://{path}")
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    driver.set_script_timeout(600)
    yield driver
    driver.quit()


def page_verdicts(driver, cases: list[dict]) -> dict[int, dict]:
    """The page's own verification (``window.porVerify``: what its Verify button runs, on the bytes its
    file inputs read) on each case; ``user`` None is an empty account-id field."""
    payload = [{"id": c["id"], "proof": base64.b64encode(c["proof"]).decode(),
                "manifest": base64.b64encode(c["manifest"]).decode(), "user": c["user"] or "",
                "signed": c.get("signed")} for c in cases]
    out = driver.execute_async_script("""
        const [cases, done] = arguments;
        const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        (async () => {
          const out = {};
          if (typeof window.porVerify !== 'function') return {error: 'the page has no porVerify'};
          for (const c of cases) {
            try {
              const r = await window.porVerify(bytes(c.proof), bytes(c.manifest), c.user, c.signed ?? undefined);
              out[c.id] = {valid: r.valid, check: r.check, message: r.message};
            } catch (e) { out[c.id] = {valid: false, check: 'crash:' + e}; }
          }
          return out;
        })().then(done, (e) => done({error: String(e)}));
    """, payload)
    assert "error" not in out, out
    return {int(k): v for k, v in out.items()}


def node_verdicts(tmp_path, cases: list[dict], name: str = "cases.jsonl") -> dict[int, dict]:
    path = tmp_path / name
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps({**c, "proof": base64.b64encode(c["proof"]).decode(),
                                "manifest": None if c["manifest"] is None else base64.b64encode(c["manifest"]).decode()})
                    + "\n")
    proc = node(os.path.join(ROOT, "tests", "js", "differential.mjs"), str(path), timeout=600)
    assert proc.returncode == 0, proc.stderr
    return {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}


def python_verdict_signed(c: dict) -> dict:
    """As ``python_verdict``, with the manifest's signature checked after both documents are read (the
    order of ``por verify``, the Node CLI and the page)."""
    if c.get("signed") is None:
        return python_verdict(c["proof"], c["manifest"], c["announced"], c["user"])
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from pipeline.publication.signing import verify_manifest_signature

    try:
        p = parse_json(c["proof"], "proof")
        m = parse_json(c["manifest"], "manifest")
        verify_manifest_signature(load_pem_public_key(c["signed"]["public_key"].encode()), m,
                                  c["signed"]["signature"], "signature")
        verify_proof(p, manifest=m, root_hash=None, user_id=c["user"])
    except VerificationError as exc:
        return {"valid": False, "check": exc.check}
    return {"valid": True}


def three_way(tmp_path, page, cases: list[dict]) -> dict[int, dict]:
    """Python, Node and the page on every case: the same verdict and the same first failing check. Returns
    the Python verdicts by case id."""
    js = node_verdicts(tmp_path, cases)
    in_page = page_verdicts(page, [c for c in cases if c["manifest"] is not None])
    disagreements, py = [], {}
    for c in cases:
        py[c["id"]] = want = python_verdict_signed(c)
        got_node = {k: v for k, v in js[c["id"]].items() if k in ("valid", "check")}
        if got_node != want:
            disagreements.append(("node", c.get("name", c["id"]), want, js[c["id"]]))
        if c["manifest"] is not None:
            got_page = {k: v for k, v in in_page[c["id"]].items() if k == "valid" or (k == "check" and v is not None)}
            if got_page != want:
                disagreements.append(("page", c.get("name", c["id"]), want, in_page[c["id"]]))
    assert not disagreements, f"{len(disagreements)} disagreements of {len(cases)} cases; first: {disagreements[:4]}"
    return py


def single_leaf(version: str, user_id: str) -> tuple[dict, dict]:
    """A valid one-leaf tree (k = h = 0) for any user id the hash accepts: the proof and its manifest,
    so that the user-id rule is the only thing that can refuse it."""
    from pipeline.protocol import v1, v2

    period, nonce, balances = "2026-11", bytes(range(32)), [150000000, 7]
    assets = [("BTC", 8), ("ETH", 18)]
    uk = v1.user_key(nonce, period, user_id)
    root = v1.leaf_hash(uk, balances)
    root_doc = {"hash": root.hex(), "sums": [str(b) for b in balances]}
    manifest = {"version": version, "period": period, "assets": [{"symbol": s, "decimals": d} for s, d in assets],
                "tree": {"bucket_bits": 0, "bucket_height": 0, "height": 0}, "root": root_doc}
    proof = {"version": version, "period": period, "user_id": user_id, "nonce": nonce.hex(),
             "balances": [str(b) for b in balances], "position": 0, "path": [], "root": root_doc}
    if version == "por-v2":
        c = v2.commitment(period, assets, 0, 0, root, balances).hex()
        manifest["commitment"] = proof["commitment"] = c
        proof["assets"] = manifest["assets"]
        proof["tree"] = {"bucket_bits": 0, "bucket_height": 0}
    else:
        proof["assets"] = [s for s, _ in assets]
    return proof, manifest


def dumps(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


VALID_IDS = ["alice", "jos\u00e9", "a" * 256, "\u00e9" * 128, "\u65e5\u672c", "\U0001f600", "O'Brien", "back\\slash"]
INVALID_IDS = {
    "ZWSP": f"ali{ZWSP}ce", "RLO": f"{RLO}ecila", "NFD e+U+0301": "e\u0301", "NFD jose\u0301": "jose\u0301",
    "NFD A+ring": "A\u030a", "Angstrom sign (not NFC)": "\u212b", "257 bytes": "a" * 257,
    "257 bytes, two-byte characters": "\u00e9" * 128 + "a", "BEL": "alice\x07", "US": "alice\x1f", "DEL": "alice\x7f",
    "NEL (C1)": "alice\x85", "BOM inside": "\ufeffalice", "LRI": "alice\u2066", "soft hyphen": "a\u00adb",
    "word joiner": "a\u2060b", "Egyptian format control (Cf since Unicode 15)": "a\U00013439", "NUL": "alice\x00", "empty": "", "newline": "alice\n", "tab": "al\tice",
}


def _unicode_id_cases() -> list[dict]:
    cases = []
    for version in ("por-v1", "por-v2"):
        for expect, ids in (("VALID", {i: i for i in VALID_IDS}), ("format", INVALID_IDS)):
            for name, uid in ids.items():
                proof, manifest = single_leaf(version, uid)
                for user in (None, uid):
                    cases.append({"name": f"{version} id {name!r} user {user is not None}", "expect": expect,
                                  "proof": dumps(proof), "manifest": dumps(manifest), "announced": None, "user": user})
                if version == "por-v2":
                    cases.append({"name": f"{version} id {name!r} announced", "expect": expect, "proof": dumps(proof),
                                  "manifest": None, "announced": manifest["commitment"], "user": None})
        # a valid proof, and the account id entered breaks the rule: the user-id check says so
        proof, manifest = single_leaf(version, "alice")
        for name, uid in INVALID_IDS.items():
            cases.append({"name": f"{version} entered id {name!r}", "expect": "user-id" if uid else "user-id",
                          "proof": dumps(proof), "manifest": dumps(manifest), "announced": None, "user": uid or None})
    return [c for c in cases if not (c["user"] is None and c["expect"] == "user-id")]


def test_unicode_ids_are_refused_alike_by_python_node_and_the_page(tmp_path, page):
    """Item 10: the protocol's user-id rule (NFC, no Cc/Cf, 1 to 256 bytes) in all three verifiers: an id
    with U+200B, U+202E or an NFD sequence is ``format``; an entered id that breaks it is ``user-id``."""
    cases = [{**c, "id": i} for i, c in enumerate(_unicode_id_cases())]
    py = three_way(tmp_path, page, cases)
    for c in cases:
        want = {"valid": True} if c["expect"] == "VALID" else {"valid": False, "check": c["expect"]}
        assert py[c["id"]] == want, c["name"]


def _numeric_holders(doc, prefix=""):
    """(path, holder, key) of every integer in a document."""
    if isinstance(doc, dict):
        items = list(doc.items())
    elif isinstance(doc, list):
        items = list(enumerate(doc))
    else:
        return []
    out = []
    for k, v in items:
        if isinstance(v, int) and not isinstance(v, bool):
            out.append((f"{prefix}/{k}", doc, k))
        else:
            out += _numeric_holders(v, f"{prefix}/{k}")
    return out


HUGE = {
    f"{MAX_INTEGER_DIGITS} digits": ("9" * MAX_INTEGER_DIGITS, False),
    f"-{MAX_INTEGER_DIGITS} digits": ("-" + "9" * MAX_INTEGER_DIGITS, False),
    f"{MAX_INTEGER_DIGITS + 1} digits": ("1" + "0" * MAX_INTEGER_DIGITS, True),
    f"-{MAX_INTEGER_DIGITS + 1} digits": ("-1" + "0" * MAX_INTEGER_DIGITS, True),
    "4300 digits": ("7" * 4300, True),
    "4301 digits": ("7" * 4301, True),
    "20000 digits": ("3" * 20000, True),
}


def _huge_integer_cases() -> list[dict]:
    cases = []
    for version in ("por-v1", "por-v2"):
        d = os.path.join(VECTORS, version, "basic")
        manifest = json.load(open(os.path.join(d, "manifest.json")))
        proof = json.load(open(os.path.join(d, "proofs.json")))[0]
        for target, doc in (("proof", proof), ("manifest", manifest)):
            for path, holder, key in _numeric_holders(doc):
                for label, (digits, over) in HUGE.items():
                    saved = holder[key]
                    holder[key] = "@@HUGE@@"
                    raw = json.dumps(doc).replace('"@@HUGE@@"', digits).encode()
                    holder[key] = saved
                    cases.append({"name": f"{version} {target}{path} = {label}", "over": over,
                                  "proof": raw if target == "proof" else dumps(proof),
                                  "manifest": raw if target == "manifest" else dumps(manifest),
                                  "announced": None, "user": None})
                    if version == "por-v2" and target == "proof":
                        cases.append({"name": f"{version} proof{path} = {label} announced", "over": over,
                                      "proof": raw, "manifest": None, "announced": manifest["commitment"], "user": None})
    return cases


def test_huge_integers_in_every_numeric_field_alike(tmp_path, page):
    """Item 11: one integer limit in both JSON readers (and the page): at most 40 digits, else ``input``;
    at the limit the field's own check refuses the value (it is beyond 2^53)."""
    cases = [{**c, "id": i} for i, c in enumerate(_huge_integer_cases())]
    assert len(cases) > 150
    py = three_way(tmp_path, page, cases)
    for c in cases:
        assert py[c["id"]]["valid"] is False, c["name"]
        assert (py[c["id"]]["check"] == "input") == c["over"], (c["name"], py[c["id"]])


def _signed_manifest():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pipeline.publication.signing import public_key_pem, sign_manifest

    d = os.path.join(VECTORS, "por-v2", "basic")
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    proof = json.load(open(os.path.join(d, "proofs.json")))[0]
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    return proof, manifest, sign_manifest(key, manifest), public_key_pem(key.public_key()).decode()


def signature_variants(sig: str) -> dict[str, tuple[object, str | None]]:
    """Spellings of one valid signature, and the check each must fail (None: valid)."""
    return {
        "as signed": (sig, None), "upper case": (sig.upper(), "signature"), "one upper-case digit": (
            sig[:-1] + sig[-1].upper() if sig[-1] in "abcdef" else sig[:-2] + "A" + sig[-1], "signature"),
        "leading space": (" " + sig, "signature"), "trailing space": (sig + " ", "signature"),
        "trailing newline": (sig + "\n", "signature"), "spaces between bytes": (" ".join(
            sig[i:i + 2] for i in range(0, len(sig), 2)), "signature"),
        "one byte short": (sig[:-2], "signature"), "one byte long": (sig + "00", "signature"),
        "odd length": (sig[:-1], "signature"), "empty": ("", "signature"), "0x prefix": ("0x" + sig[2:], "signature"),
        "not a string": (int(sig[:8], 16), "signature"), "null": (None, "signature"),
    }


def test_signature_hex_has_one_strict_rule(tmp_path, page):
    """Item 11: a manifest signature is exactly 128 lower-case hex characters, nothing around it: any other
    spelling of the same bytes is ``signature`` in Python, Node and the page."""
    proof, manifest, signature, pem = _signed_manifest()
    cases = []
    for name, (value, expected) in signature_variants(signature["signature"]).items():
        doc = {**signature, "signature": value}
        for broken_proof in (False, True):
            p = dict(proof, nonce="zz") if broken_proof else proof
            cases.append({"id": len(cases), "name": f"{name} proof broken {broken_proof}", "proof": dumps(p),
                          "manifest": dumps(manifest), "announced": None, "user": None,
                          "signed": {"signature": doc, "public_key": pem},
                          "expect": expected or ("format" if broken_proof else None)})
    py = three_way(tmp_path, page, cases)
    for c in cases:
        want = {"valid": True} if c["expect"] is None else {"valid": False, "check": c["expect"]}
        assert py[c["id"]] == want, c["name"]


# ------------------------------------------------------------------------------------------------------
# Strict Ed25519 for the exchange's manifest signature (schemas/archive.md; the rule of schemas/reserves.md,
# "Ed25519"): "signatures" made without any private key, which OpenSSL and WebCrypto accept on their own,
# are refused by Python, Node and the page alike, check `signature`, naming the rule.

ED25519_P = 2**255 - 19
ED25519_L = 2**252 + 27742317777372353535851937790883648493
SPKI_ED25519 = bytes.fromhex("302a300506032b6570032100")
IDENTITY = (1).to_bytes(32, "little")


def spki_pem(public: bytes) -> str:
    """Any 32 bytes as an Ed25519 SubjectPublicKeyInfo PEM (what a malicious exchange can publish)."""
    return f"-----BEGIN PUBLIC KEY-----\n{base64.b64encode(SPKI_ED25519 + public).decode()}\n-----END PUBLIC KEY-----\n"


def openssl_accepts(public: bytes, signature: bytes, manifest) -> bool:
    """OpenSSL's own verification through ``cryptography``, without the strict rule: the Python verifier's
    whole check before it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from pipeline.formats.canonical import canonical_json

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical_json(manifest))
        return True
    except (InvalidSignature, ValueError):
        return False


def signature_document(public: bytes, signature: bytes) -> dict:
    """The ``signature.json`` a publisher of ``public`` writes, with these signature bytes."""
    from blake3 import blake3

    return {"algorithm": "Ed25519", "signed": "manifest.json", "canonicalization": "RFC 8785",
            "public_key": public.hex(), "key_id": blake3(public).hexdigest()[:16], "signature": signature.hex()}


def keyless_forgery(manifest: dict, public: bytes) -> tuple[dict, bytes]:
    """The manifest with one field no verifier reads (``note``) and a "signature" made without a private key,
    a small-order R and S = 0, that OpenSSL alone accepts under the small-order ``public`` for it (under the
    identity, for every message; under another small-order A, for one message in 2 to 8)."""
    from pipeline.ownership.ed25519 import SMALL_ORDER

    for n in range(256):
        forged = {**manifest, "note": f"keyless {n}"}
        for r in sorted(SMALL_ORDER):
            if openssl_accepts(public, r + bytes(32), forged):
                return forged, r + bytes(32)
    raise AssertionError(f"no small-order R with S = 0 verifies under {public.hex()}")


def strict_signature_cases() -> tuple[dict, list[dict]]:
    """The proof, and signed manifests: a real signature (valid), each of the eight small-order public keys
    with a keyless signature, non-canonical keys (y = p + 1, and the identity with its sign bit set) with R the
    identity and S = 0, and under the real key S + L, a small-order R and a non-canonical R. ``forged``: OpenSSL
    alone accepts it; ``rule``: the words every verifier's refusal holds (None: valid)."""
    from pipeline.ownership.ed25519 import SMALL_ORDER

    proof, manifest, signature, pem = _signed_manifest()
    real = bytes.fromhex(signature["signature"])
    cases = [{"name": "a real signature", "manifest": manifest, "signature": signature, "pem": pem, "forged": True,
              "rule": None}]
    for a in sorted(SMALL_ORDER):
        forged, sig = keyless_forgery(manifest, a)
        cases.append({"name": f"small-order A {a.hex()}", "manifest": forged, "signature": signature_document(a, sig),
                      "pem": spki_pem(a), "forged": True, "rule": "the public key is a small-order Ed25519 point"})
    for name, a, why in (("non-canonical A (y = p + 1)", (ED25519_P + 1).to_bytes(32, "little"), "(y >= p)"),
                         ("non-canonical A (negative zero)", IDENTITY[:31] + b"\x80", "(negative zero)")):
        cases.append({"name": name, "manifest": {**manifest, "note": "keyless"},
                      "signature": signature_document(a, IDENTITY + bytes(32)), "pem": spki_pem(a), "forged": True,
                      "rule": f"the public key is not a canonical Ed25519 point encoding {why}"})
    s_plus_l = real[:32] + (int.from_bytes(real[32:], "little") + ED25519_L).to_bytes(32, "little")
    for name, sig, rule in (
            ("S + L of the real signature", s_plus_l, "the signature's S is not below the group order L"),
            ("small-order R, S = 0, under the real key", IDENTITY + bytes(32), "the signature's R is a small-order"),
            ("non-canonical R (y = p + 1) of the real signature", (ED25519_P + 1).to_bytes(32, "little") + real[32:],
             "the signature's R is not a canonical Ed25519 point encoding (y >= p)")):
        cases.append({"name": name, "manifest": manifest, "signature": {**signature, "signature": sig.hex()},
                      "pem": pem, "forged": False, "rule": rule})
    return proof, cases


def test_keyless_manifest_signatures_are_refused_by_por_verify_node_and_the_page(tmp_path, page):
    """A manifest "signed" by a small-order public key with a small-order R and S = 0, by a non-canonical key,
    or with S + L of a real signature: ``por verify --public-key``, the Node CLI and the page all refuse it, check
    ``signature``, naming the rule; a real signature still verifies in all three. The forgeries are real: OpenSSL
    alone (through ``cryptography``: the Python verifier's whole check before the strict rule) accepts each,
    asserted here, and the proof is valid against every manifest, so ``por verify --public-key`` said VALID. (Raw
    WebCrypto differs by library: when this was written Chromium's accepted them too and Node's OpenSSL 3.5
    refused them, so the verifiers also disagreed.)"""
    from pipeline.protocol.verify import verify_proof
    from tests.test_js_verifier import invalid_line, three_clis

    proof, cases = strict_signature_cases()
    assert len(cases) == 1 + 8 + 2 + 3
    for c in cases:
        verify_proof(proof, manifest=c["manifest"])  # the proof is valid: only the signature can refuse it
        sig = bytes.fromhex(c["signature"]["signature"])
        if c["forged"]:
            assert openssl_accepts(bytes.fromhex(c["signature"]["public_key"]), sig, c["manifest"]), c["name"]
    for i, c in enumerate(cases):
        d = tmp_path / f"case-{i}"
        d.mkdir()
        (d / "proof.json").write_text(json.dumps(proof))
        (d / "manifest.json").write_text(json.dumps(c["manifest"]))
        (d / "signature.json").write_text(json.dumps(c["signature"]))
        (d / "public-key.pem").write_text(c["pem"])
        for cli, proc in three_clis(str(d / "proof.json"), str(d / "manifest.json"),
                                    public_key=str(d / "public-key.pem")).items():
            if c["rule"] is None:
                assert proc.returncode == 0 and "manifest signature: valid" in proc.stdout, (cli, c["name"],
                                                                                              proc.stderr)
            else:
                assert proc.returncode == 1, (cli, c["name"], proc.stdout, proc.stderr)
                line = invalid_line(proc)
                assert line.startswith("INVALID proof: signature: ") and c["rule"] in line, (cli, c["name"], line)
    in_page = page_verdicts(page, [{"id": i, "proof": dumps(proof), "manifest": dumps(c["manifest"]), "user": None,
                                    "signed": {"signature": c["signature"], "public_key": c["pem"]}}
                                   for i, c in enumerate(cases)])
    for i, c in enumerate(cases):
        if c["rule"] is None:
            assert in_page[i]["valid"] is True, (c["name"], in_page[i])
        else:
            assert (in_page[i]["valid"], in_page[i]["check"]) == (False, "signature"), (c["name"], in_page[i])
            assert c["rule"] in in_page[i]["message"], (c["name"], in_page[i])


def test_keyless_signatures_fail_first_and_alike_in_every_verifier(tmp_path, page):
    """The same cases through the Python library, the Node module and the page (``three_way``), with the proof
    intact and with a broken proof: the signature is checked first, so a broken proof beside a keyless
    signature is ``signature`` everywhere, and beside the real one ``format``."""
    proof, cases = strict_signature_cases()
    runs = []
    for c in cases:
        for broken in (False, True):
            p = dict(proof, nonce="zz") if broken else proof
            runs.append({"id": len(runs), "name": f"{c['name']}, proof broken {broken}", "proof": dumps(p),
                         "manifest": dumps(c["manifest"]), "announced": None, "user": None,
                         "signed": {"signature": c["signature"], "public_key": c["pem"]},
                         "expect": "signature" if c["rule"] else ("format" if broken else None)})
    py = three_way(tmp_path, page, runs)
    for r in runs:
        want = {"valid": True} if r["expect"] is None else {"valid": False, "check": r["expect"]}
        assert py[r["id"]] == want, r["name"]


def _several_wrong_cases():
    """Documents with two or more faults: the first failing check follows the order of schemas/por-v2.md
    section 4 (por-v1.md section 5) in every verifier."""
    v1d = os.path.join(VECTORS, "por-v1", "basic")
    v2d = os.path.join(VECTORS, "por-v2", "basic")
    out = []
    for d in (v1d, v2d):
        manifest = json.load(open(os.path.join(d, "manifest.json")))
        proof = json.load(open(os.path.join(d, "proofs.json")))[0]
        version = manifest["version"]

        def case(name, expect, p=proof, m=manifest, user=None, p_raw=None, m_raw=None, version=version):
            out.append({"name": f"{version}: {name}", "expect": expect, "proof": p_raw or dumps(p),
                        "manifest": m_raw or dumps(m), "announced": None, "user": user})

        short_path = dict(proof, path=proof["path"][:-1])
        case("id breaks the rule, and another id entered", "format", dict(proof, user_id=f"al{ZWSP}ice"), user="bob")
        case("another id entered, and an amount written 01", "user-id", dict(proof, balances=["01"] + proof["balances"][1:]),
             user="bob")
        case("id breaks the rule, and the nonce is upper case", "format",
             dict(proof, user_id="e\u0301", nonce=proof["nonce"].upper()))
        case("an amount written 01, and 65 path entries", "number",
             dict(proof, balances=["01"] + proof["balances"][1:], path=proof["path"] * 65))
        case("malformed manifest, and an id that breaks the rule", "format", dict(proof, user_id=RLO + "x"),
             dict(manifest, tree={"bucket_bits": -1, "bucket_height": 0, "height": -1}))
        case("another period, and one path entry missing", "period", dict(short_path, period="2027-01"))
        case("one path entry missing, and the position out of range", "path-length",
             dict(short_path, position=1 << 40))
        case("position out of range, and a sibling hash changed", "position",
             dict(proof, position=1 << 40, path=[dict(proof["path"][0], hash="00" * 32)] + proof["path"][1:]))
        case("BOM on the proof and on the manifest", "input", p_raw=b"\xef\xbb\xbf" + dumps(proof),
             m_raw=b"\xef\xbb\xbf" + dumps(manifest))
        case("integer over the limit in the proof, invalid UTF-8 in the manifest", "input",
             p_raw=dumps(proof).replace(b'"position": ', b'"position": 1' + b"0" * 60 + b", \"x\": "),
             m_raw=dumps(manifest)[:-1] + b', "x": "\xff"}')
        case("id breaks the rule, and a manifest over the integer limit", "input", dict(proof, user_id="e\u0301"),
             m_raw=dumps(manifest).replace(b'"period"', b'"n": ' + b"9" * 41 + b', "period"'))
    return out


def test_several_faults_at_once_fail_the_same_first_check(tmp_path, page):
    """Item 11: the same check order everywhere when several things are wrong in one proof (and manifest),
    named cases with the documented first check, and random two-to-four-fault mutations."""
    named = _several_wrong_cases()
    rng = random.Random(2026_20)
    sets = []
    for version in ("por-v1", "por-v2"):
        for shape in sorted(os.listdir(os.path.join(VECTORS, version))):
            d = os.path.join(VECTORS, version, shape)
            if os.path.isdir(d):
                manifest = json.load(open(os.path.join(d, "manifest.json")))
                sets += [(proof, manifest) for proof in json.load(open(os.path.join(d, "proofs.json")))]
    fuzz = []
    for _ in range(800):
        proof, manifest = rng.choice(sets)
        for _ in range(rng.randint(2, 4)):
            if rng.random() < 0.7:
                proof = _structural(proof, rng)
            else:
                manifest = _structural(manifest, rng)
        fuzz.append({"name": "random", "proof": json.dumps(proof).encode(), "manifest": json.dumps(manifest).encode(),
                     "announced": None, "user": rng.choice([None, "alice", "x" + ZWSP])})
    cases = [{**c, "id": i} for i, c in enumerate(named + fuzz)]
    py = three_way(tmp_path, page, cases)
    for c in cases[:len(named)]:
        assert py[c["id"]] == {"valid": False, "check": c["expect"]}, c["name"]
    assert len({v.get("check") for v in py.values()}) >= 10


def test_fuzz_reaches_the_page_too(tmp_path, page):
    """The main fuzz's cases that have a manifest, through the page as well (the announced value alone is
    not one of the page's inputs)."""
    cases = [c for c in _cases(random.Random(20261123)) if c["manifest"] is not None][:1500]
    py = three_way(tmp_path, page, cases)
    assert len({v.get("check", "VALID") for v in py.values()}) >= 12
