"""Numbers people can read, by one rule (issue 24, item 3): Python's ``protocol.amounts.readable_units`` and
JavaScript's ``readableUnits`` (web/verify.mjs) against the same table of cases (tests/readable-amounts.json),
and the exact value one flag away (``--exact``) in both."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pipeline.protocol.amounts import CUT, MAX_SHOWN_DECIMALS, readable_units, shown_units
from tests.support.node import node

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "readable-amounts.json")
WEB = os.path.join(ROOT, "pipeline", "web")


def table() -> dict:
    with open(CASES, encoding="utf-8") as f:
        return json.load(f)


def test_the_table_states_the_rule_both_implement():
    doc = table()
    assert (doc["max_shown_decimals"], doc["cut"]) == (MAX_SHOWN_DECIMALS, CUT)
    assert len(doc["cases"]) >= 20
    assert any(c["readable"].endswith(CUT) for c in doc["cases"]) and any(c["units"].startswith("-") for c in doc["cases"])


def test_python_shows_every_case_as_the_table_says():
    for c in table()["cases"]:
        units = int(c["units"])
        assert readable_units(units, c["decimals"]) == c["readable"], c
        assert shown_units(units, c["decimals"]) == c["readable"], c
        assert shown_units(units, c["decimals"], exact=True) == c["exact"], c


def test_the_report_s_rule_is_this_one():
    """The report (formats.numbers.amount) shows amounts by the same function."""
    from pipeline.formats import numbers

    for c in table()["cases"]:
        if not c["units"].startswith("-"):
            assert numbers.amount(int(c["units"]), c["decimals"]) == c["readable"], c


def test_node_shows_every_case_as_the_table_says():
    module = json.dumps("file://" + os.path.join(WEB, "verify.mjs"))
    script = f"""
        import {{ readFileSync }} from "node:fs";
        import {{ readableUnits, shownUnits, toSignedUnits, MAX_SHOWN_DECIMALS, CUT }} from {module};
        const doc = JSON.parse(readFileSync({json.dumps(CASES)}, "utf8"));
        console.log(JSON.stringify({{ max: MAX_SHOWN_DECIMALS, cut: CUT, cases: doc.cases.map((c) => [
          readableUnits(BigInt(c.units), c.decimals), shownUnits(BigInt(c.units), c.decimals),
          shownUnits(BigInt(c.units), c.decimals, true), toSignedUnits(BigInt(c.units), c.decimals)]) }}));
    """
    proc = node("--input-type=module", "-e", script)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    doc = table()
    assert (out["max"], out["cut"]) == (doc["max_shown_decimals"], doc["cut"])
    for c, (readable, shown, exact, signed) in zip(doc["cases"], out["cases"], strict=True):
        assert (readable, shown, exact, signed) == (c["readable"], c["readable"], c["exact"], c["exact"]), c


def test_the_verifiers_print_readable_amounts_and_every_digit_with_exact(tmp_path):
    """por verify, python -m pipeline.verify and the Node CLI: readable by default, a cut said once; --exact prints
    every digit; the three print the same bytes either way."""
    vectors = os.path.join(ROOT, "schemas", "vectors", "por-v3", "basic")
    manifest = os.path.join(vectors, "manifest.json")
    with open(os.path.join(vectors, "proofs.json"), encoding="utf-8") as f:
        proofs = json.load(f)
    carol = next(p for p in proofs if p["user_id"] == "carol")  # 1 wei of ETH: cut
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(carol), encoding="utf-8")
    por = os.path.join(os.path.dirname(sys.executable), "por")
    for flags in ([], ["--exact"]):
        outs = [subprocess.run([por, "verify", str(path), "--manifest", manifest, *flags], capture_output=True, text=True),
                subprocess.run([sys.executable, "-m", "pipeline.verify", str(path), "--manifest", manifest, *flags],
                               capture_output=True, text=True, cwd=ROOT),
                node(os.path.join(WEB, "verify-cli.mjs"), str(path), manifest, *flags)]
        assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
        assert len({o.stdout for o in outs}) == 1, [o.stdout for o in outs]
        eth = next(line for line in outs[0].stdout.splitlines() if line.split()[:1] == ["ETH"])
        if flags:
            assert eth.split() == ["ETH", "0.000000000000000001", "0.000000000000000000", "0.000000000000000001"]
            assert CUT not in outs[0].stdout
        else:
            assert eth.split() == ["ETH", f"0.00000000{CUT}", "0", f"0.00000000{CUT}"]
            assert f"{CUT} marks decimals cut (at most 8 are shown, never rounded up): --exact prints every digit." in \
                outs[0].stdout.splitlines()
    alice = next(p for p in proofs if p["user_id"] == "alice")
    path.write_text(json.dumps(alice), encoding="utf-8")
    out = subprocess.run([por, "verify", str(path), "--manifest", manifest], capture_output=True, text=True).stdout
    usdt = next(line for line in out.splitlines() if line.split()[:1] == ["USDT"])
    assert usdt.split() == ["USDT", "250", "1,000", "-750"] and "--exact" not in out  # nothing cut: no note
