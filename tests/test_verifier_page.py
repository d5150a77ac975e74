"""The offline verifier page in a real headless Chromium, opened from file://."""

from __future__ import annotations

import base64
import json
import os

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.protocol.amounts import CUT, readable_units, to_units
from pipeline.webmodule import ensure_browser_module
from tests.support.browser import chromium_driver
from tests.support.install import required
from tests.support.node import official_blake3_cases

pytestmark = pytest.mark.e2e

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPE = os.path.join(ROOT, "schemas", "vectors", "por-v1", "basic")


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = required("Chromium (headless browser)", lambda: chromium_driver(str(tmp_path_factory.mktemp("chromium-profile"))))
    yield d
    d.quit()


def load(name):
    with open(os.path.join(SHAPE, name), encoding="utf-8") as f:
        return json.load(f)


def open_page(driver, path):
    driver.get(f"file://{path}")
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")


def verify_in_page(driver, proof, manifest=None):
    driver.execute_script("document.getElementById('proof').value = arguments[0];", json.dumps(proof))
    if manifest is not None:
        driver.execute_script("document.getElementById('manifest').value = arguments[0];", json.dumps(manifest))
    driver.execute_script("document.body.dataset.verdict = '';")
    driver.find_element(By.ID, "verify").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
    checks = {li.get_attribute("data-check"): li.get_attribute("class")
              for li in driver.find_elements(By.CSS_SELECTOR, "#checks li")}
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"), checks


def severe_console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_page_verifies_and_rejects(driver, tmp_path):
    page = tmp_path / "verifier.html"
    result = CliRunner().invoke(app, ["verifier-page", str(page)])
    assert result.exit_code == 0, result.output
    open_page(driver, page)
    manifest = load("manifest.json")
    proof = next(p for p in load("proofs.json") if p["user_id"] == "alice")

    verdict, checks = verify_in_page(driver, proof, manifest)
    assert verdict == "valid"
    # no account id entered: every check passed, the account's is said not to have run
    assert checks.pop("user-id") == "skip" and set(checks.values()) == {"pass"} and len(checks) == 10
    assert driver.find_element(By.ID, "period").text == manifest["period"]
    assert driver.find_element(By.ID, "root").text == manifest["root"]["hash"]
    shown = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#balances td.amount")]
    want = [readable_units(int(v), a["decimals"]) for v, a in zip(proof["balances"], manifest["assets"], strict=True)]
    assert shown == want

    for mutation in load("mutations.json"):
        if mutation["name"] not in ("path[2].hash-bit-flip", "sum-splitting", "wrong-period", "balance-negative"):
            continue
        verdict, checks = verify_in_page(driver, mutation["proof"])
        expected_row = {"number": "format"}.get(mutation["expected"]["check"], mutation["expected"]["check"])
        assert verdict == "invalid", mutation["name"]
        assert checks[expected_row] == "fail", (mutation["name"], checks)
        assert "NOT VALID" in driver.find_element(By.ID, "verdict").text

    verdict, checks = verify_in_page(driver, {"not": "a proof"})
    assert verdict == "invalid"
    assert severe_console_errors(driver) == []
    requests = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'));")
    assert requests == []


def test_page_with_embedded_manifest(driver, tmp_path):
    page = tmp_path / "embedded.html"
    manifest_path = os.path.join(SHAPE, "manifest.json")
    result = CliRunner().invoke(app, ["verifier-page", str(page), "--manifest", manifest_path])
    assert result.exit_code == 0 and "2026-11 manifest embedded" in result.output
    open_page(driver, page)
    assert "built into this page" in driver.find_element(By.ID, "manifest-help").text
    proof = load("proofs.json")[0]
    verdict, checks = verify_in_page(driver, proof)  # no manifest pasted: the embedded one is used
    assert verdict == "valid"
    assert severe_console_errors(driver) == []
    refused = CliRunner().invoke(app, ["verifier-page", str(page)])
    assert refused.exit_code == 1 and "already exists" in refused.stderr


def set_user(driver, user):
    driver.execute_script("document.getElementById('user-id').value = arguments[0];", user)


def test_page_shows_the_account_and_checks_the_id_entered(driver, tmp_path):
    """Security finding 2: the page shows whose proof it is, and a proof for another id fails its own check."""
    shape = os.path.join(ROOT, "schemas", "vectors", "por-v2", "basic")
    manifest = json.load(open(os.path.join(shape, "manifest.json")))
    proof = json.load(open(os.path.join(shape, "proofs.json")))[0]
    page = tmp_path / "verifier.html"
    assert CliRunner().invoke(app, ["verifier-page", str(page)]).exit_code == 0
    open_page(driver, page)
    set_user(driver, proof["user_id"])
    verdict, checks = verify_in_page(driver, proof, manifest)
    assert verdict == "valid" and checks["user-id"] == "pass" and checks["commitment"] == "pass"
    assert driver.find_element(By.ID, "account").text == f"'{proof['user_id']}'"  # as every verifier prints it
    assert driver.find_element(By.ID, "announced").text == manifest["commitment"]
    set_user(driver, proof["user_id"] + "-someone-else")
    verdict, checks = verify_in_page(driver, proof, manifest)
    assert verdict == "invalid" and checks["user-id"] == "fail"
    tailored = json.loads(json.dumps(manifest))
    tailored["assets"][0]["decimals"] = 6  # the audit's attack: same root, balance shown 100x too large
    set_user(driver, "")
    verdict, checks = verify_in_page(driver, proof, tailored)
    assert verdict == "invalid"
    assert not severe_console_errors(driver)


def test_official_blake3_vectors_run_against_what_the_page_embeds(driver, tmp_path):
    """The page's BLAKE3 is the pinned @noble/hashes bundle, mapped by the page's import map; the
    official recipe runs through the module the page itself imports, in Chromium, in every mode;
    the package's licence is on the page."""
    page = tmp_path / "verifier.html"
    result = CliRunner().invoke(app, ["verifier-page", str(page)])
    assert result.exit_code == 0, result.output
    open_page(driver, page)
    mapped = driver.execute_script(
        "return JSON.parse(document.querySelector('script[type=importmap]').textContent).imports;")
    assert list(mapped) == ["@noble/hashes/blake3.js"]
    with open(ensure_browser_module(), encoding="utf-8") as f:
        bundle = f.read()
    assert base64.b64decode(mapped["@noble/hashes/blake3.js"].split(",", 1)[1]).decode("utf-8") == bundle
    doc = official_blake3_cases()
    outcome = driver.execute_async_script("""
        const [doc, done] = arguments;
        const source = document.getElementById('por-verify-module').textContent.trim();
        Promise.all([import('data:text/javascript;base64,' + source), import('@noble/hashes/blake3.js')])
          .then(([m, noble]) => {
            const key = new TextEncoder().encode(doc.key);
            const failures = [];
            for (const c of doc.cases) {
              const input = Uint8Array.from({length: c.input_len}, (_, i) => i % 251);
              const got = {
                hash: m.bytesToHex(m.blake3(input, c.hash.length / 2)),
                keyed_hash: m.bytesToHex(m.blake3Keyed(key, input, c.keyed_hash.length / 2)),
                derive_key: m.bytesToHex(m.blake3DeriveKey(doc.context_string, input, c.derive_key.length / 2)),
              };
              for (const mode of ['hash', 'keyed_hash', 'derive_key'])
                if (got[mode] !== c[mode]) failures.push(c.input_len + ' ' + mode);
            }
            done({failures, checked: doc.cases.length * 3, noble: typeof noble._BLAKE3});
          }, (e) => done({error: String(e)}));
    """, doc)
    assert outcome == {"failures": [], "checked": 3 * len(doc["cases"]), "noble": "function"}
    licence = driver.find_element(By.ID, "licence").get_attribute("textContent")
    assert "@noble/hashes 2." in licence and "Paul Miller" in licence and "MIT License" in licence
    assert severe_console_errors(driver) == []


def load_file(driver, input_id, area_id, path):
    """Choose ``path`` in a file input, as a user does, and wait for the page to have read it."""
    driver.execute_script("document.getElementById(arguments[0]).value = '';"
                          "document.getElementById(arguments[1]).value = '';", input_id, area_id)
    driver.find_element(By.ID, input_id).send_keys(str(path))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "return document.getElementById(arguments[0]).value !== '';", area_id))


def click_verify(driver):
    driver.execute_script("document.body.dataset.verdict = '';")
    driver.find_element(By.ID, "verify").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
    body = driver.find_element(By.TAG_NAME, "body")
    return body.get_attribute("data-verdict"), body.get_attribute("data-check")


def test_page_reads_files_as_bytes_like_both_command_lines(driver, tmp_path):
    """Item 12: a file is verified as the bytes it holds (not File.text(), which drops a byte-order mark
    and replaces bytes that are not UTF-8): a BOM'd or non-UTF-8 proof or manifest is ``input`` on the
    page as in both CLIs; pasted text is read as its UTF-8 bytes under the same rules."""
    page = tmp_path / "verifier.html"
    assert CliRunner().invoke(app, ["verifier-page", str(page)]).exit_code == 0
    open_page(driver, page)
    shape = os.path.join(ROOT, "schemas", "vectors", "por-v2", "basic")
    with open(os.path.join(shape, "manifest.json"), "rb") as f:
        manifest = f.read()
    proof = json.dumps(json.load(open(os.path.join(shape, "proofs.json")))[0]).encode()
    files = {"proof.json": proof, "manifest.json": manifest, "bom-proof.json": b"\xef\xbb\xbf" + proof,
             "bom-manifest.json": b"\xef\xbb\xbf" + manifest,
             "latin1-proof.json": proof.replace(b'"user_id": "', b'"user_id": "\xe9', 1),
             "overlong-proof.json": proof.replace(b'"user_id": "', b'"user_id": "\xc0\xaf', 1),
             "surrogate-proof.json": proof.replace(b'"user_id": "', b'"user_id": "\xed\xa0\x80', 1),
             "truncated-proof.json": proof[:-1] + b"\xe2\x82"}
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)

    def run(proof_file, manifest_file):
        load_file(driver, "proof-file", "proof", tmp_path / proof_file)
        load_file(driver, "manifest-file", "manifest", tmp_path / manifest_file)
        return click_verify(driver)

    assert run("proof.json", "manifest.json") == ("valid", "")
    for bad in ("bom-proof.json", "latin1-proof.json", "overlong-proof.json", "surrogate-proof.json",
                "truncated-proof.json"):
        assert run(bad, "manifest.json") == ("invalid", "input"), bad
        assert "the proof: not valid JSON" in driver.find_element(By.ID, "checks").text, bad
    assert run("proof.json", "bom-manifest.json") == ("invalid", "input")
    assert "the manifest: not valid JSON (starts with a byte-order mark)" in driver.find_element(By.ID, "checks").text
    # once the loaded text is edited, the text is what is verified (here: the BOM removed by hand)
    load_file(driver, "manifest-file", "manifest", tmp_path / "manifest.json")
    load_file(driver, "proof-file", "proof", tmp_path / "bom-proof.json")
    assert click_verify(driver) == ("invalid", "input")
    driver.execute_script("const a = document.getElementById('proof'); a.value = a.value.slice(1);"
                          "a.dispatchEvent(new Event('input'));")
    assert click_verify(driver) == ("valid", "")
    # pasted text: its UTF-8 bytes, under the same rules
    for text, want in ((proof.decode(), ("valid", "")), ("\ufeff" + proof.decode(), ("invalid", "input")),
                       (proof.decode().replace('"user_id": "', '"user_id": "@SURROGATE@', 1), ("invalid", "input"))):
        # a lone surrogate cannot cross WebDriver's JSON: the page's script puts it in place of the marker
        driver.execute_script("document.getElementById('proof').value = arguments[0].replace('@SURROGATE@', "
                              "String.fromCharCode(0xd800));", text)
        assert click_verify(driver) == want, text[:20]
    assert severe_console_errors(driver) == []


def test_page_prints_ids_escaped_as_the_command_lines_do(driver, tmp_path):
    """Item 10: the account shown, and an id in a failure, escaped by the one rule of schemas/por-v2.md."""
    from tests.test_differential import single_leaf

    page = tmp_path / "verifier.html"
    assert CliRunner().invoke(app, ["verifier-page", str(page)]).exit_code == 0
    open_page(driver, page)
    proof, manifest = single_leaf("por-v2", "jos\u00e9 O'Brien")
    verdict, _ = verify_in_page(driver, proof, manifest)
    assert verdict == "valid"
    assert driver.find_element(By.ID, "account").text == "'jos\\u{00E9} O\\'Brien'"
    proof, manifest = single_leaf("por-v2", "ali\u200bce")
    verdict, checks = verify_in_page(driver, proof, manifest)
    assert verdict == "invalid" and checks["format"] == "fail"
    assert ("format: user_id contains an invisible format character U+200B: 'ali\\u{200B}ce'"
            in driver.find_element(By.ID, "checks").text)


# ------------------------------------------------------------------------------------------------------
# Issue 24, items 3 and 4: readable amounts with every digit one click away; no account id said plainly; the
# signing key's fingerprint and where to compare it; the built-in manifest summarised; an unreadable file of the
# user's own first suggests downloading it again.

V3_BASIC = os.path.join(ROOT, "schemas", "vectors", "por-v3", "basic")


def v3_vectors():
    with open(os.path.join(V3_BASIC, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    with open(os.path.join(V3_BASIC, "proofs.json"), encoding="utf-8") as f:
        return manifest, json.load(f)


def cells(driver):
    return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, "#balances tr")]


def test_page_shows_readable_amounts_and_every_digit_one_click_away(driver, tmp_path):
    """The report's rule on the page (verify.mjs readableUnits, the command lines' figures); every digit on hover
    and after one click on "Show every digit"; a cut is said under the table."""
    page = tmp_path / "verifier.html"
    assert CliRunner().invoke(app, ["verifier-page", str(page)]).exit_code == 0
    open_page(driver, page)
    manifest, proofs = v3_vectors()
    carol = next(p for p in proofs if p["user_id"] == "carol")  # 1 wei of ETH: cut at 8 decimals
    set_user(driver, "carol")
    verdict, _ = verify_in_page(driver, carol, manifest)
    assert verdict == "valid"
    held = {h["asset"]: (int(h["equity"]), int(h["debt"])) for h in carol["holdings"]}
    readable, exact = [], []
    for a in manifest["assets"]:
        e, d = held.get(a["symbol"], (0, 0))
        readable.append([a["symbol"], *(readable_units(v, a["decimals"]) for v in (e, d, e - d))])
        exact.append([a["symbol"], to_units(e, a["decimals"]), to_units(d, a["decimals"]),
                      ("-" if e < d else "") + to_units(abs(e - d), a["decimals"])])
    assert cells(driver) == readable and any(CUT in text for r in readable for text in r)
    titles = [td.get_attribute("title") for td in driver.find_elements(By.CSS_SELECTOR, "#balances td.amount")]
    assert titles == [text for r in exact for text in r[1:]]  # every digit on hover
    note = driver.find_element(By.ID, "cut-note")
    assert note.is_displayed() and f"{CUT} marks decimals cut (at most 8 are shown, never rounded up)" in note.text
    toggle = driver.find_element(By.ID, "exact-toggle")
    assert toggle.text == "Show every digit"
    toggle.click()
    assert cells(driver) == exact and toggle.text == "Show readable amounts"
    toggle.click()
    assert cells(driver) == readable
    alice = next(p for p in proofs if p["user_id"] == "alice")
    set_user(driver, "alice")
    verify_in_page(driver, alice, manifest)
    assert ["USDT", "250", "1,000", "-750"] in cells(driver)
    assert not driver.find_element(By.ID, "cut-note").is_displayed()  # nothing cut, nothing said
    assert severe_console_errors(driver) == []


def test_page_without_an_account_id_says_the_proof_was_not_checked_against_it(driver, tmp_path):
    page = tmp_path / "verifier.html"
    assert CliRunner().invoke(app, ["verifier-page", str(page)]).exit_code == 0
    open_page(driver, page)
    manifest, proofs = v3_vectors()
    set_user(driver, "")
    verdict, checks = verify_in_page(driver, proofs[0], manifest)
    assert verdict == "valid" and checks["user-id"] == "skip"
    assert "Not checked against your account: no account id was entered." in driver.find_element(By.ID, "verdict").text
    warning = driver.find_element(By.ID, "no-account")
    assert warning.is_displayed()
    assert "not checked against your account" in warning.text and "Two accounts never share a proof" in warning.text
    assert "enter your account id" in warning.text
    assert "Not checked: no account id was entered" in driver.find_element(By.CSS_SELECTOR, "li[data-check=user-id]").text
    set_user(driver, proofs[0]["user_id"])
    verdict, checks = verify_in_page(driver, proofs[0], manifest)
    assert verdict == "valid" and checks["user-id"] == "pass"
    assert not driver.find_element(By.ID, "no-account").is_displayed()
    assert "Not checked" not in driver.find_element(By.ID, "verdict").text
    set_user(driver, "")
    verdict, _ = verify_in_page(driver, dict(proofs[0], nonce="zz"), manifest)  # NOT VALID: no account sentence
    assert verdict == "invalid" and not driver.find_element(By.ID, "no-account").is_displayed()
    assert severe_console_errors(driver) == []


def test_page_shows_the_signing_key_and_where_to_compare_it_and_the_built_in_manifest(driver, tmp_path):
    """A month's page (manifest, signature and key built in): the manifest in a few readable lines (period, protocol,
    assets, announced value), its JSON one click away; after a check of its signature, the key id (BLAKE3 of the key,
    as ``por verify --public-key`` prints it) and the published public-key.pem to compare it with."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pipeline.formats.verifier_page import render_page
    from pipeline.publication.signing import key_id, public_key_pem, sign_manifest

    manifest, proofs = v3_vectors()
    manifest = {**manifest, "previous": None, "publication": {"tool": "por test", "verifier": "00" * 32}}
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    page = tmp_path / "verifier.html"
    page.write_bytes(render_page(manifest, sign_manifest(key, manifest), public_key_pem(key.public_key()).decode()))
    open_page(driver, page)
    summary = driver.find_element(By.ID, "manifest-summary")
    assert summary.is_displayed()
    terms = [dt.text for dt in summary.find_elements(By.TAG_NAME, "dt")]
    values = [dd.text for dd in summary.find_elements(By.TAG_NAME, "dd")]
    symbols = [a["symbol"] for a in manifest["assets"]]
    assert dict(zip(terms, values, strict=True)) == {
        "Period": manifest["period"], "Protocol": "por-v3", "Assets": f"{len(symbols)}: {', '.join(symbols)}",
        "Announced value": manifest["commitment"]}
    raw = driver.find_element(By.ID, "manifest-raw")
    assert raw.get_attribute("open") is None and not driver.find_element(By.ID, "manifest").is_displayed()
    driver.find_element(By.ID, "manifest-raw-label").click()  # one click: the JSON as published
    assert driver.find_element(By.ID, "manifest").is_displayed()
    assert json.loads(driver.find_element(By.ID, "manifest").get_attribute("value")) == manifest
    set_user(driver, proofs[0]["user_id"])
    driver.execute_script("document.getElementById('proof').value = arguments[0];", json.dumps(proofs[0]))
    assert click_verify(driver) == ("valid", "")
    signer = driver.find_element(By.ID, "signer")
    assert signer.is_displayed()
    assert f"key id {key_id(key.public_key())}" in signer.text and "public-key.pem" in signer.text
    assert driver.find_element(By.CSS_SELECTOR, "li[data-check=signature]").get_attribute("class") == "pass"
    assert severe_console_errors(driver) == []


def test_page_suggests_downloading_an_unreadable_file_again_before_asking_the_exchange(driver, tmp_path):
    page = tmp_path / "verifier.html"
    assert CliRunner().invoke(app, ["verifier-page", str(page)]).exit_code == 0
    open_page(driver, page)
    manifest, proofs = v3_vectors()
    raw_proof, raw_manifest = json.dumps(proofs[0]).encode(), json.dumps(manifest).encode()
    (tmp_path / "truncated-proof.json").write_bytes(raw_proof[: len(raw_proof) // 2])
    (tmp_path / "manifest.json").write_bytes(raw_manifest)
    (tmp_path / "proof.json").write_bytes(raw_proof)
    (tmp_path / "truncated-manifest.json").write_bytes(raw_manifest[:-3])
    set_user(driver, proofs[0]["user_id"])
    for proof_file, manifest_file, what in (("truncated-proof.json", "manifest.json", "your proof file"),
                                            ("proof.json", "truncated-manifest.json", "the manifest")):
        load_file(driver, "proof-file", "proof", tmp_path / proof_file)
        load_file(driver, "manifest-file", "manifest", tmp_path / manifest_file)
        assert click_verify(driver) == ("invalid", "input")
        text = driver.find_element(By.ID, "verdict").text
        assert text.startswith(f"NOT VALID: {what} cannot be read"), text
        assert text.index("again") < text.index("ask the exchange"), text  # download again first
    driver.execute_script("document.getElementById('proof').value = arguments[0];", json.dumps(dict(proofs[0],
                                                                                                    nonce="zz")))
    load_file(driver, "manifest-file", "manifest", tmp_path / "manifest.json")
    driver.execute_script("document.getElementById('proof').value = arguments[0];", json.dumps(dict(proofs[0],
                                                                                                    nonce="zz")))
    assert click_verify(driver) == ("invalid", "format")  # readable but wrong: the exchange is asked, as before
    assert "ask the exchange why" in driver.find_element(By.ID, "verdict").text
    assert severe_console_errors(driver) == []
