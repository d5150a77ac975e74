"""por-v3 in the JavaScript verifier (pipeline/web/verify.mjs), its command line and the offline page, against
the Python verifier (``pipeline.protocol.verify``): real Node, real headless Chromium.

- the formulas (K_node, fragment keys, leaves, nodes, C) are ``protocol.v3``'s, on random inputs;
- every golden proof of ``schemas/vectors/por-v3`` is VALID in Node, its command line and the page, with the facts
  Python establishes (per asset equity and debt, the announced value), printed as ``python -m pipeline.verify`` prints
  them; every named mutation fails there with exactly the check it records, against the manifest and against the
  announced value alone;
- a differential fuzz: random mutations of por-v3 proofs and manifests (structure, numbers, hex, missing and extra
  fields, huge integers, wrong types, fragments moved, dropped, duplicated) give the same verdict and the same first
  failing check in Python, Node and the page.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import random
import subprocess
import sys

import pytest
from blake3 import blake3

from pipeline.errors import VerificationError
from pipeline.protocol import v3
from pipeline.protocol.amounts import CUT_NOTE, shown_units
from pipeline.protocol.keys import SecretKey
from pipeline.protocol.verify import verify_proof
from tests.support.node import node
from tests.support.ref_v3 import build_v3
from tests.test_differential import TEXT_TRICKS, _structural, dumps, node_verdicts, python_verdict

pytestmark = pytest.mark.e2e

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB = os.path.join(ROOT, "pipeline", "web")
CLI = os.path.join(WEB, "verify-cli.mjs")
VECTORS = os.path.join(ROOT, "schemas", "vectors", "por-v3")
CASES = int(os.environ.get("POR_DIFFERENTIAL_CASES", "4000"))
TEST_SECRET = SecretKey(blake3(b"por-v1 golden vectors: public test secret, never use in production").digest())
U128 = 1 << 128


def shapes() -> list[str]:
    found = sorted(d for d in os.listdir(VECTORS) if os.path.isdir(os.path.join(VECTORS, d)))
    assert found, f"no por-v3 vectors in {VECTORS}"
    return found


def load(shape: str, name: str):
    with open(os.path.join(VECTORS, shape, name), encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------------ formulas


def test_the_formulas_are_the_python_core_s():
    """K_node is the spec's constant, and fragment keys, leaves, nodes and C computed by verify.mjs are
    ``protocol.v3``'s, byte for byte, on random inputs (amounts up to 2^128 - 1, unicode symbols, s and p at their
    bounds)."""
    rng = random.Random(3)
    symbols = ["BTC", "USDT", "\u00e9t\u00e9", "\U0001f600", "A" * 32]
    cases = []
    for _ in range(200):
        uk = rng.randbytes(32)
        amounts = [rng.choice([0, 1, U128 - 1, rng.getrandbits(rng.randint(1, 128))]) for _ in range(6)]
        m = rng.randint(1, 4)
        assets = sorted(((rng.choice(symbols) + str(j), rng.randint(0, 38)) for j in range(m)),
                        key=lambda a: a[0].encode())
        trees = [v3.TreeRoot(rng.randint(0, 24), rng.randint(0, 40), rng.randbytes(32), amounts[j % 6],
                             amounts[(j + 1) % 6]) for j in range(m)]
        params = v3.Parameters(rng.randint(2, 8), rng.choice([0, 25, 100, rng.randint(0, 100)]))
        symbol, index = rng.choice(symbols), rng.randint(0, 7)
        fk = v3.fragment_key(uk, symbol, index)
        left, right = rng.randbytes(32), rng.randbytes(32)
        cases.append({
            "uk": uk.hex(), "symbol": symbol, "index": index, "equity": str(amounts[0]), "debt": str(amounts[1]),
            "left": left.hex(), "right": right.hex(), "sums": [str(a) for a in amounts[2:6]],
            "period": f"20{rng.randint(10, 99)}-{rng.randint(1, 12):02d}", "params": [params.fragments, params.padding],
            "assets": assets, "trees": [{"k": t.bucket_bits, "h": t.bucket_height, "hash": t.root_hash.hex(),
                                         "equity": str(t.equity), "debt": str(t.debt)} for t in trees],
            "want": {"fk": fk.hex(), "leaf": v3.leaf_hash(fk, amounts[0], amounts[1]).hex(),
                     "node": v3.node_hash(left, amounts[2:4], right, amounts[4:6]).hex()},
        })
        cases[-1]["want"]["c"] = v3.commitment(cases[-1]["period"], params, assets, trees).hex()
    script = """
        import { readFileSync } from "node:fs";
        import * as m from MODULE;
        const h = m.hexToBytes, x = m.bytesToHex;
        const out = { kNode: x(m.NODE_KEY_V3), got: [] };
        for (const c of JSON.parse(readFileSync(0, "utf8"))) {
          const fk = m.fragmentKey(h(c.uk), c.symbol, c.index);
          const s = c.sums.map(BigInt);
          out.got.push({ fk: x(fk), leaf: x(m.leafHashV3(fk, BigInt(c.equity), BigInt(c.debt))),
            node: x(m.nodeHashV3(h(c.left), [s[0], s[1]], h(c.right), [s[2], s[3]])),
            c: x(m.commitmentV3(c.period, c.params, c.assets, c.trees.map((t) => ({ k: t.k, h: t.h, hash: h(t.hash),
              equity: BigInt(t.equity), debt: BigInt(t.debt) })))) });
        }
        console.log(JSON.stringify(out));
    """
    module = json.dumps("file://" + os.path.join(WEB, "verify.mjs"))
    proc = node("--input-type=module", "-e", script.replace("MODULE", module), input=json.dumps(cases))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kNode"] == v3.NODE_KEY.hex() == "0a5fbe8c10cb2a590537b73e2ea0143b49d2de9c938299dd31e80fb1cc787e89"
    assert [c["want"] for c in cases] == out["got"]


# ------------------------------------------------------------------------------------------- golden vectors


def node_vector_results() -> list[dict]:
    proc = node(os.path.join(ROOT, "tests", "js", "run_vectors.mjs"), VECTORS)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def python_facts(proof, manifest=None, announced=None) -> dict:
    """What the Python verifier establishes, in the Node runner's terms."""
    r = verify_proof(proof, manifest=manifest, root_hash=announced)
    return {"valid": True, "assets": list(r.symbols), "equity": [str(v) for v in r.equity],
            "debt": [str(v) for v in r.debt], "commitment": r.commitment, "user_id": r.user_id, "period": r.period,
            "roots": [[a.root_hash, str(a.total_equity), str(a.total_debt)] for a in r.assets]}


def test_every_vector_in_node_as_in_python():
    """Every golden proof is VALID with Python's facts (every asset's equity and debt, the announced value, against
    the manifest and against the announced value alone); every mutation fails exactly its recorded check (and level),
    in both modes, as in Python."""
    results = node_vector_results()
    seen = 0
    for shape in shapes():
        manifest = load(shape, "manifest.json")
        for mode in ("manifest", "announced"):
            by_name = {r["name"]: r for r in results if r["shape"] == shape and r["mode"] == mode}
            for proof in load(shape, "proofs.json"):
                got = {k: v for k, v in by_name[f"valid:{proof['user_id']}"].items() if k not in ("shape", "name", "mode")}
                want = python_facts(proof, manifest) if mode == "manifest" else python_facts(
                    proof, announced=manifest["commitment"])
                assert got == want, (shape, mode, got, want)
                assert got["commitment"] == manifest["commitment"]
                held = {h["asset"]: (h["equity"], h["debt"]) for h in proof["holdings"]}
                assert [(e, d) for e, d in zip(got["equity"], got["debt"], strict=True)] == [
                    held.get(a["symbol"], ("0", "0")) for a in manifest["assets"]]
                seen += 1
            for m in load(shape, "mutations.json"):
                got = by_name[m["name"]]
                expected = m["expected"] if mode == "manifest" else m["expected_announced"]
                assert (got["valid"], got.get("check")) == (expected["valid"], expected["check"]), (
                    shape, mode, m["name"], got)
                if expected.get("level") is not None:
                    assert got["level"] == expected["level"], (shape, mode, m["name"], got)
                seen += 1
    assert seen == len(results)
    assert len({r.get("check") for r in results}) >= 12  # the mutations reach many checks


def python_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.verify", *args], capture_output=True, text=True, cwd=ROOT)


def test_node_cli_prints_what_python_prints_for_every_vector(tmp_path):
    """The Node command line says VALID for every golden proof, printing for every asset the user's equity, debt and
    net and the announced value, the same lines as ``python -m pipeline.verify`` (Python's summary: with the manifest,
    with ``--root``, with ``--user``); a mutation is ``INVALID proof: <its check>`` there and in Python, exit 1."""
    checked = 0
    for shape in shapes():
        manifest_path = os.path.join(VECTORS, shape, "manifest.json")
        manifest = load(shape, "manifest.json")
        for n, proof in enumerate(load(shape, "proofs.json")):
            path = tmp_path / f"{shape}-proof.json"
            path.write_text(json.dumps(proof), encoding="utf-8")
            shown_lines: dict[bool, list[str]] = {}
            for node_args, py_args, kwargs in (
                    ([manifest_path], ["--manifest", manifest_path], {"manifest": manifest}),
                    (["--root", manifest["commitment"]], ["--root", manifest["commitment"]],
                     {"root_hash": manifest["commitment"]}),
                    ([manifest_path, "--user", proof["user_id"]], ["--manifest", manifest_path, "--user", proof["user_id"]],
                     {"manifest": manifest, "user_id": proof["user_id"]}),
                    ([manifest_path, "--exact"], ["--manifest", manifest_path, "--exact"], {"manifest": manifest})):
                exact = kwargs.keys() == {"manifest"} and "--exact" in node_args
                got = node(CLI, str(path), *node_args)
                want = verify_proof(proof, **kwargs).summary(exact=exact) + "\n"
                assert (got.returncode, got.stdout, got.stderr) == (0, want, ""), (shape, proof["user_id"], got.stderr)
                if n == 0:  # the Python command line prints exactly that summary
                    py = python_cli(str(path), *py_args)
                    assert (py.returncode, py.stdout) == (0, want), py.stderr
                if kwargs.keys() == {"manifest"}:
                    shown_lines[exact] = got.stdout.splitlines()
                checked += 1
            lines = shown_lines[False]
            assert lines[0].startswith("VALID proof for user ") and manifest["commitment"] in got.stdout
            held = {h["asset"]: h for h in proof["holdings"]}
            for exact, shown in shown_lines.items():  # readable, and every digit with --exact
                table = shown[shown.index(next(ln for ln in shown if ln.split() == ["asset", "equity", "debt", "net"])) + 1:]
                for a, line in zip(manifest["assets"], table, strict=False):
                    h = held.get(a["symbol"], {"equity": "0", "debt": "0"})
                    e, d = int(h["equity"]), int(h["debt"])
                    assert line.split() == [a["symbol"], *(shown_units(v, a["decimals"], exact) for v in (e, d, e - d))], line
        # one mutation per check it fails, against the manifest and against the announced value alone
        firsts: dict[tuple[str, str], dict] = {}
        for m in load(shape, "mutations.json"):
            for mode, key in (("manifest", "expected"), ("announced", "expected_announced")):
                if not m[key]["valid"]:
                    firsts.setdefault((mode, m[key]["check"]), m)
        for i, ((mode, check), m) in enumerate(sorted(firsts.items())):
            path = tmp_path / f"{shape}-mutation.json"
            path.write_text(json.dumps(m["proof"]), encoding="utf-8")
            node_args, py_args = (([manifest_path], ["--manifest", manifest_path]) if mode == "manifest" else
                                  (["--root", manifest["commitment"]], ["--root", manifest["commitment"]]))
            got = node(CLI, str(path), *node_args)
            assert (got.returncode, got.stdout) == (1, ""), (m["name"], got.stderr)
            assert got.stderr.startswith(f"INVALID proof: {check}"), (m["name"], mode, got.stderr)
            if i % 4 == 0:
                py = python_cli(str(path), *py_args)
                assert (py.returncode, py.stdout) == (1, "") and py.stderr.startswith(f"INVALID proof: {check}"), py.stderr
            checked += 1
    assert checked > 100


# --------------------------------------------------------------------------------------------------- page


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The offline verifier page as ``por verifier-page`` writes it, opened from file:// in headless Chromium."""
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


def page_run(driver, cases: list[dict]) -> dict[int, dict]:
    """``window.porVerify`` (what the Verify button runs) on each case: the proof's bytes, the manifest's bytes or
    (``manifest`` None) the announced value alone; a valid result carries per asset equity and debt."""
    payload = [{"id": c["id"], "proof": base64.b64encode(c["proof"]).decode(),
                "manifest": None if c["manifest"] is None else base64.b64encode(c["manifest"]).decode(),
                "announced": c.get("announced"), "user": c.get("user") or ""} for c in cases]
    out = driver.execute_async_script("""
        const [cases, done] = arguments;
        const bytes = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        (async () => {
          const out = {};
          for (const c of cases) {
            try {
              const r = await window.porVerify(bytes(c.proof), c.manifest === null ? null : bytes(c.manifest), c.user,
                                               null, c.announced);
              out[c.id] = {valid: r.valid, check: r.check, level: r.error ? r.error.level : null};
              if (r.valid && r.result.version === 'por-v3') {
                Object.assign(out[c.id], {equity: r.result.equity.map(String), debt: r.result.debt.map(String),
                                          commitment: r.result.commitment});
              }
            } catch (e) { out[c.id] = {valid: false, check: 'crash:' + e}; }
          }
          return out;
        })().then(done, (e) => done({error: String(e)}));
    """, payload)
    assert "error" not in out, out
    return {int(k): v for k, v in out.items()}


def test_every_vector_in_the_page(page, tmp_path):
    """In the page (headless Chromium, file://): every golden proof VALID with Python's equity and debt per asset and
    the announced value; every mutation fails exactly its recorded check; against the manifest and the announced value
    alone."""
    cases, wants = [], []
    for shape in shapes():
        manifest = load(shape, "manifest.json")
        raw_manifest = dumps(manifest)
        for mode in ("manifest", "announced"):
            for proof in load(shape, "proofs.json"):
                facts = python_facts(proof, manifest) if mode == "manifest" else python_facts(
                    proof, announced=manifest["commitment"])
                wants.append(("valid", shape, mode, proof["user_id"], {k: facts[k] for k in ("equity", "debt",
                                                                                               "commitment")}))
                cases.append({"proof": dumps(proof), "manifest": raw_manifest if mode == "manifest" else None,
                              "announced": None if mode == "manifest" else manifest["commitment"]})
            for m in load(shape, "mutations.json"):
                expected = m["expected"] if mode == "manifest" else m["expected_announced"]
                wants.append(("mutation", shape, mode, m["name"], expected))
                cases.append({"proof": dumps(m["proof"]),
                              "manifest": dumps(m.get("manifest", manifest)) if mode == "manifest" else None,
                              "announced": None if mode == "manifest" else manifest["commitment"]})
    cases = [{**c, "id": i} for i, c in enumerate(cases)]
    got = page_run(page, cases)
    for i, (kind, shape, mode, name, want) in enumerate(wants):
        if kind == "valid":
            assert got[i] == {"valid": True, "check": None, "level": None, **want}, (shape, mode, name, got[i])
        else:
            assert (got[i]["valid"], got[i]["check"]) == (want["valid"], want["check"]), (shape, mode, name, got[i])
            if want.get("level") is not None:
                assert got[i]["level"] == want["level"], (shape, mode, name, got[i])


def test_the_page_shows_equity_debt_and_net_per_asset(page, tmp_path):
    """The result table of a por-v3 proof: one row per asset (held or not) with the user's equity, debt and net in
    whole units, the announced value, the account; a mutated proof is NOT VALID naming its check's row."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shape = shapes()[0]
    manifest = load(shape, "manifest.json")
    proofs = load(shape, "proofs.json")
    assert any(not p["holdings"] for p in proofs)  # one who holds nothing: every asset at zero, said so
    for proof in proofs:
        page.execute_script("document.getElementById('proof').value = arguments[0];"
                            "document.getElementById('manifest').value = arguments[1];"
                            "document.getElementById('announced-value').value = '';"
                            "document.getElementById('user-id').value = arguments[2];"
                            "document.body.dataset.verdict = '';", json.dumps(proof), json.dumps(manifest),
                            proof["user_id"])
        page.find_element(By.ID, "verify").click()
        WebDriverWait(page, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
        assert page.find_element(By.TAG_NAME, "body").get_attribute("data-verdict") == "valid"
        assert page.find_element(By.ID, "announced").text == manifest["commitment"]
        assert [th.text for th in page.find_elements(By.CSS_SELECTOR, "#balance-head th")] == [
            "Asset", "Your equity", "Your debt", "Net"]
        rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in page.find_elements(By.CSS_SELECTOR, "#balances tr")]
        held = {h["asset"]: (int(h["equity"]), int(h["debt"])) for h in proof["holdings"]}
        want = []
        for a in manifest["assets"]:
            e, d = held.get(a["symbol"], (0, 0))
            want.append([a["symbol"], *(shown_units(v, a["decimals"]) for v in (e, d, e - d))])
        assert rows == want
        summary = verify_proof(proof, manifest=manifest).summary().splitlines()  # the command lines' words
        assert page.find_element(By.ID, "v3-parameters").text == summary[2].replace("parameters", "Parameters", 1)
        assert [p.text for p in page.find_elements(By.CSS_SELECTOR, "#v3-notes p")] == [
            line for line in summary[4 + len(want):] if line != CUT_NOTE]  # the page says a cut under its table
        checks = {li.get_attribute("data-check"): li.get_attribute("class")
                  for li in page.find_elements(By.CSS_SELECTOR, "#checks li")}
        assert set(checks.values()) == {"pass"}, checks
        assert {"parameters", "holdings", "fragments", "holding-sum", "commitment", "user-id"} <= set(checks)
    mutation = next(m for m in load(shape, "mutations.json") if not m["expected"]["valid"])
    page.execute_script("document.getElementById('proof').value = arguments[0];"
                        "document.getElementById('user-id').value = '';"
                        "document.body.dataset.verdict = '';", json.dumps(mutation["proof"]))
    page.find_element(By.ID, "verify").click()
    WebDriverWait(page, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
    body = page.find_element(By.TAG_NAME, "body")
    assert (body.get_attribute("data-verdict"), body.get_attribute("data-check")) == (
        "invalid", mutation["expected"]["check"])
    assert "NOT VALID" in page.find_element(By.ID, "verdict").text
    # the announced value alone, typed into the page with no manifest
    proof = proofs[0]
    page.execute_script("document.getElementById('proof').value = arguments[0];"
                        "document.getElementById('manifest').value = '';"
                        "document.getElementById('announced-value').value = arguments[1];"
                        "document.body.dataset.verdict = '';", json.dumps(proof), manifest["commitment"])
    page.find_element(By.ID, "verify").click()
    WebDriverWait(page, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
    assert page.find_element(By.TAG_NAME, "body").get_attribute("data-verdict") == "valid"
    page.execute_script("document.getElementById('announced-value').value = arguments[0];"
                        "document.body.dataset.verdict = '';", "00" * 32)
    page.find_element(By.ID, "verify").click()
    WebDriverWait(page, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
    assert page.find_element(By.TAG_NAME, "body").get_attribute("data-check") == "commitment"
    page.execute_script("document.getElementById('announced-value').value = '';")
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []


# ------------------------------------------------------------------------------------------ differential fuzz


def extra_builds() -> list[tuple[dict, dict]]:
    """Proofs beside the vectors' with other parameters and edges: s = 3 and 8, p = 0 and 100, one asset,
    amounts at 2^128 - 1 in total, users holding nothing, a unicode id."""
    big = U128 - 1
    out = []
    for snapshot, assets, params, bits in (
            ({"alice": {"BTC": (big, 0)}, "bob": {"BTC": (0, big)}, "carol": {}}, [("BTC", 8)], v3.Parameters(3, 0), 1),
            ({"jos\u00e9": {"A": (5, 3), "B": (0, 1)}, "zoe": {"B": (7, 0)}}, [("A", 0), ("B", 38)],
             v3.Parameters(8, 100), {"A": 0, "B": 2})):
        build = build_v3(snapshot, assets, TEST_SECRET, "2027-02", parameters=params, bucket_bits=bits)
        out += [(proof, build.manifest) for proof in build.proofs.values()]
    return out


def _sets() -> list[tuple[dict, dict]]:
    sets = []
    for shape in shapes():
        manifest = load(shape, "manifest.json")
        sets += [(proof, manifest) for proof in load(shape, "proofs.json")]
    return sets + extra_builds()


HUGE = ["9" * 40, "-" + "9" * 40, "1" + "0" * 40, "7" * 4300, str(1 << 53), str((1 << 53) - 1), "-1"]


def _objects(doc, found=None):
    """Every object (dict) in a document."""
    found = [] if found is None else found
    if isinstance(doc, dict):
        found.append(doc)
        for v in doc.values():
            _objects(v, found)
    elif isinstance(doc, list):
        for v in doc:
            _objects(v, found)
    return found


def _semantic(proof: dict, manifest: dict, rng: random.Random) -> tuple[dict, dict]:
    """One change a malicious exchange (or a broken file) could make to a por-v3 proof or manifest (on a document
    an earlier change broke, one that still applies)."""
    for _ in range(20):
        try:
            return _semantic_once(proof, manifest, rng)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError, OverflowError):
            continue
    return proof, manifest


def _semantic_once(proof: dict, manifest: dict, rng: random.Random) -> tuple[dict, dict]:
    p, m = copy.deepcopy(proof), copy.deepcopy(manifest)
    holdings = p.get("holdings") or []
    frags = [f for h in holdings for f in h["fragments"]]
    entries = [e for f in frags for e in f["path"]]

    def amount_change(holder, key):
        holder[key] = rng.choice([str(int(holder[key]) + 1), str(max(0, int(holder[key]) - 1)), str(U128 - 1),
                                  str(U128), "0", "01", " 1", int(holder[key]) if len(holder[key]) < 15 else 1,
                                  None, "-" + holder[key]])

    ops = []
    if holdings:
        h = rng.choice(holdings)
        ops += [lambda: holdings.reverse(), lambda: holdings.append(copy.deepcopy(h)),
                lambda: holdings.remove(h), lambda: h.update(asset=rng.choice([a["symbol"] for a in p["assets"]])),
                lambda: h.update(asset="NOPE"), lambda: h.update(equity="0", debt="0"),
                lambda: amount_change(h, rng.choice(["equity", "debt"])),
                lambda: h.update(equity=h["debt"], debt=h["equity"]),
                lambda: h["fragments"].pop(), lambda: h["fragments"].append(copy.deepcopy(h["fragments"][0])),
                lambda: h["fragments"].reverse(), lambda: h["fragments"].__setitem__(1, h["fragments"][0]),
                lambda: h.update(fragments=h["fragments"] * 5)]
        if len(holdings) > 1:
            h2 = rng.choice([x for x in holdings if x is not h])
            ops.append(lambda: h2["fragments"].append(h["fragments"].pop()))
    if frags:
        f = rng.choice(frags)
        height = len(f["path"])
        ops += [lambda: amount_change(f, rng.choice(["equity", "debt"])),
                lambda: f.update(position=f["position"] + 1), lambda: f.update(position=f["position"] ^ 1),
                lambda: f.update(position=f["position"] ^ (1 << rng.randrange(max(1, height)))),
                lambda: f.update(position=1 << height), lambda: f.update(position=rng.choice([-1, 1 << 53, "0", 0.5])),
                lambda: f["path"].pop() if f["path"] else None, lambda: f["path"].append(copy.deepcopy(f["path"][0]))
                if f["path"] else f["path"].append({"hash": "00" * 32, "equity": "0", "debt": "0"}),
                lambda: f.update(path=(f["path"] or [{"hash": "00" * 32, "equity": "0", "debt": "0"}]) * 65),
                lambda: f["path"].reverse()]
    if entries:
        e = rng.choice(entries)
        ops += [lambda: amount_change(e, rng.choice(["equity", "debt"])),
                lambda: e.update(equity=str(U128 - 1)), lambda: e.update(debt=str(U128 - 1)),
                lambda: e.update(hash=("0" if e["hash"][0] != "0" else "1") + e["hash"][1:]),
                lambda: e.update(hash=e["hash"].upper()), lambda: e.update(hash=e["hash"][:-1]),
                lambda: e.update(equity=e["debt"], debt=e["equity"])]
    t = rng.choice(p["trees"])
    mt = rng.choice(m["trees"])
    ops += [lambda: p["parameters"].update(fragments=p["parameters"]["fragments"] + rng.choice([-1, 1, 7])),
            lambda: p["parameters"].update(padding=rng.choice([0, 24, 26, 100, 101, -1])),
            lambda: t.update(bucket_bits=t["bucket_bits"] + rng.choice([-1, 1, 25])),
            lambda: t.update(bucket_height=t["bucket_height"] + rng.choice([-1, 1, 64])),
            lambda: t["root"].update(hash="ab" * 32), lambda: amount_change(t["root"], rng.choice(["equity", "debt"])),
            lambda: p["trees"].pop(), lambda: p["trees"].append(copy.deepcopy(t)), lambda: p["trees"].reverse(),
            lambda: p["assets"].reverse(), lambda: p["assets"][0].update(decimals=p["assets"][0]["decimals"] ^ 1),
            lambda: p["assets"][0].update(symbol="A" * 33), lambda: p["assets"].append({"symbol": "ZZZ", "decimals": 0}),
            lambda: p.update(period=rng.choice(["2026-12", "2026-13", "2026-1"])),
            lambda: p.update(user_id=p["user_id"] + "x"), lambda: p.update(nonce=p["nonce"].upper()),
            lambda: p.update(nonce="11" * 32), lambda: p.update(commitment="22" * 32),
            lambda: p.update(version=rng.choice(["por-v2", "por-v4", "POR-V3"])),
            lambda: rng.choice(_objects(p)).update(extra=rng.choice([1, "x", None, {}])),
            lambda: (lambda o: o.pop(rng.choice(list(o))) if o else None)(rng.choice(_objects(p))),
            lambda: p.update(holdings=[]), lambda: p.update(holdings={}),
            # the manifest
            lambda: mt["root"].update(hash="cd" * 32), lambda: amount_change(mt["root"], rng.choice(["equity", "debt"])),
            lambda: mt.update(height=mt["height"] + 1), lambda: mt.update(asset="OTHER"),
            lambda: mt.update(bucket_bits=mt["bucket_bits"] + 1, height=mt["height"] + 1),
            lambda: m["parameters"].update(padding=(m["parameters"]["padding"] + 1) % 101),
            lambda: m["assets"][0].update(decimals=(m["assets"][0]["decimals"] + 1) % 39),
            lambda: m.update(commitment="33" * 32), lambda: m.update(period="2030-01"),
            lambda: m.update(version=rng.choice(["por-v2", "por-v1", "por-v9"])), lambda: m.pop("files"),
            lambda: m.update(hash="sha256"), lambda: m.update(files=[]), lambda: m.pop("trees"),
            lambda: rng.choice(_objects(m)).update(extra=1),
            lambda: (lambda o: o.pop(rng.choice(list(o))) if o else None)(rng.choice(_objects(m)))]
    # a malicious exchange publishes a manifest whose commitment is its (changed) fields' value
    held_tree = next((t for t in m["trees"] if any(h.get("asset") == t.get("asset") for h in holdings)), mt)
    recommitted = [lambda: amount_change(mt["root"], rng.choice(["equity", "debt"])),
                   lambda: held_tree["root"].update(equity=str(int(held_tree["root"]["equity"]) + 1)),
                   lambda: held_tree["root"].update(debt=str(int(held_tree["root"]["debt"]) + 1)),
                   lambda: mt["root"].update(hash="ef" * 32),
                   lambda: m["parameters"].update(fragments=m["parameters"]["fragments"] % 8 + 1),
                   lambda: m["parameters"].update(padding=(m["parameters"]["padding"] + 1) % 101),
                   lambda: m["assets"][-1].update(decimals=(m["assets"][-1]["decimals"] + 1) % 39),
                   lambda: m.update(period="2031-07"),
                   lambda: mt.update(bucket_bits=(mt["bucket_bits"] + 1) % 25, height=(mt["bucket_bits"] + 1) % 25
                                     + mt["bucket_height"]),
                   lambda: mt.update(bucket_height=mt["bucket_height"] + 1, height=mt["height"] + 1)]
    if rng.random() < 0.25:
        rng.choice(recommitted)()
        m["commitment"] = recommit(m)
    else:
        rng.choice(ops)()
    return p, m


def recommit(manifest: dict) -> str:
    """The commitment of a manifest's own fields (``protocol.v3``), as whoever changed them would write it."""
    assets = [(a["symbol"], a["decimals"]) for a in manifest["assets"]]
    trees = [v3.TreeRoot(t["bucket_bits"], t["bucket_height"], bytes.fromhex(t["root"]["hash"]), int(t["root"]["equity"]),
                         int(t["root"]["debt"])) for t in manifest["trees"]]
    params = v3.Parameters(manifest["parameters"]["fragments"], manifest["parameters"]["padding"])
    return v3.commitment(manifest["period"], params, assets, trees).hex()


def _huge(doc: dict, rng: random.Random) -> bytes:
    """The document with one integer or amount replaced by a huge or out-of-range integer literal."""
    holders = [(o, k) for o in _objects(doc) for k, v in o.items()
               if (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.isdigit())]
    if not holders:
        return dumps(doc)
    holder, key = rng.choice(holders)
    saved, holder[key] = holder[key], "@@HUGE@@"
    raw = json.dumps(doc).replace('"@@HUGE@@"', rng.choice(HUGE)).encode()
    holder[key] = saved
    return raw


def fuzz_cases(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    sets = _sets()
    cases = []
    for i in range(count):
        proof, manifest = rng.choice(sets)
        announced = manifest["commitment"] if rng.random() < 0.3 else None
        user = rng.choice([None] * 7 + [proof["user_id"], proof["user_id"] + "x", "e\u0301"])
        kind = rng.random()
        p, m = proof, manifest
        if kind < 0.55:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                p, m = _semantic(p, m, rng)
            praw, mraw = dumps(p), dumps(m)
        elif kind < 0.7:
            target = rng.choice(["proof", "proof", "manifest"]) if announced is None else "proof"
            if target == "proof":
                p = _structural(p, rng)
            else:
                m = _structural(m, rng)
            praw, mraw = dumps(p), dumps(m)
        elif kind < 0.8:
            praw, mraw = dumps(p), dumps(m)
            if announced is None and rng.random() < 0.3:
                mraw = _huge(copy.deepcopy(m), rng)
            else:
                praw = _huge(copy.deepcopy(p), rng)
        elif kind < 0.9:
            text = json.dumps(p, separators=(",", ":"), ensure_ascii=False)
            praw, mraw = rng.choice(TEXT_TRICKS)(text).encode("utf-8", "surrogatepass"), dumps(m)
        else:
            raw = bytearray(json.dumps(p, separators=(",", ":")).encode())
            for _ in range(rng.randint(1, 3)):
                op, at = rng.random(), rng.randrange(len(raw))
                if op < 0.5:
                    raw[at] ^= 1 << rng.randrange(8)
                elif op < 0.75:
                    del raw[at]
                else:
                    raw.insert(at, rng.choice([0x00, 0x0a, 0x22, 0x5c, 0x80, 0xc3, 0xff, 0x30]))
            praw, mraw = bytes(raw), dumps(m)
        if rng.random() < 0.03:
            announced = rng.choice(["", "00" * 32, manifest["commitment"].upper(), manifest["commitment"] + "\n"])
        cases.append({"id": i, "proof": praw, "manifest": None if announced is not None else mraw,
                      "announced": announced, "user": user})
    return cases


def test_python_node_and_the_page_agree_on_fuzzed_por_v3_proofs(tmp_path, page):
    """Thousands of mutated por-v3 proofs and manifests: Python, Node (one process for all) and the page give the
    same verdict and the same first failing check, none crashes, and the mutations reach every check of section 8."""
    cases = fuzz_cases(2026_03, CASES)
    js = node_verdicts(tmp_path, cases)
    in_page = page_run(page, cases[: max(1, CASES // 3)])
    disagreements, checks = [], {}
    for c in cases:
        want = python_verdict(c["proof"], c["manifest"], c["announced"], c["user"])
        got = {k: v for k, v in js[c["id"]].items() if k in ("valid", "check")}
        if got != want:
            disagreements.append(("node", c["id"], want, js[c["id"]], c["proof"][:300]))
        if c["id"] in in_page:
            got_page = {k: v for k, v in in_page[c["id"]].items() if k == "valid" or (k == "check" and v is not None)}
            if got_page != want:
                disagreements.append(("page", c["id"], want, in_page[c["id"]], c["proof"][:300]))
        checks[want.get("check", "VALID")] = checks.get(want.get("check", "VALID"), 0) + 1
    assert not disagreements, f"{len(disagreements)} disagreements of {len(cases)}; first: {disagreements[:3]}"
    reached = set(checks)
    assert {"input", "format", "number", "version", "period", "user-id", "manifest", "assets", "parameters", "shape",
            "holdings", "fragments", "holding-sum", "path-length", "position", "sum-overflow", "root-hash",
            "root-sums", "commitment", "proof-root"} <= reached, checks
    assert checks.get("VALID", 0) < len(cases) // 4, checks


def python_check(proof, manifest=None, announced=None, user=None) -> str | None:
    try:
        verify_proof(proof, manifest=manifest, root_hash=announced, user_id=user)
    except VerificationError as exc:
        return exc.check
    return None


def test_several_faults_at_once_fail_the_same_first_check(tmp_path, page):
    """Two to four semantic faults in one proof (and manifest): the first failing check is the same in Python, Node
    and the page, so the order of section 8 is one order in every verifier."""
    rng = random.Random(77)
    sets = _sets()
    cases = []
    for i in range(600):
        p, m = rng.choice(sets)
        for _ in range(rng.randint(2, 4)):
            p, m = _semantic(p, m, rng)
        announced = m.get("commitment") if rng.random() < 0.3 and isinstance(m.get("commitment"), str) else None
        cases.append({"id": i, "proof": dumps(p), "manifest": None if announced else dumps(m), "announced": announced,
                      "user": rng.choice([None, p.get("user_id") if isinstance(p.get("user_id"), str) else None])})
    js = node_verdicts(tmp_path, cases)
    in_page = page_run(page, cases)
    for c in cases:
        want = python_verdict(c["proof"], c["manifest"], c["announced"], c["user"])
        assert {k: v for k, v in js[c["id"]].items() if k in ("valid", "check")} == want, (c["id"], js[c["id"]])
        assert {k: v for k, v in in_page[c["id"]].items() if k == "valid" or (k == "check" and v is not None)} == want


def test_a_signed_por_v3_manifest_is_checked_alike(tmp_path, page):
    """The exchange's Ed25519 signature over a por-v3 manifest (RFC 8785 bytes, a published month's ``previous`` and
    ``publication`` included): valid in Python, Node and the page; a manifest changed after signing (its commitment
    recomputed, so only the signature can tell) is ``signature`` everywhere, before any proof check; a broken proof
    beside a valid signature is ``format``. The command lines say the same with ``--public-key``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pipeline.publication.signing import public_key_pem, sign_manifest
    from tests.test_differential import page_verdicts, python_verdict_signed
    from tests.test_js_verifier import invalid_line, three_clis

    shape = shapes()[0]
    proof = load(shape, "proofs.json")[0]
    manifest = {**load(shape, "manifest.json"), "previous": None,
                "publication": {"tool": "por test", "verifier": "00" * 32}}
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    signed = {"signature": sign_manifest(key, manifest), "public_key": public_key_pem(key.public_key()).decode()}
    changed = copy.deepcopy(manifest)
    changed["trees"][0]["root"]["equity"] = str(int(changed["trees"][0]["root"]["equity"]) + 1)
    changed["commitment"] = recommit(changed)
    cases = [{"id": i, "name": name, "proof": dumps(p), "manifest": dumps(m), "announced": None, "user": None,
              "signed": signed, "expect": expect}
             for i, (name, p, m, expect) in enumerate([
                 ("signed", proof, manifest, None), ("changed after signing", proof, changed, "signature"),
                 ("broken proof, changed manifest", dict(proof, nonce="zz"), changed, "signature"),
                 ("broken proof", dict(proof, nonce="zz"), manifest, "format")])]
    js = node_verdicts(tmp_path, cases)
    in_page = page_verdicts(page, cases)
    for c in cases:
        want = {"valid": True} if c["expect"] is None else {"valid": False, "check": c["expect"]}
        assert python_verdict_signed(c) == want, c["name"]
        assert {k: v for k, v in js[c["id"]].items() if k in ("valid", "check")} == want, (c["name"], js[c["id"]])
        assert {k: v for k, v in in_page[c["id"]].items() if k == "valid" or (k == "check" and v is not None)} == want
    (tmp_path / "key.pem").write_text(signed["public_key"])
    (tmp_path / "signature.json").write_text(json.dumps(signed["signature"]))
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    for m, ok in ((manifest, True), (changed, False)):
        (tmp_path / "manifest.json").write_text(json.dumps(m))
        for cli, proc in three_clis(str(tmp_path / "proof.json"), str(tmp_path / "manifest.json"),
                                    public_key=str(tmp_path / "key.pem")).items():
            if ok:
                assert proc.returncode == 0 and "manifest signature: valid" in proc.stdout, (cli, proc.stderr)
                assert proc.stdout.startswith(verify_proof(proof, manifest=manifest).summary()), cli
            else:
                assert proc.returncode == 1 and invalid_line(proc).startswith("INVALID proof: signature"), (cli,
                                                                                                          proc.stderr)


def test_a_page_with_a_por_v3_manifest_built_in(tmp_path, page):
    """``por verifier-page --manifest`` with a por-v3 manifest: the page names its period and announced value, and
    verifies a proof against it with nothing else given (a mutation against it fails its recorded check)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from typer.testing import CliRunner

    from pipeline.cli import app

    shape = shapes()[0]
    manifest = load(shape, "manifest.json")
    path = tmp_path / "embedded.html"
    result = CliRunner().invoke(app, ["verifier-page", str(path), "--manifest", os.path.join(VECTORS, shape,
                                                                                           "manifest.json")])
    assert result.exit_code == 0, result.output
    page.get(f"file://{path}")
    WebDriverWait(page, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    help_text = page.find_element(By.ID, "manifest-help").text
    assert manifest["period"] in help_text and manifest["commitment"] in help_text and "built into this page" in help_text
    mutation = next(m for m in load(shape, "mutations.json") if not m["expected"]["valid"])
    for proof, want in ((load(shape, "proofs.json")[0], ("valid", "")),
                        (mutation["proof"], ("invalid", mutation["expected"]["check"]))):
        page.execute_script("document.getElementById('proof').value = arguments[0];"
                            "document.body.dataset.verdict = '';", json.dumps(proof))
        page.find_element(By.ID, "verify").click()
        WebDriverWait(page, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
        body = page.find_element(By.TAG_NAME, "body")
        assert (body.get_attribute("data-verdict"), body.get_attribute("data-check")) == want
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
