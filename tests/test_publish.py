"""The monthly publication job end to end (por-v2 months: tests/test_report_v3.py publishes por-v3's, with debt): three consecutive months into a fresh archive,
regenerated with MATCH; a tampered archived snapshot; an altered past manifest; a refused
double publication; a republication; and a failure at every step leaving the archive as it was.

Everything is real: Parquet files on disk, the 2-worker LocalCluster, Ed25519 keys, the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
from decimal import ROUND_HALF_EVEN, Context, Decimal

import pytest
from typer.testing import CliRunner

from jobs.publish import (
    STEPS,
    PublishError,
    PublishRequest,
    previous_period,
    publish_period,
)
from pipeline.cli import app
from pipeline.formats import numbers
from pipeline.formats.assets import parse_assets
from pipeline.formats.canonical import canonical_json, digest
from pipeline.errors import BundleError
from pipeline.publication import archive
from pipeline.testing.synth import (
    snapshot_totals,
    write_synth,
    write_synth_prices,
    write_synth_reserves,
)
from tests.support.snapshots import write_secret

pytestmark = pytest.mark.integration

MONTHS = ("2026-08", "2026-09", "2026-10", "2026-11")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATIOS = {"BTC": 10_500, "ETH": 9_999, "USDC": 20_000}  # USDT: no reserves at all
MOVES = {"BTC": 150, "ETH": 0, "USDC": -2_500}  # basis points per month: ratios move, ETH stays short
runner = CliRunner()
EXACT = Context(prec=200)


def por(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def tree_state(root: str) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under ``root``, hidden ones included."""
    state: dict[str, bytes | None] = {}
    if not os.path.exists(root):
        return state
    for d, dirs, files in os.walk(root):
        for name in dirs:
            state[os.path.relpath(os.path.join(d, name), root) + "/"] = None
        for name in files:
            with open(os.path.join(d, name), "rb") as f:
                state[os.path.relpath(os.path.join(d, name), root)] = f.read()
    return state


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("publish-inputs")
    secret = write_secret(str(d))
    result = por("keygen", "--signing", str(d / "sign.key"))
    assert result.exit_code == 0, result.output
    expected = {}
    for i, month in enumerate(MONTHS):
        snap = str(d / f"snap-{month}")
        write_synth(snap, 900 + 150 * i, asset_count=4, files=2, seed=40 + i)
        assets = parse_assets(open(os.path.join(snap, "assets.json")).read(), "assets.json")
        totals = snapshot_totals(snap)
        reserves = write_synth_reserves(str(d / f"reserves-{month}" / "wallets.parquet"), assets, totals,
                                        {s: bp + MOVES[s] * i for s, bp in RATIOS.items()}, seed=i)
        write_synth_prices(str(d / f"prices-{month}.json"), assets, month)
        expected[month] = (totals, reserves)
    return {"dir": d, "secret": secret, "key": str(d / "sign.key"), "pub": str(d / "sign.key.pub"),
            "expected": expected}


def publish_args(inputs, month: str, archive_dir: str, scheduler: str, *extra: str) -> list[str]:
    d = inputs["dir"]
    return ["publish", "--period", month, "--snapshot", str(d / f"snap-{month}"),
            "--reserves", str(d / f"reserves-{month}"), "--archive", archive_dir,
            "--secret-file", inputs["secret"], "--signing-key", inputs["key"], "--scheduler", scheduler,
            "--prices", str(d / f"prices-{month}.json"), "--protocol", "por-v2", *extra]


@pytest.fixture(scope="module")
def published(inputs, scheduler2, tmp_path_factory):
    """A fresh archive with 2026-08, 2026-09 and 2026-10 published through the CLI (never modified)."""
    arch = str(tmp_path_factory.mktemp("archive") / "por-archive")
    for month in MONTHS[:3]:
        result = por(*publish_args(inputs, month, arch, scheduler2))
        assert result.exit_code == 0, result.output
        assert f"published {month} revision 1" in result.output
    return arch


@pytest.fixture()
def archive_copy(published, tmp_path):
    copy = str(tmp_path / "archive")
    shutil.copytree(published, copy)
    return copy


def read_json(*parts: str):
    with open(os.path.join(*parts), encoding="utf-8") as f:
        return json.load(f)


# --------------------------------------------------------------- the happy path


def test_three_months_form_a_signed_chain(published, inputs):
    index = read_json(published, "index.json")
    assert [(e["period"], e["revision"], e["directory"]) for e in index["publications"]] == [
        (m, 1, m) for m in MONTHS[:3]]
    previous = None
    for e in index["publications"]:
        raw = open(os.path.join(published, e["directory"], "public", "manifest.json"), "rb").read()
        manifest = json.loads(raw)
        assert digest(raw) == e["manifest"] and canonical_json(manifest) == raw
        assert manifest["previous"] == previous
        assert manifest["publication"]["revision"] == 1 and manifest["publication"]["tool"].startswith("por-pipeline")
        inputs_raw = open(os.path.join(published, e["directory"], "inputs", "inputs.json"), "rb").read()
        assert manifest["publication"]["inputs"] == digest(inputs_raw)
        assert set(manifest["files"]) == {"top-tree.json", "public-key.pem", "report.json", "report.md", "report.html",
                                          "reserves.csv", "reserves.parquet"}
        # the month's verifier page embeds the signed manifest, so the manifest cannot list it
        assert os.path.exists(os.path.join(published, e["directory"], "public", "verifier.html"))
        previous = {"period": e["period"], "manifest": e["manifest"]}
        # the archived copies are byte-identical to the sources
        for name, recorded in archive.iter_input_files(json.loads(inputs_raw)):
            assert digest(open(os.path.join(published, e["directory"], name), "rb").read()) == recorded
        src = inputs["dir"] / f"snap-{e['period']}" / "part-00000.parquet"
        assert recorded_digest(published, e, "inputs/snapshot/part-00000.parquet") == digest(src.read_bytes())

    result = por("history", "verify", published, "--public-key", inputs["pub"])
    assert result.exit_code == 0, result.output
    assert "3 publication(s) of 3 month(s), 2026-08 to 2026-10" in result.output


def recorded_digest(arch, entry, name):
    return read_json(arch, entry["directory"], "inputs", "inputs.json")["snapshot"]["files"][name]


def test_reserves_ratios_and_reports(published, inputs):
    for e in read_json(published, "index.json")["publications"]:
        totals, reserves = inputs["expected"][e["period"]]
        report = read_json(published, e["directory"], "public", "report.json")
        by_symbol = {a["symbol"]: a for a in report["assets"]}
        for symbol, liabilities in totals.items():
            row = by_symbol[symbol]
            assert int(row["liabilities"]) == liabilities
            assert int(row["reserves"]) == reserves.get(symbol, 0)
            bp = reserves.get(symbol, 0) * 10_000 // liabilities  # rounded down, exactly
            assert row["ratio_percent"] == f"{bp // 100}.{bp % 100:02d}"
            assert e["ratios"][symbol] == row["ratio_percent"]
            assert e["liabilities"][symbol] == str(liabilities)
        assert by_symbol["ETH"]["ratio_percent"] in ("99.98", "99.99") and by_symbol["ETH"]["flagged"]
        assert by_symbol["USDT"]["status"] == "liabilities-only" and by_symbol["USDT"]["ratio_percent"] == "0.00"
        assert by_symbol["BTC"]["status"] == "ok" and not by_symbol["BTC"]["flagged"]
        assert report["under_100_percent"] == e["under_100_percent"] == ["ETH", "USDT"]
        assert report["liabilities_only"] == ["USDT"]
        assert report["reserves_source"]["addresses"] == 3 * len(RATIOS)
        assert [h["period"] for h in report["history"]] == [m for m in MONTHS if m <= e["period"]]
        assert report["root"] == read_json(published, e["directory"], "public", "manifest.json")["root"]
        md = open(os.path.join(published, e["directory"], "public", "report.md"), encoding="utf-8").read()
        assert report["root"]["hash"] in md and "**Under 100%:** ETH, USDT." in md
        page = open(os.path.join(published, e["directory"], "public", "report.html"), encoding="utf-8").read()
        assert 'id="chart-ratios"' in page and 'id="chart-liabilities"' in page
        # US dollars: exact products of the archived prices, rounded to cents once
        prices = json.loads((inputs["dir"] / f"prices-{e['period']}.json").read_text())["prices"]
        usd = report["usd"]
        for symbol, liabilities in totals.items():
            value = (Decimal(liabilities) * Decimal(prices[symbol])).scaleb(-by_symbol[symbol]["decimals"], EXACT)
            assert usd["assets"][symbol]["liabilities"] == str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
        total = sum((Decimal(reserves.get(s, 0)) * Decimal(prices[s])).scaleb(-by_symbol[s]["decimals"], EXACT) for s in totals)
        assert usd["total"]["reserves"] == str(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
        assert report["snapshot_time"] == usd["timestamp"] and usd["source"].startswith("synthetic prices")
        assert f"Total reserves: {numbers.usd(usd['total']['reserves'])}" in md
        # the history: every month's ratios from its signed report, this month's included
        months = [m for m in MONTHS if m <= e["period"]]
        btc = [next(a for a in read_json(published, m, "public", "report.json")["assets"] if a["symbol"] == "BTC")
               for m in months]
        assert [h["ratios"]["BTC"] for h in report["history"]] == [a["ratio_percent"] for a in btc]
        assert len({a["ratio_percent"] for a in btc}) == len(months)  # the ratios moved month to month
        assert all(h["reserves_usd"] for h in report["history"])
        archived = read_json(published, e["directory"], "inputs", "inputs.json")["prices"]["files"]
        assert list(archived) == ["inputs/prices.json"]
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_regenerate_every_period_matches(published, inputs, scheduler2):
    for month in MONTHS[:3]:
        result = por("regenerate", "--period", month, "--archive", published, "--secret-file", inputs["secret"],
                     "--scheduler", scheduler2)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"MATCH {month} (revision 1)")
    result = por("regenerate", "--all", "--archive", published, "--secret-file", inputs["secret"],
                 "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output
    assert result.output.count("MATCH ") == 3 and "MISMATCH" not in result.output


def test_archived_period_serves_proofs_and_audits(published, inputs, tmp_path, scheduler2):
    proof = str(tmp_path / "proof.json")
    d = os.path.join(published, "2026-09")
    assert por("prove", d, "--user", "U0000000042", "--secret-file", inputs["secret"], "--out", proof).exit_code == 0
    manifest = os.path.join(d, "public", "manifest.json")
    result = por("verify", proof, "--manifest", manifest, "--public-key", inputs["pub"])
    assert result.exit_code == 0, result.output
    assert "manifest signature: valid" in result.output
    result = por("audit", d, "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------- refusals and tampering


def test_double_publication_is_refused_and_changes_nothing(published, inputs, scheduler2):
    before = tree_state(published)
    result = por(*publish_args(inputs, "2026-10", published, scheduler2))
    assert result.exit_code == 1
    assert "2026-10 is already published" in result.output and "--republish" in result.output
    assert tree_state(published) == before


def test_republish_keeps_the_earlier_revision(archive_copy, inputs, scheduler2):
    before = tree_state(archive_copy)
    result = por(*publish_args(inputs, "2026-10", archive_copy, scheduler2, "--republish"))
    assert result.exit_code == 0, result.output
    after = tree_state(archive_copy)
    assert {k: v for k, v in after.items() if k in before and k != "index.json"} == \
        {k: v for k, v in before.items() if k != "index.json"}  # nothing overwritten in place
    index = read_json(archive_copy, "index.json")
    assert [(e["period"], e["revision"]) for e in index["publications"]][-2:] == [("2026-10", 1), ("2026-10", 2)]
    old, new = index["publications"][-2:]
    manifest = read_json(archive_copy, "2026-10-r2", "public", "manifest.json")
    assert manifest["publication"]["supersedes"] == old["manifest"]
    assert manifest["root"]["hash"] == old["root"]  # same snapshot, same secret, same period
    assert por("history", "verify", archive_copy, "--public-key", inputs["pub"]).exit_code == 0
    result = por("regenerate", "--period", "2026-10", "--archive", archive_copy, "--secret-file", inputs["secret"],
                 "--scheduler", scheduler2)
    assert result.exit_code == 0 and result.stdout.startswith("MATCH 2026-10 (revision 2)"), result.output
    # the next month links to the current revision
    result = por(*publish_args(inputs, "2026-11", archive_copy, scheduler2))
    assert result.exit_code == 0, result.output
    assert read_json(archive_copy, "2026-11", "public", "manifest.json")["previous"] == {
        "period": "2026-10", "manifest": new["manifest"]}
    assert por("history", "verify", archive_copy, "--public-key", inputs["pub"]).exit_code == 0


def test_tampered_archived_snapshot_is_reported_before_any_build(archive_copy, inputs, scheduler2):
    part = os.path.join(archive_copy, "2026-09", "inputs", "snapshot", "part-00001.parquet")
    # a different, perfectly valid Parquet file in its place
    write_synth(os.path.join(archive_copy, "..", "other"), 100, asset_count=4, files=1, seed=99)
    shutil.copyfile(os.path.join(archive_copy, "..", "other", "part-00000.parquet"), part)
    result = por("regenerate", "--all", "--archive", archive_copy, "--secret-file", inputs["secret"],
                 "--scheduler", scheduler2)
    assert result.exit_code == 1
    assert "MATCH 2026-08" in result.output and "MATCH 2026-10" in result.output
    assert "MISMATCH 2026-09 (revision 1)" in result.output
    assert "archived inputs altered, not rebuilt" in result.output
    assert "inputs/snapshot/part-00001.parquet: blake3" in result.output
    section = result.output.split("MISMATCH 2026-09")[1].split("MATCH 2026-10")[0]
    assert "published by" not in section  # no build ran for it


def test_tampered_bucket_is_a_mismatch_naming_the_bucket(archive_copy, inputs, scheduler2):
    """Regenerate compares the archived tree with the rebuilt one, bucket by bucket."""
    top_path = os.path.join(archive_copy, "2026-08", "public", "top-tree.json")
    top = read_json(top_path)
    top["levels"][0][0]["sums"][0] = str(int(top["levels"][0][0]["sums"][0]) + 1)
    with open(top_path, "wb") as f:
        f.write(canonical_json(top))
    result = por("regenerate", "--period", "2026-08", "--archive", archive_copy, "--secret-file", inputs["secret"],
                 "--scheduler", scheduler2)
    assert result.exit_code == 1
    assert "MISMATCH 2026-08" in result.output and "bucket sums differ: buckets 0 (BTC)" in result.output


def rewrite_manifest(arch: str, directory: str, change) -> None:
    path = os.path.join(arch, directory, "public", "manifest.json")
    manifest = read_json(path)
    change(manifest)
    with open(path, "wb") as f:
        f.write(canonical_json(manifest))


def test_altered_past_manifest_breaks_the_history(archive_copy, inputs):
    rewrite_manifest(archive_copy, "2026-09", lambda m: m["root"]["sums"].__setitem__(0, "1"))
    result = por("history", "verify", archive_copy, "--public-key", inputs["pub"])
    assert result.exit_code == 1
    assert "2026-09 revision 1: manifest.json was altered" in result.output
    assert "the signature does not match the manifest" in result.output
    # the index itself updated to match: the next month's link and the signature still catch it
    index = read_json(archive_copy, "index.json")
    raw = open(os.path.join(archive_copy, "2026-09", "public", "manifest.json"), "rb").read()
    index["publications"][1]["manifest"] = digest(raw)
    with open(os.path.join(archive_copy, "index.json"), "wb") as f:
        f.write(canonical_json(index))
    result = por("history", "verify", archive_copy, "--public-key", inputs["pub"])
    assert result.exit_code == 1
    assert "2026-10 revision 1: links to a 2026-09 manifest" in result.output
    assert "signature does not match" in result.output


def test_gap_and_reordering_break_the_history(archive_copy, inputs):
    index = read_json(archive_copy, "index.json")
    for publications, expected in (
        ([index["publications"][0], index["publications"][2]], "2026-10 follows 2026-08: a gap"),
        ([index["publications"][1], index["publications"][0], index["publications"][2]], "out of order"),
    ):
        with open(os.path.join(archive_copy, "index.json"), "wb") as f:
            f.write(canonical_json({**index, "publications": publications}))
        result = por("history", "verify", archive_copy, "--public-key", inputs["pub"])
        assert result.exit_code == 1, result.output
        assert expected in result.output


def test_history_with_another_key_fails(published, tmp_path):
    por("keygen", "--signing", str(tmp_path / "other.key"))
    result = por("history", "verify", published, "--public-key", str(tmp_path / "other.key.pub"))
    assert result.exit_code == 1 and "not by the given public key" in result.output


def test_gap_and_bad_reserves_are_refused_with_the_archive_unchanged(archive_copy, inputs, scheduler2, tmp_path):
    before = tree_state(archive_copy)
    d = inputs["dir"]
    result = por("publish", "--period", "2026-12", "--snapshot", str(d / "snap-2026-11"),
                 "--reserves", str(d / "reserves-2026-11"), "--archive", archive_copy,
                 "--secret-file", inputs["secret"], "--signing-key", inputs["key"], "--scheduler", scheduler2,
                 "--allow-open-period")
    assert result.exit_code == 1 and "would leave a gap" in result.output and "publish 2026-11 first" in result.output
    # a duplicate (chain, address, asset) row: found at the reserves step, after the build
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(str(d / "reserves-2026-11" / "wallets.parquet"))
    bad = tmp_path / "bad-reserves"
    bad.mkdir()
    pq.write_table(pa.concat_tables([table, table.slice(2, 1)]), str(bad / "wallets.parquet"))
    result = por(*publish_args(inputs, "2026-11", archive_copy, scheduler2)[:5], "--reserves", str(bad),
                 *publish_args(inputs, "2026-11", archive_copy, scheduler2)[7:])
    assert result.exit_code == 1, result.output
    # every reserves row is checked at validate, before the inputs are copied or anything is built
    assert "failed at step 'validate'" in result.output and "duplicate (chain, address, asset)" in result.output
    assert f"row {table.num_rows}:" in result.output and "first seen at" in result.output and "the archive" in result.output and "is unchanged" in result.output
    assert tree_state(archive_copy) == before


@pytest.mark.parametrize("step", [*STEPS, "index"])
def test_a_failure_at_any_step_leaves_the_archive_exactly_as_it_was(archive_copy, inputs, client2, step):
    before = tree_state(archive_copy)
    d = inputs["dir"]
    req = PublishRequest("2026-11", str(d / "snap-2026-11"), str(d / "reserves-2026-11"), archive_copy,
                         inputs["secret"], inputs["key"], protocol="por-v2")
    seen = []

    def fail_at(name: str) -> None:
        seen.append(name)
        if name == step:
            raise OSError(f"injected failure at {name}")

    with pytest.raises(PublishError, match=f"failed at step '{step}'.*injected failure.*is unchanged"):
        publish_period(client2, req, echo=lambda s: None, before_step=fail_at)
    assert seen[-1] == step and seen == [*STEPS, "index"][: len(seen)]
    assert tree_state(archive_copy) == before


def test_a_failure_in_a_fresh_archive_leaves_nothing(inputs, client2, tmp_path):
    d = inputs["dir"]
    target = str(tmp_path / "new-archive")
    req = PublishRequest("2026-08", str(d / "snap-2026-08"), str(d / "reserves-2026-08"), target,
                         inputs["secret"], inputs["key"], protocol="por-v2")

    def fail_at(name: str) -> None:
        if name == "index":
            raise OSError("injected")

    with pytest.raises(PublishError):
        publish_period(client2, req, echo=lambda s: None, before_step=fail_at)
    assert not os.path.exists(target)


# --------------------------------------------------------------- small units


def test_slots_enforce_order():
    index = {"format": archive.INDEX_FORMAT, "publications": [
        {"period": "2026-01", "revision": 1, "directory": "2026-01", "manifest": "a" * 64}]}
    assert archive.plan_slot(index, "2026-02", False).previous == {"period": "2026-01", "manifest": "a" * 64}
    with pytest.raises(Exception, match="would leave a gap"):
        archive.plan_slot(index, "2026-03", False)
    with pytest.raises(Exception, match="before the archive's first month"):
        archive.plan_slot(index, "2025-12", False)
    with pytest.raises(Exception, match="nothing to republish"):
        archive.plan_slot(index, "2026-02", True)
    slot = archive.plan_slot(index, "2026-01", True)
    assert (slot.revision, slot.directory, slot.supersedes, slot.previous) == (2, "2026-01-r2", "a" * 64, None)
    assert archive.plan_slot({"format": archive.INDEX_FORMAT, "publications": []}, "2024-12", False).previous is None
    assert archive.month_after("2026-12") == "2027-01" and archive.month_before("2026-01") == "2025-12"


def test_previous_period_is_computed_not_configured():
    import datetime as dt

    assert previous_period(dt.date(2026, 1, 1)) == "2025-12"
    assert previous_period(dt.date(2026, 3, 31)) == "2026-02"
    assert previous_period(dt.date(2024, 3, 1)) == "2024-02"


# --------------------------------------------------------------- the report in a real browser


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from tests.support.browser import chromium_driver
    from tests.support.install import required

    d = required("Chromium (headless browser)", lambda: chromium_driver(str(tmp_path_factory.mktemp("chromium-profile"))))
    yield d
    d.quit()


def test_report_html_in_headless_chromium(published, driver):
    import io

    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    directory = os.path.join(published, "2026-10", "public")
    report = read_json(directory, "report.json")
    driver.get(f"file://{os.path.join(directory, 'report.html')}")
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")

    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert driver.find_element(By.ID, "root").text == report["root"]["hash"]

    rows = driver.find_elements(By.CSS_SELECTOR, "#assets tbody tr")
    shown = [(r.get_attribute("data-symbol"), r.find_element(By.CSS_SELECTOR, "td.liabilities").text,
              r.find_element(By.CSS_SELECTOR, "td.reserves").text, r.find_element(By.CSS_SELECTOR, "td.ratio").text,
              "flagged" in (r.get_attribute("class") or "")) for r in rows]
    want = [(a["symbol"], numbers.amount(int(a["liabilities"]), a["decimals"]), numbers.amount(int(a["reserves"]), a["decimals"]),
             f"{a['ratio_percent']}%" if a["ratio_percent"] is not None else "n/a", a["flagged"])
            for a in report["assets"]]
    assert shown == want and any("," in row[1] for row in shown)  # thousands separators
    assert "Under 100%: ETH, USDT" in driver.find_element(By.ID, "under").text
    # the headline in dollars, the dates, the history with this month highlighted
    assert driver.find_element(By.ID, "usd-total").text == numbers.usd(report["usd"]["total"]["reserves"])
    dates = driver.find_element(By.ID, "dates").text
    assert report["snapshot_time"] in dates and report["published_at"] in dates
    history = driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    assert [r.get_attribute("data-period") for r in history] == list(MONTHS[:3])
    assert [r.get_attribute("class") for r in history] == ["", "", "current"]
    assert history[-1].find_elements(By.TAG_NAME, "td")[-1].text == numbers.usd(report["usd"]["total"]["reserves"])
    eth = 1 + [a["symbol"] for a in report["assets"]].index("ETH")  # under 100% every month: red in every row
    assert all(r.find_elements(By.TAG_NAME, "td")[eth].get_attribute("class") == "under" for r in history)
    btc = 1 + [a["symbol"] for a in report["assets"]].index("BTC")
    assert all(r.find_elements(By.TAG_NAME, "td")[btc].get_attribute("class") != "under" for r in history)
    # every link and every file the verify steps name is published beside the report
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#files a")]
    assert {"report.json", "manifest.json", "signature.json", "public-key.pem", "reserves.csv", "reserves.parquet",
            "verifier.html"} <= {href.rsplit("/", 1)[-1] for href in links}
    assert all(os.path.exists(href.removeprefix("file://")) for href in links)
    import re as _re

    named = set(_re.findall(r"[\w-]+\.(?:json|pem|html|csv|parquet)", driver.find_element(By.ID, "verify").text))
    assert named and all(os.path.exists(os.path.join(directory, n)) for n in named), named

    for chart_id, min_marks in (("chart-ratios", len(RATIOS)), ("chart-liabilities", 3 * len(report["assets"])),
                                ("chart-ratio-history", 3 * len(RATIOS)), ("chart-usd-history", 3)):
        chart = driver.find_element(By.ID, chart_id)
        box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];",
                                    chart)
        assert box[0] > 300 and box[1] > 100, (chart_id, box)
        assert len(chart.find_elements(By.CSS_SELECTOR, "path")) >= min_marks
        driver.execute_script("arguments[0].scrollIntoView();", chart)
        pixels = Image.open(io.BytesIO(chart.screenshot_as_png)).convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 20, f"{chart_id} looks blank ({len(colours)} colours)"  # drawn, not an empty box
    # ETH is under 100%: its bar is drawn in the flag colour
    for chart_id in ("chart-ratios", "chart-ratio-history"):  # ETH's bar and ETH's line
        driver.execute_script("arguments[0].scrollIntoView();", driver.find_element(By.ID, chart_id))
        red = [c for _, c in Image.open(io.BytesIO(driver.find_element(By.ID, chart_id).screenshot_as_png))
               .convert("RGB").getcolors(maxcolors=1 << 20) if c == (0xB4, 0x23, 0x18)]
        assert red, chart_id
    # on a phone: nothing but the tables' own scroll boxes is wider than the screen
    driver.set_window_size(400, 900)
    assert driver.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # the whole page as a person sees it, kept as a test artefact (tests/artifacts/)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1100, height + 200)
    artefacts = os.path.join(ROOT, "tests", "artifacts")
    os.makedirs(artefacts, exist_ok=True)
    shot = os.path.join(artefacts, "report-three-months.png")
    assert driver.save_screenshot(shot)
    page = Image.open(shot).convert("RGB")
    assert page.size[1] > 1500 and len(page.getcolors(maxcolors=1 << 22) or []) > 100


def test_archive_documents_match_their_json_schemas(published):
    from tests.test_vectors import schema_validator

    schema_validator("index.schema.json").validate(read_json(published, "index.json"))
    for e in read_json(published, "index.json")["publications"]:
        for schema, parts in (("manifest-v2.schema.json", ("public", "manifest.json")),
                              ("signature.schema.json", ("public", "signature.json")),
                              ("report.schema.json", ("public", "report.json")),
                              ("inputs.schema.json", ("inputs", "inputs.json"))):
            schema_validator(schema).validate(read_json(published, e["directory"], *parts))
    assert not schema_validator("report.schema.json").is_valid({**read_json(published, "2026-08", "public",
                                                                            "report.json"), "assets": []})


def test_verify_public_key_refuses_another_key_and_an_altered_manifest(published, inputs, tmp_path):
    d = os.path.join(published, "2026-10")
    proof = str(tmp_path / "proof.json")
    assert por("prove", d, "--user", "U0000000007", "--secret-file", inputs["secret"], "--out", proof).exit_code == 0
    por("keygen", "--signing", str(tmp_path / "other.key"))
    manifest = os.path.join(d, "public", "manifest.json")
    result = por("verify", proof, "--manifest", manifest, "--public-key", str(tmp_path / "other.key.pub"))
    assert result.exit_code == 1 and "INVALID proof: signature" in result.output
    # a manifest copied elsewhere and edited: its signature no longer matches
    copy = tmp_path / "m"
    copy.mkdir()
    shutil.copy(os.path.join(d, "public", "signature.json"), copy / "signature.json")
    doc = read_json(manifest)
    doc["publication"]["tool"] = "edited"
    (copy / "manifest.json").write_bytes(canonical_json(doc))
    result = por("verify", proof, "--manifest", str(copy / "manifest.json"), "--public-key", inputs["pub"])
    assert result.exit_code == 1 and "the signature does not match the manifest" in result.output
    assert por("verify", proof, "--root", "00" * 32, "--public-key", inputs["pub"]).exit_code == 2


def test_regenerate_dispatches_on_the_protocol_version(archive_copy, inputs, scheduler2):
    rewrite_manifest(archive_copy, "2026-08", lambda m: m.__setitem__("version", "por-v9"))
    result = por("regenerate", "--period", "2026-08", "--archive", archive_copy, "--secret-file", inputs["secret"],
                 "--scheduler", scheduler2)
    assert result.exit_code == 1
    assert "protocol version 'por-v9' is not supported by this tool (supported: ['por-v1', 'por-v2', 'por-v3'])" in result.output


def test_regenerate_with_another_secret_is_a_mismatch(published, scheduler2, tmp_path):
    other = write_secret(str(tmp_path), "17" * 32)
    result = por("regenerate", "--period", "2026-08", "--archive", published, "--secret-file", other,
                 "--scheduler", scheduler2)
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("MISMATCH 2026-08 (revision 1)")
    assert "the month was built with another master secret (id " in out  # named before any rebuild
    assert "17" * 32 not in result.output


def test_regenerate_of_a_month_without_a_secret_id_with_another_secret_is_a_root_mismatch(
        archive_copy, scheduler2, tmp_path):
    """Months published before the manifest named its secret's id: the rebuild's roots differ."""
    rewrite_manifest(archive_copy, "2026-08", lambda m: m["publication"].pop("secret"))
    other = write_secret(str(tmp_path), "17" * 32)
    result = por("regenerate", "--period", "2026-08", "--archive", archive_copy, "--secret-file", other,
                 "--scheduler", scheduler2)
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("MISMATCH 2026-08 (revision 1)") and "root hash: archived" in out
    assert "bucket hashes differ: buckets 0" in out and "a different master secret" in out
    assert "root sum of" not in out  # the same balances: only the hashes differ
    assert "17" * 32 not in result.output


def test_leftovers_of_a_killed_publication_are_named_not_published(archive_copy, inputs, scheduler2, tmp_path):
    os.makedirs(os.path.join(archive_copy, ".publish-2026-11-0123456789ab", "inputs"))
    os.makedirs(os.path.join(archive_copy, "2026-11", "public"))  # killed between the move and the index
    result = por(*publish_args(inputs, "2026-11", archive_copy, scheduler2))
    assert result.exit_code == 1 and "2026-11 exists but is not in index.json" in result.output
    shutil.rmtree(os.path.join(archive_copy, "2026-11"))
    result = por(*publish_args(inputs, "2026-11", archive_copy, scheduler2))
    assert result.exit_code == 0, result.output
    assert "warning: staging directories of interrupted publications" in result.output
    history = por("history", "verify", archive_copy, "--public-key", inputs["pub"])
    assert history.exit_code == 0 and "4 publication(s)" in history.output
    # a fresh archive whose first publication was interrupted after the move
    fresh = tmp_path / "fresh"
    os.makedirs(fresh / "2026-08" / "public")
    result = por(*publish_args(inputs, "2026-08", str(fresh), scheduler2))
    assert result.exit_code == 1 and "2026-08 exists but is not in index.json" in result.output


def test_bad_period_and_bad_signing_key_are_refused_before_any_work(archive_copy, inputs, scheduler2, tmp_path):
    before = tree_state(archive_copy)
    args = publish_args(inputs, "2026-11", archive_copy, scheduler2)
    result = por(*[("2026-13" if a == "2026-11" else a) for a in args])
    assert result.exit_code == 1 and "--period '2026-13': is not YYYY-MM" in result.output
    (tmp_path / "bad.key").write_text("not a key\n")
    (tmp_path / "bad.key").chmod(0o600)
    bad_key = [str(tmp_path / "bad.key") if a == inputs["key"] else a for a in args]
    result = por(*bad_key)
    assert result.exit_code == 1 and "failed at step 'validate'" in result.output
    assert "not an unencrypted PKCS#8 PEM private key" in result.output and "[2/8] build" not in result.output
    assert tree_state(archive_copy) == before


def test_archive_inputs_and_proof_store_are_owner_only(published):
    """The archived snapshot holds every user id and balance: inputs/ and private/ are 0700, their
    files 0600; public/ and the index stay readable."""
    import stat as st

    def mode(*parts):
        return st.S_IMODE(os.stat(os.path.join(published, *parts)).st_mode)

    assert mode() == 0o755 and mode("index.json") & 0o044 == 0o044
    for month in MONTHS[:3]:
        assert mode(month) == 0o755 and mode(month, "public") == 0o755
        assert mode(month, "public", "manifest.json") == 0o644
        for part in ("inputs", "private"):
            for base, _dirs, files in os.walk(os.path.join(published, month, part)):
                assert st.S_IMODE(os.stat(base).st_mode) == 0o700, base
                for name in files:
                    assert st.S_IMODE(os.stat(os.path.join(base, name)).st_mode) == 0o600, (base, name)


def test_edited_index_figures_never_reach_a_signed_report(archive_copy, inputs, scheduler2):
    """Security finding 5: figures edited in index.json fail `history verify` (they differ from the
    signed report), and the next publication takes its history from the signed manifests."""
    index_path = os.path.join(archive_copy, "index.json")
    index = json.loads(open(index_path).read())
    first = index["publications"][0]
    symbol = sorted(first["liabilities"])[0]
    first["liabilities"][symbol] = "1"
    first["reserves"][symbol] = "999999999999"
    first["ratios"][symbol] = "999.99"
    open(index_path, "w").write(json.dumps(index))
    result = por("history", "verify", archive_copy, "--public-key", inputs["pub"])
    assert result.exit_code == 1
    assert "index.json: liabilities" in result.stderr and "differ from the signed report" in result.stderr
    result = por(*publish_args(inputs, MONTHS[3], archive_copy, scheduler2))
    assert result.exit_code == 0, result.output
    report = json.loads(open(os.path.join(archive_copy, MONTHS[3], "public", "report.json")).read())
    [old] = [h for h in report["history"] if h["period"] == first["period"]]
    assert old["liabilities"][symbol] != "1"
    manifest = json.loads(open(os.path.join(archive_copy, first["directory"], "public", "manifest.json")).read())
    assert old["liabilities"] == {a["symbol"]: s for a, s in zip(manifest["assets"], manifest["root"]["sums"], strict=True)}


def test_history_verify_refolds_the_top_tree_and_checks_the_report(archive_copy, inputs):
    """A top tree or a report whose figures disagree with the signed manifest fails, even with
    digests made to match (a manifest re-signed by an attacker would fail its signature instead)."""
    month = MONTHS[1]
    top_path = os.path.join(archive_copy, month, "public", "top-tree.json")
    top = json.loads(open(top_path).read())
    top["levels"][0][0]["sums"][0] = str(int(top["levels"][0][0]["sums"][0]) + 1)
    open(top_path, "w").write(json.dumps(top))
    from pipeline.publication.archive import open_archive
    from pipeline.publication.history import _refold_top_tree

    manifest = json.loads(open(os.path.join(archive_copy, month, "public", "manifest.json")).read())
    problems = _refold_top_tree(open_archive(archive_copy), month, manifest, manifest["files"])
    assert problems and ("its sums are not its children's sums" in problems[0]
                         or ("folds to" in problems[0] and "the manifest's root" in problems[0]))
    result = por("history", "verify", archive_copy, "--public-key", inputs["pub"])
    assert result.exit_code == 1 and "top-tree.json" in result.stderr


def test_audit_checks_the_signature_and_the_announced_root(published, inputs, scheduler2, tmp_path):
    month = os.path.join(published, MONTHS[0])
    manifest = read_json(published, MONTHS[0], "public", "manifest.json")
    root, announced = manifest["root"]["hash"], manifest["commitment"]
    ok = por("audit", month, "--scheduler", scheduler2, "--public-key", inputs["pub"], "--root", announced)
    assert ok.exit_code == 0, ok.output
    assert "manifest signature: valid" in ok.stdout and f"announced value: {announced}, the announced one" in ok.stdout
    hash_given = por("audit", month, "--scheduler", scheduler2, "--root", root)
    assert hash_given.exit_code == 2 and "that is the root hash; --root takes the announced value" in hash_given.stderr
    por("keygen", "--signing", str(tmp_path / "other.key"))
    other = por("audit", month, "--scheduler", scheduler2, "--public-key", str(tmp_path / "other.key.pub"))
    assert other.exit_code == 1 and "signature" in other.stderr
    wrong = por("audit", month, "--scheduler", scheduler2, "--root", "ab" * 32)
    assert wrong.exit_code == 1 and f"the announced value is {announced}, not the announced {'ab' * 32}" in wrong.stderr


def test_node_checks_the_manifest_signature_with_the_published_key(published, inputs, tmp_path):
    """Security finding 1's remedy on the Node side: the archived month's signature, checked with
    Node's WebCrypto against the public key the archive publishes: valid, one byte altered, another key."""
    import shutil as sh

    from tests.support.node import node

    public = os.path.join(published, MONTHS[0], "public")
    proof = tmp_path / "proof.json"
    result = por("prove", os.path.join(published, MONTHS[0]), "--user", "U0000000007", "--secret-file",
                 inputs["secret"], "--out", str(proof))
    assert result.exit_code == 0, result.output
    cli = os.path.join(ROOT, "pipeline", "web", "verify-cli.mjs")
    key = os.path.join(public, "public-key.pem")
    assert open(key).read() == open(inputs["pub"]).read()
    ok = node(cli, str(proof), os.path.join(public, "manifest.json"), "--public-key", key)
    assert ok.returncode == 0 and "manifest signature: valid" in ok.stdout, ok.stderr
    altered = tmp_path / "manifest.json"
    text = open(os.path.join(public, "manifest.json")).read()
    altered.write_text(text.replace('"revision":1', '"revision":2'))
    sh.copy(os.path.join(public, "signature.json"), tmp_path / "signature.json")
    bad = node(cli, str(proof), str(altered), "--public-key", key)
    assert bad.returncode == 1 and "INVALID proof: signature" in bad.stderr
    por("keygen", "--signing", str(tmp_path / "other.key"))
    other = node(cli, str(proof), os.path.join(public, "manifest.json"), "--public-key", str(tmp_path / "other.key.pub"))
    assert other.returncode == 1 and "INVALID proof: signature" in other.stderr and "not by the given" in other.stderr
    for args in ([str(proof), os.path.join(public, "manifest.json"), "--public-key", key],):  # Python agrees
        assert por("verify", args[0], "--manifest", args[1], "--public-key", args[3]).exit_code == 0
    assert por("verify", str(proof), "--manifest", str(altered), "--public-key", key).exit_code == 1


def test_archived_verifier_page_checks_the_signature_in_chromium(published, inputs, driver, tmp_path):
    """The month's verifier.html embeds its manifest, signature and the exchange's key: valid as
    published; a manifest altered by one byte, or a page carrying another key, fails the signature check."""
    import shutil as sh

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    proof = tmp_path / "proof.json"
    assert por("prove", os.path.join(published, MONTHS[1]), "--user", "U0000000003", "--secret-file",
               inputs["secret"], "--out", str(proof)).exit_code == 0
    page = os.path.join(published, MONTHS[1], "public", "verifier.html")

    def verify(path, manifest_text=None):
        driver.get(f"file://{path}")
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
        driver.execute_script("document.getElementById('proof').value = arguments[0];", proof.read_text())
        if manifest_text is not None:
            driver.execute_script("document.getElementById('manifest').value = arguments[0];", manifest_text)
        driver.find_element(By.ID, "verify").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"))
        checks = {li.get_attribute("data-check"): li.get_attribute("class")
                  for li in driver.find_elements(By.CSS_SELECTOR, "#checks li")}
        return driver.find_element(By.TAG_NAME, "body").get_attribute("data-verdict"), checks

    verdict, checks = verify(page)
    assert verdict == "valid" and checks["signature"] == "pass", checks
    manifest_text = open(os.path.join(published, MONTHS[1], "public", "manifest.json")).read()
    one_byte = manifest_text.replace('"revision":1', '"revision":3')
    verdict, checks = verify(page, one_byte)
    assert verdict == "invalid" and checks["signature"] == "fail", checks
    por("keygen", "--signing", str(tmp_path / "other.key"))
    other_page = tmp_path / "verifier.html"
    text = open(page).read()
    own_pem = open(inputs["pub"]).read()
    other_pem = open(tmp_path / "other.key.pub").read()
    other_page.write_text(text.replace(json.dumps(own_pem)[1:-1], json.dumps(other_pem)[1:-1]))
    assert other_page.read_text() != text
    verdict, checks = verify(other_page)
    assert verdict == "invalid" and checks["signature"] == "fail", checks
    del sh


# ------------------------------------------------ the public reserve files, streamed

STREAMED_GOLDEN = {"reserves.csv": "e9bd0781854273855b9ab83a0b712c7ce0cfd24f2f3eb7c37f90232c36f74ee2",
                   "reserves.parquet": "7e28c2cecf39ad218a4471c045d263739172e45c3660558c938e81ac34133973"}
"""blake3 of the public reserve files of ``streamed_month`` as publish wrote them from bytes held whole
(8a2fef3, before they were streamed into the bundle)."""


def streamed_month(d, client, before_step=None):
    """A por-v2 month whose reserves carry every ownership status (bound, unbound, missing, unchecked),
    published with a challenge; returns the month's public directory."""
    from pipeline.liabilities.snapshot import plan_snapshot
    from pipeline.ownership.challenge import challenge_text

    d.mkdir(parents=True)
    secret = write_secret(str(d))
    assert por("keygen", "--signing", str(d / "sign.key")).exit_code == 0
    snap = str(d / "snap")
    write_synth(snap, 400, asset_count=3, files=1, seed=70)
    assets = list(plan_snapshot(snap).assets)
    ratios = {a.symbol: 10_100 + 300 * j for j, a in enumerate(assets)}
    write_synth_reserves(str(d / "res" / "wallets.parquet"), assets, snapshot_totals(snap), ratios, seed=0,
                         challenge=challenge_text("Golden Exchange", "2026-08", None), fixed_sentence_rows=1,
                         showcase=True, addresses_per_asset=5)
    write_synth_prices(str(d / "prices.json"), assets, "2026-08")
    arch = str(d / "archive")
    publish_period(client, PublishRequest("2026-08", snap, str(d / "res"), arch, secret, str(d / "sign.key"),
                                          exchange="Golden Exchange", prices=str(d / "prices.json"), protocol="por-v2"),
                   echo=lambda s: None, before_step=before_step)
    return arch, os.path.join(arch, "2026-08", "public")


def test_public_reserve_files_are_streamed_byte_for_byte_and_signed_as_written(client2, tmp_path):
    """The public reserve files, written into the fresh bundle as they are made, are the bytes publish wrote
    when it held them whole; every digest of the signed manifest is of the file as it lies on disk; nothing
    half-written is left; and a copy of the reserves altered in the archive after its rows were verified
    changes nothing published (the files and totals come from the verified batches) while the archive shows
    the alteration (what regenerate refuses)."""
    import pyarrow.parquet as pq

    from pipeline.publication.archive import check_inputs
    from pipeline.storage import fs as storage

    arch, public = streamed_month(tmp_path / "plain", client2)
    for name, want in STREAMED_GOLDEN.items():
        assert digest(open(os.path.join(public, name), "rb").read()) == want, name
    manifest = read_json(public, "manifest.json")
    for name, recorded in manifest["files"].items():
        assert digest(open(os.path.join(public, name), "rb").read()) == recorded, name
    assert {"reserves.csv", "reserves.parquet"} <= set(manifest["files"])
    assert oct(os.stat(os.path.join(public, "reserves.csv")).st_mode & 0o777) == "0o644"
    assert not [f for _, _, files in os.walk(arch) for f in files if f.endswith(".partial")]
    report = read_json(public, "report.json")

    def tamper(step):
        if step != "reserves":
            return
        stage = next(e for e in os.listdir(tmp_path / "tampered" / "archive") if e.startswith(archive.STAGING_PREFIX))
        copy = tmp_path / "tampered" / "archive" / stage / "2026-08" / "inputs" / "reserves" / "wallets.parquet"
        t = pq.read_table(copy)  # every address moved one row down: still valid reserves, other proofs
        pq.write_table(t.set_column(t.schema.get_field_index("address"), "address",
                                    t.column("address").take(list(range(1, t.num_rows)) + [0])), copy)

    arch2, public2 = streamed_month(tmp_path / "tampered", client2, before_step=tamper)
    for name, want in STREAMED_GOLDEN.items():
        assert digest(open(os.path.join(public2, name), "rb").read()) == want, name
    assert read_json(public2, "report.json")["assets"] == report["assets"]
    with pytest.raises(BundleError, match="inputs/reserves/wallets.parquet: blake3"):
        check_inputs(storage.open_fs(arch2)[0], os.path.join(arch2, "2026-08"), "2026-08", None)


def test_a_failure_while_the_reserve_files_stream_publishes_nothing(client2, tmp_path, monkeypatch):
    """A public reserve file that fails half-way (after its first parts were written) refuses the month
    and leaves no archive behind, no partial file."""
    from pipeline.reserves import public as public_reserves

    real = public_reserves.PublicFiles.write

    def failing(self, name, sink):
        if name == "reserves.csv":
            sink.write(b"coin,snapshot height,amount\n")
            raise OSError("disk full (test)")
        real(self, name, sink)

    monkeypatch.setattr(public_reserves.PublicFiles, "write", failing)
    with pytest.raises(PublishError, match="step 'reserves'.*disk full"):
        streamed_month(tmp_path / "fails", client2)
    arch = tmp_path / "fails" / "archive"
    assert not arch.exists() or not [f for _, _, files in os.walk(arch) for f in files]
