"""A month re-signed by a publisher holding the signing key, whose figures contradict its own public
files: `por history verify` and `por regenerate` re-derive every figure and name the month, the field
and both values (issue 20, "Publication and history"). Each tampering below passed both commands
before the re-derivation (publication.recheck) existed."""

from __future__ import annotations

import io
import json
import os
import shutil
from typing import Any, Callable

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from jobs.publish import PublishRequest, publish_period
from pipeline.cli import app
from pipeline.formats.canonical import canonical_json, digest
from pipeline.formats.verifier_page import render_page
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.ownership.challenge import challenge_text
from pipeline.publication.archive import chain_head, open_archive
from pipeline.publication.signing import load_signing_key, public_key_pem, sign_manifest
from pipeline.synth import snapshot_totals, write_synth, write_synth_prices, write_synth_reserves
from tests.support.snapshots import write_secret

pytestmark = pytest.mark.integration

EXCHANGE = "Recheck Exchange"
MONTHS = ("2026-08", "2026-09")
runner = CliRunner()


@pytest.fixture(scope="module")
def signed_archive(tmp_path_factory, client2):
    d = tmp_path_factory.mktemp("recheck")
    secret = write_secret(str(d))
    assert runner.invoke(app, ["keygen", "--signing", str(d / "sign.key")]).exit_code == 0
    arch = str(d / "archive")
    for i, month in enumerate(MONTHS):
        snap = str(d / f"snap-{month}")
        write_synth(snap, 400 + 50 * i, asset_count=3, files=1, seed=70 + i)
        assets = list(plan_snapshot(snap).assets)
        index = open_archive(arch).read_index()[0] if os.path.exists(arch) else {"publications": []}
        challenge = challenge_text(EXCHANGE, month, chain_head(index, month))
        ratios = {a.symbol: 10_100 + 300 * j for j, a in enumerate(assets)}
        ratios[assets[-1].symbol] = 9_900  # one asset short
        write_synth_reserves(str(d / f"res-{month}" / "wallets.parquet"), assets, snapshot_totals(snap), ratios,
                             seed=i, challenge=challenge, fixed_sentence_rows=1)
        write_synth_prices(str(d / f"prices-{month}.json"), assets, month)
        publish_period(client2, PublishRequest(month, snap, str(d / f"res-{month}"), arch, secret, str(d / "sign.key"),
                                               exchange=EXCHANGE, prices=str(d / f"prices-{month}.json")),
                       echo=lambda s: None)
    return {"archive": arch, "key": str(d / "sign.key"), "pub": str(d / "sign.key.pub"), "secret": secret}


@pytest.fixture()
def copy(signed_archive, tmp_path):
    target = str(tmp_path / "archive")
    shutil.copytree(signed_archive["archive"], target)
    return {**signed_archive, "archive": target}


def public(arch: str, month: str, name: str) -> str:
    return os.path.join(arch, month, "public", name)


def resign(env: dict[str, Any], month: str, edits: dict[str, Callable[[bytes], bytes]]) -> None:
    """What a publisher holding the key can do: rewrite public files of the newest month, list their new
    digests in the manifest, sign it again, re-render its verifier page, and update the index."""
    arch = env["archive"]
    for name, edit in edits.items():
        with open(public(arch, month, name), "rb") as f:
            data = edit(f.read())
        with open(public(arch, month, name), "wb") as f:
            f.write(data)
    manifest = json.load(open(public(arch, month, "manifest.json")))
    for name in edits:
        manifest["files"][name] = digest(open(public(arch, month, name), "rb").read())
    key = load_signing_key(env["key"])
    raw = canonical_json(manifest)
    signature = sign_manifest(key, manifest)
    open(public(arch, month, "manifest.json"), "wb").write(raw)
    open(public(arch, month, "signature.json"), "wb").write(canonical_json(signature))
    open(public(arch, month, "verifier.html"), "wb").write(
        render_page(manifest, signature, public_key_pem(key.public_key()).decode()))
    index = json.load(open(os.path.join(arch, "index.json")))
    for e in index["publications"]:
        if e["directory"] == month:
            e["manifest"] = digest(raw)
    open(os.path.join(arch, "index.json"), "wb").write(canonical_json(index))


def report_edit(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        change(doc)
        return canonical_json(doc)
    return edit


def history_verify(env) -> Any:
    return runner.invoke(app, ["history", "verify", env["archive"], "--public-key", env["pub"]])


def regenerate(env, month: str) -> Any:
    return runner.invoke(app, ["regenerate", "--period", month, "--archive", env["archive"], "--secret-file",
                               env["secret"], "--workers", "1"])


def test_the_untouched_archive_verifies_and_regenerates(signed_archive):
    result = history_verify(signed_archive)
    assert result.exit_code == 0, result.output
    for month in MONTHS:
        result = regenerate(signed_archive, month)
        assert result.exit_code == 0 and f"MATCH {month}" in result.output, result.output


def test_the_resign_helper_alone_changes_nothing_that_is_checked(copy):
    resign(copy, "2026-09", {"report.json": report_edit(lambda doc: None)})
    result = history_verify(copy)
    assert result.exit_code == 0, result.output


def _first_asset(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["assets"][0]


def inflate(doc: dict[str, Any]) -> None:
    row = _first_asset(doc)
    row["reserves"] = str(int(row["reserves"]) * 10)


def fake_bound_ratio(doc: dict[str, Any]) -> None:
    doc["bound_ratios"][_first_asset(doc)["symbol"]] = "250.00"


def fake_counts(doc: dict[str, Any]) -> None:
    doc["ownership"]["counts"]["bound"] += doc["ownership"]["counts"]["unbound"]
    doc["ownership"]["counts"]["unbound"] = 0


def first_month_challenge(doc: dict[str, Any]) -> None:
    doc["ownership"]["challenge"] = challenge_text(EXCHANGE, doc["period"], None)


def fabricate_history(doc: dict[str, Any]) -> None:
    symbol = _first_asset(doc)["symbol"]
    doc["history"][0]["ratios"][symbol] = "180.00"
    doc["history"][0]["flagged"] = []


def published_early(doc: dict[str, Any]) -> None:
    doc["published_at"] = "2026-09-15T12:00:00Z"


def fake_dollars(doc: dict[str, Any]) -> None:
    doc["usd"]["total"]["reserves"] = str(int(float(doc["usd"]["total"]["reserves"]) * 3)) + ".00"


@pytest.mark.parametrize("change, field", [
    (inflate, "assets["), (fake_bound_ratio, "bound_ratios."), (fake_counts, "ownership.counts.bound"),
    (first_month_challenge, "ownership.challenge"), (fabricate_history, "history[2026-08]"),
    (fake_dollars, "usd.total.reserves")], ids=lambda x: getattr(x, "__name__", x))
def test_a_resigned_report_that_contradicts_its_files_is_named(copy, change, field):
    resign(copy, "2026-09", {"report.json": report_edit(change)})
    result = history_verify(copy)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "2026-09" in line and field in line]
    assert lines and "signed" in lines[0] and "re-derived" in lines[0], result.output
    regen = regenerate(copy, "2026-09")
    assert regen.exit_code == 1 and "MISMATCH 2026-09" in regen.output and field in regen.output, regen.output


def test_a_report_claiming_publication_before_the_period_ended_is_named(copy):
    resign(copy, "2026-09", {"report.json": report_edit(published_early)})
    result = history_verify(copy)
    assert result.exit_code == 1
    assert "published_at 2026-09-15T12:00:00Z is before the period ended (2026-10-01T00:00:00Z)" in result.output


def test_published_statuses_that_are_not_the_reverified_ones_are_named(copy):
    def promote(data: bytes) -> bytes:
        table = pq.read_table(io.BytesIO(data))
        statuses = ["bound"] * table.num_rows
        table = table.set_column(table.column_names.index("status"), "status", [statuses])
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()

    resign(copy, "2026-09", {"reserves.parquet": promote})
    result = history_verify(copy)
    assert result.exit_code == 1 and "reserves.parquet" in result.output and "re-verified 'unbound'" in result.output


def test_a_report_page_showing_other_figures_than_report_json_is_named(copy):
    doc = json.load(open(public(copy["archive"], "2026-09", "report.json")))
    row = _first_asset(doc)
    from pipeline.formats import numbers

    shown = numbers.amount(int(row["reserves"]), row["decimals"])
    bigger = numbers.amount(int(row["reserves"]) * 10, row["decimals"])

    def edit(data: bytes) -> bytes:
        assert shown.encode() in data
        return data.replace(shown.encode(), bigger.encode())

    resign(copy, "2026-09", {"report.md": edit, "report.html": edit})
    result = history_verify(copy)
    assert result.exit_code == 1
    assert "report.md is not the rendering of report.json" in result.output
    assert "report.html is not the rendering of report.json" in result.output


def test_an_older_renderers_pages_are_read_back(copy):
    """A month written by another renderer is not re-rendered: the figures its pages show are read
    back and compared (here: the renderer id changed, then one page's figure altered)."""
    def older(doc: dict[str, Any]) -> None:
        doc["renderer"] = "por-report-render/" + "0" * 32

    resign(copy, "2026-09", {"report.json": report_edit(older)})
    assert history_verify(copy).exit_code == 0
    doc = json.load(open(public(copy["archive"], "2026-09", "report.json")))
    row = _first_asset(doc)
    from pipeline.formats import numbers

    shown = numbers.amount(int(row["reserves"]), row["decimals"])
    bigger = numbers.amount(int(row["reserves"]) * 10, row["decimals"])
    resign(copy, "2026-09", {"report.html": lambda data: data.replace(f">{shown}<".encode(), f">{bigger}<".encode())})
    result = history_verify(copy)
    assert result.exit_code == 1 and f"report.html {row['symbol']} reserves: shows {bigger!r}" in result.output


def test_a_month_published_before_the_status_rename_verifies_and_regenerates_match(copy):
    """Reports before 2026-11 wrote `under-collateralised` and recorded no renderer."""
    def legacy(doc: dict[str, Any]) -> None:
        doc.pop("renderer")
        flagged = [r for r in doc["assets"] if r["status"] == "under-100-percent"]
        assert flagged
        for r in flagged:
            r["status"] = "under-collateralised"

    resign(copy, "2026-09", {"report.json": report_edit(legacy)})
    result = history_verify(copy)
    assert result.exit_code == 0, result.output
    regen = regenerate(copy, "2026-09")
    assert regen.exit_code == 0 and "MATCH 2026-09" in regen.output, regen.output


# --------------------------------------------------------------- periods, prices and secrets tied to time

def month_inputs(d, month: str, i: int, arch: str, price_time: str | None = None, zero: str | None = None):
    snap = str(d / f"snap-{month}")
    write_synth(snap, 300, asset_count=3, files=1, seed=90 + i)
    assets = list(plan_snapshot(snap).assets)
    index = open_archive(arch).read_index()[0] if os.path.exists(arch) else {"publications": []}
    challenge = challenge_text(EXCHANGE, month, chain_head(index, month))
    write_synth_reserves(str(d / f"res-{month}" / "wallets.parquet"), assets, snapshot_totals(snap),
                         {a.symbol: 10_050 for a in assets}, seed=i, challenge=challenge)
    prices = str(d / f"prices-{month}.json")
    write_synth_prices(prices, assets, month)
    doc = json.load(open(prices))
    if price_time:
        doc["timestamp"] = price_time
    if zero:
        doc["prices"][zero] = "0"
    open(prices, "w").write(json.dumps(doc))
    return snap, str(d / f"res-{month}"), prices


def publish(client, env, month, snap, res, prices, secret=None, **options):
    return publish_period(client, PublishRequest(month, snap, res, env["archive"], secret or env["secret"], env["key"],
                                                 exchange=EXCHANGE, prices=prices, **options), echo=lambda s: None)


def test_a_period_that_has_not_ended_is_refused(copy, client2, tmp_path):
    import datetime as dt

    from pipeline.errors import InputError

    snap, res, prices = month_inputs(tmp_path, "2026-10", 0, copy["archive"])
    before = open(os.path.join(copy["archive"], "index.json"), "rb").read()
    at_end = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(InputError, match=r"has not ended: its snapshot time 2026-11-01T00:00:00Z is after now "
                                           r"\(2026-10-31T23:59:59Z\)"):
        publish(client2, copy, "2026-10", snap, res, prices, now=at_end - dt.timedelta(seconds=1))
    assert open(os.path.join(copy["archive"], "index.json"), "rb").read() == before
    result = publish(client2, copy, "2026-10", snap, res, prices, now=at_end)  # ended at that instant
    assert result.revision == 1


def test_prices_far_from_the_snapshot_time_and_zero_prices_are_refused(copy, client2, tmp_path):
    from jobs.publish import PublishError

    snap, res, prices = month_inputs(tmp_path / "a", "2026-10", 0, copy["archive"], price_time="2026-10-15T12:00:00Z")
    with pytest.raises(PublishError, match=r"timestamp 2026-10-15T12:00:00Z is not within 24 hours of the period's "
                                           r"snapshot time 2026-11-01T00:00:00Z"):
        publish(client2, copy, "2026-10", snap, res, prices)
    symbol = list(plan_snapshot(snap).assets)[0].symbol
    snap, res, prices = month_inputs(tmp_path / "b", "2026-10", 0, copy["archive"], zero=symbol)
    with pytest.raises(PublishError, match=f"{symbol} is priced at 0 US dollars but"):
        publish(client2, copy, "2026-10", snap, res, prices)
    snap, res, prices = month_inputs(tmp_path / "c", "2026-10", 0, copy["archive"], price_time="2026-11-01T23:00:00+00:00")
    assert publish(client2, copy, "2026-10", snap, res, prices).revision == 1  # 23 h after: within the window


def test_a_new_master_secret_needs_the_option_and_the_report_says_so(copy, client2, tmp_path):
    from jobs.publish import PublishError

    other = write_secret(str(tmp_path), "42" * 32)
    snap, res, prices = month_inputs(tmp_path, "2026-10", 0, copy["archive"])
    with pytest.raises(PublishError, match="the master secret is not the one 2026-09 was built with"):
        publish(client2, copy, "2026-10", snap, res, prices, secret=other)
    publish(client2, copy, "2026-10", snap, res, prices, secret=other, new_master_secret=True)
    doc = json.load(open(public(copy["archive"], "2026-10", "report.json")))
    assert doc["master_secret"]["changed"] is True
    assert b"built with a new master secret" in open(public(copy["archive"], "2026-10", "report.md"), "rb").read()
    assert history_verify(copy).exit_code == 0
    resign(copy, "2026-10", {"report.json": report_edit(lambda d: d["master_secret"].__setitem__("changed", False))})
    result = history_verify(copy)
    assert result.exit_code == 1 and "master_secret.changed: signed False, re-derived True" in result.output


def test_a_resigned_report_with_prices_of_another_time_is_named(copy):
    def shift(doc):
        doc["usd"]["timestamp"] = "2026-08-01T00:00:00Z"
        doc["snapshot_time"] = "2026-08-01T00:00:00Z"

    resign(copy, "2026-09", {"report.json": report_edit(shift)})
    result = history_verify(copy)
    assert result.exit_code == 1 and "usd: the prices' timestamp 2026-08-01T00:00:00Z is not within 24 hours" in result.output


def test_the_report_headlines_the_announced_value(signed_archive):
    manifest = json.load(open(public(signed_archive["archive"], "2026-09", "manifest.json")))
    doc = json.load(open(public(signed_archive["archive"], "2026-09", "report.json")))
    assert doc["announced_value"] == manifest["commitment"] != manifest["root"]["hash"]
    md = open(public(signed_archive["archive"], "2026-09", "report.md")).read()
    assert f"**Announced value** (protocol por-v2; compare it with the value the exchange announced): " \
           f"`{manifest['commitment']}`" in md
    page = open(public(signed_archive["archive"], "2026-09", "report.html")).read()
    assert f'<code id="announced">{manifest["commitment"]}</code>' in page
    assert "announced value it shows must equal the one above" in md


# --------------------------------------------------------------- the verifier page is verifiable

def check_page(path: str, *extra: str):
    return runner.invoke(app, ["verifier-page", path, "--check", *extra])


def test_the_published_page_checks_out_with_the_cli(signed_archive):
    page = public(signed_archive["archive"], "2026-09", "verifier.html")
    result = check_page(page, "--public-key", signed_archive["pub"])
    assert result.exit_code == 0, result.output
    manifest = json.load(open(public(signed_archive["archive"], "2026-09", "manifest.json")))
    assert f"page OK: 2026-09, announced value {manifest['commitment']}" in result.output
    assert "the page this tool renders" in result.output
    alone = check_page(page)
    assert alone.exit_code == 0 and "compare this id with the exchange's published public-key.pem" in alone.output


def test_a_page_that_says_valid_for_everything_is_detected(copy):
    page = public(copy["archive"], "2026-09", "verifier.html")
    data = open(page, "rb").read()
    evil = data.replace(b'<script type="module">', b'<script type="module">window.__alwaysValid = true;\n', 1)
    assert evil != data
    open(page, "wb").write(evil)
    result = history_verify(copy)
    assert result.exit_code == 1 and "public/verifier.html: its code was altered" in result.output
    checked = check_page(page, "--public-key", copy["pub"])
    assert checked.exit_code == 1 and "its code was altered" in checked.output


def test_a_page_embedding_another_manifest_is_detected(copy):
    manifest = json.load(open(public(copy["archive"], "2026-09", "manifest.json")))
    signature = json.load(open(public(copy["archive"], "2026-09", "signature.json")))
    pem = open(public(copy["archive"], "2026-09", "public-key.pem")).read()
    other = {**manifest, "root": {**manifest["root"], "sums": ["0"] * len(manifest["root"]["sums"])}}
    open(public(copy["archive"], "2026-09", "verifier.html"), "wb").write(render_page(other, signature, pem))
    result = history_verify(copy)
    assert result.exit_code == 1 and "verifier.html embeds another manifest than public/manifest.json" in result.output


def test_a_resigned_month_with_its_own_page_code_is_flagged_as_not_this_tools(copy):
    """The publisher signs the digest of a page of its own: the page matches what is signed, so the
    chain verifies, but history verify warns and the user's check refuses it (not the page this tool
    renders)."""
    from pipeline.formats.verifier_page import page_parts

    arch = copy["archive"]
    key = load_signing_key(copy["key"])
    manifest = json.load(open(public(arch, "2026-09", "manifest.json")))
    evil_code = render_page().replace(b"<title>", b"<title>Trust us: ", 1)
    manifest["publication"]["verifier"] = digest(page_parts(evil_code).code)
    raw, signature = canonical_json(manifest), sign_manifest(key, manifest)
    pem = public_key_pem(key.public_key()).decode()
    open(public(arch, "2026-09", "manifest.json"), "wb").write(raw)
    open(public(arch, "2026-09", "signature.json"), "wb").write(canonical_json(signature))
    page = render_page(manifest, signature, pem).replace(b"<title>", b"<title>Trust us: ", 1)
    open(public(arch, "2026-09", "verifier.html"), "wb").write(page)
    index = json.load(open(os.path.join(arch, "index.json")))
    index["publications"][-1]["manifest"] = digest(raw)
    open(os.path.join(arch, "index.json"), "wb").write(canonical_json(index))
    result = history_verify(copy)
    assert result.exit_code == 0, result.output
    assert "verifier.html: its code" in result.output and "is not the page this tool renders" in result.output
    checked = check_page(public(arch, "2026-09", "verifier.html"), "--public-key", copy["pub"])
    assert checked.exit_code == 1 and "is not the page this tool renders" in checked.output
