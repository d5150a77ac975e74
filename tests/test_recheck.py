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
from pipeline.testing.synth import snapshot_totals, write_synth, write_synth_prices, write_synth_reserves
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
                                               exchange=EXCHANGE, prices=str(d / f"prices-{month}.json"),
                                               protocol="por-v2"),
                       echo=lambda s: None)
    return {"archive": arch, "key": str(d / "sign.key"), "pub": str(d / "sign.key.pub"), "secret": secret}


@pytest.fixture()
def copy(signed_archive, tmp_path):
    target = str(tmp_path / "archive")
    shutil.copytree(signed_archive["archive"], target)
    return {**signed_archive, "archive": target}


def public(arch: str, month: str, name: str) -> str:
    return os.path.join(arch, month, "public", name)


def resign(env: dict[str, Any], month: str, edits: dict[str, Callable[[bytes], bytes]],
           manifest_change: Callable[[dict[str, Any]], None] | None = None) -> None:
    """What a publisher holding the key can do: rewrite public files of the newest month, list their new
    digests in the manifest (and change it), sign it again, re-render its verifier page, update the index."""
    arch = env["archive"]
    for name, edit in edits.items():
        with open(public(arch, month, name), "rb") as f:
            data = edit(f.read())
        with open(public(arch, month, name), "wb") as f:
            f.write(data)
    manifest = json.load(open(public(arch, month, "manifest.json")))
    for name in edits:
        manifest["files"][name] = digest(open(public(arch, month, name), "rb").read())
    if manifest_change is not None:
        manifest_change(manifest)
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
    on_cluster = runner.invoke(app, ["history", "verify", signed_archive["archive"], "--public-key",
                                     signed_archive["pub"], "--workers", "1"])
    assert on_cluster.exit_code == 0 and on_cluster.output.splitlines()[-1] == result.output.splitlines()[-1]
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


def parquet_column(name: str, change: Callable[[list[Any]], list[Any]]) -> Callable[[bytes], bytes]:
    """An edit of one column of a Parquet file (for ``resign``)."""
    def edit(data: bytes) -> bytes:
        table = pq.read_table(io.BytesIO(data))
        i = table.column_names.index(name)
        sink = io.BytesIO()
        pq.write_table(table.set_column(i, name, [change(table.column(name).to_pylist())]), sink)
        return sink.getvalue()
    return edit


def test_published_statuses_that_are_not_the_reverified_ones_are_named(copy):
    resign(copy, "2026-09", {"reserves.parquet": parquet_column("status", lambda s: ["bound"] * len(s))})
    result = history_verify(copy)
    assert result.exit_code == 1 and "reserves.parquet: " in result.output
    assert 'status published ["bound"], re-verified ["unbound"]' in result.output
    on_cluster = runner.invoke(app, ["history", "verify", copy["archive"], "--public-key", copy["pub"], "--workers", "2"])
    assert on_cluster.exit_code == 1 and 'status published ["bound"], re-verified ["unbound"]' in on_cluster.output


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


def inflate_on_the_page(env: dict[str, Any], month: str) -> tuple[str, str]:
    """The first asset's reserves shown ten times larger in report.html (report.json untouched), re-signed;
    returns (symbol, the figure now shown)."""
    from pipeline.formats import numbers

    row = _first_asset(json.load(open(public(env["archive"], month, "report.json"))))
    shown = numbers.amount(int(row["reserves"]), row["decimals"])
    bigger = numbers.amount(int(row["reserves"]) * 10, row["decimals"])
    resign(env, month, {"report.html": lambda data: data.replace(f">{shown}<".encode(), f">{bigger}<".encode())})
    return row["symbol"], bigger


def test_pages_of_another_matplotlib_are_compared_without_their_charts(copy):
    import matplotlib

    def other_matplotlib(doc: dict[str, Any]) -> None:
        doc["renderer"] = doc["renderer"].split(" ")[0] + " matplotlib/0.0"  # this render version, another matplotlib

    resign(copy, "2026-09", {"report.json": report_edit(other_matplotlib)})
    result = history_verify(copy)
    assert result.exit_code == 0, result.output
    assert f"drawn with matplotlib 0.0, this tool has {matplotlib.__version__}" in result.output
    inflate_on_the_page(copy, "2026-09")
    result = history_verify(copy)
    assert result.exit_code == 1 and "report.html is not the rendering of report.json" in result.output


def test_an_unknown_render_version_is_refused(copy):
    resign(copy, "2026-09", {"report.json": report_edit(lambda d: d.__setitem__("renderer",
                                                                              "por-report-render/9 matplotlib/3.0"))})
    result = history_verify(copy)
    assert result.exit_code == 1 and "not a render version this tool knows (1, 2, 3)" in result.output


def test_a_report_dropping_fields_or_the_renderer_is_named(copy):
    def drop(doc: dict[str, Any]) -> None:
        for key in ("bound_ratios", "under_100_percent", "announced_value", "master_secret", "renderer"):
            doc.pop(key)

    resign(copy, "2026-09", {"report.json": report_edit(drop)})
    result = history_verify(copy)
    assert result.exit_code == 1
    for key in ("bound_ratios", "under_100_percent", "announced_value", "master_secret"):
        assert f"report.json {key}: signed (absent)" in result.output
    assert "names no renderer: its pages cannot be checked" in result.output


def test_a_month_dropping_the_page_and_secret_fields_after_one_that_had_them_is_named(copy):
    def downgrade(m: dict[str, Any]) -> None:
        m["publication"].pop("verifier")
        m["publication"].pop("secret")

    resign(copy, "2026-09", {"report.json": report_edit(lambda d: d.pop("master_secret"))}, downgrade)
    result = history_verify(copy)
    assert result.exit_code == 1
    assert "a month cannot drop the checks its predecessors had" in result.output


def one_month_legacy_archive(env: dict[str, Any]) -> None:
    """The copy cut to its first month, made to look published before render versions, page code and
    secret ids existed, and before the status rename (`under-collateralised`)."""
    arch = env["archive"]
    shutil.rmtree(os.path.join(arch, "2026-09"))
    index = json.load(open(os.path.join(arch, "index.json")))
    index["publications"] = index["publications"][:1]
    open(os.path.join(arch, "index.json"), "wb").write(canonical_json(index))

    def legacy(doc: dict[str, Any]) -> None:
        for key in ("renderer", "master_secret", "announced_value"):
            doc.pop(key)
        flagged = [r for r in doc["assets"] if r["status"] == "under-100-percent"]
        assert flagged
        for r in flagged:
            r["status"] = "under-collateralised"

    def old_manifest(m: dict[str, Any]) -> None:
        m["publication"].pop("verifier")
        m["publication"].pop("secret")

    resign(env, "2026-08", {"report.json": report_edit(legacy)}, old_manifest)


def test_a_month_published_before_the_status_rename_verifies_and_regenerates_match(copy):
    one_month_legacy_archive(copy)
    result = history_verify(copy)
    assert result.exit_code == 0, result.output
    assert "only the asset table, the root hash and the headline are read back" in result.output
    regen = regenerate(copy, "2026-08")
    assert regen.exit_code == 0 and "MATCH 2026-08" in regen.output, regen.output


def test_a_legacy_months_pages_are_read_back(copy):
    one_month_legacy_archive(copy)
    symbol, bigger = inflate_on_the_page(copy, "2026-08")
    result = history_verify(copy)
    assert result.exit_code == 1 and f'report.html {symbol} reserves: shows "{bigger}"' in result.output


def test_a_legacy_page_with_a_second_hidden_table_is_named(copy):
    one_month_legacy_archive(copy)

    def hide(data: bytes) -> bytes:
        start = data.index(b'<div class="scroll"><table id="assets"')
        end = data.index(b"</table></div>", start) + len(b"</table></div>")
        return data[:start] + b"<!--" + data[start:end] + b"-->" + data[start:end].replace(b'id="assets"', b'id="x"') \
            + data[end:]

    resign(copy, "2026-08", {"report.html": hide})
    result = history_verify(copy)
    assert result.exit_code == 1 and "report.html holds 0 asset tables, not one" in result.output
    def twice(data: bytes) -> bytes:
        start = data.index(b"| Asset |")
        end = data.index(b"\n\n", start)
        return data[:end] + b"\n\n" + data[start:end] + data[end:]

    resign(copy, "2026-08", {"report.md": twice})  # the Markdown: a second table under the same heading
    result = history_verify(copy)
    assert "report.md holds 2 asset tables, not one" in result.output


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
                                                 exchange=EXCHANGE, prices=prices, **{"protocol": "por-v2", **options}),
                         echo=lambda s: None)


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
    assert result.exit_code == 1 and "master_secret.changed: signed false, re-derived true" in result.output


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


# --------------------------------------------------------------- what a re-signed month may not carry (review)

def test_an_invalid_row_in_the_published_reserves_is_named(copy):
    """A second listing of one wallet is invalid, and publication refuses it: its balance must not
    count as declared reserves in a re-signed month."""
    def duplicate(data: bytes) -> bytes:
        table = pq.read_table(io.BytesIO(data))
        rows = table.to_pylist()
        evm = next(r for r in rows if r["address"].startswith("0x") and r["address"] != r["address"].lower())
        extra = {**evm, "address": evm["address"].lower(), "row": len(rows), "status": "invalid",
                 "reason": "listed twice", "note": ""}  # the same wallet, spelled in lower case
        import pyarrow as pa

        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows + [extra], schema=table.schema), sink)
        return sink.getvalue()

    resign(copy, "2026-09", {"reserves.parquet": duplicate})
    result = history_verify(copy)
    assert result.exit_code == 1 and "1 row(s) with an invalid ownership proof, which publication refuses" in result.output


def test_reserves_csv_that_is_not_the_parquet_is_named(copy):
    def edit(data: bytes) -> bytes:
        lines = data.decode().splitlines(keepends=True)
        last = lines[-1].split(",")
        last[4] = "900" + last[4] if last[4] else "900"
        lines[-1] = ",".join(last)
        return "".join(lines).encode()

    resign(copy, "2026-09", {"reserves.csv": edit})
    result = history_verify(copy)
    assert result.exit_code == 1 and "reserves.csv is not the rendering of reserves.parquet" in result.output


def test_the_parquet_row_numbers_must_be_positions(copy):
    resign(copy, "2026-09", {"reserves.parquet": parquet_column("row", lambda rows: [r + 1_000_000 for r in rows])})
    result = history_verify(copy)
    assert result.exit_code == 1 and "row 0: row published [1000000], re-verified [0]" in result.output


def test_a_negative_price_in_a_resigned_report_is_named(copy):
    def negative(doc: dict[str, Any]) -> None:
        symbol = _first_asset(doc)["symbol"]
        doc["usd"]["assets"][symbol]["price"] = "-1000"

    resign(copy, "2026-09", {"report.json": report_edit(negative)})
    result = history_verify(copy)
    assert result.exit_code == 1 and "is not a non-negative decimal string" in result.output


def test_node_records_that_do_not_describe_the_rows_are_named(copy):
    rows = pq.read_table(public(copy["archive"], "2026-09", "reserves.parquet")).to_pylist()
    chain = rows[0]["chain"]
    mine = [r for r in rows if r["chain"] == chain]

    def fabricate(doc: dict[str, Any]) -> None:
        doc["balances"] = {"result": "match", "chains": {chain: {
            "node": True, "heights": [21_000_000], "height": 21_000_000, "chain_id": "5",
            "block": {"hash": "ab" * 32, "timestamp": 1, "time": "1970-01-01T00:00:01Z"},
            "counts": {"match": len(mine) + 3, "mismatch": 0, "unchecked": 0, "error": 0}}}}

    resign(copy, "2026-09", {"report.json": report_edit(fabricate)})
    result = history_verify(copy)
    assert result.exit_code == 1
    assert f"balances.chains.{chain}: counts {len(mine) + 3} row(s), reserves.parquet holds {len(mine)}" in result.output
    assert f"balances.chains.{chain}: checked at height(s) [21000000]" in result.output
    others = {r["chain"] for r in rows} - {chain}
    if others:
        assert "balances: no record for" in result.output


def test_an_exchange_name_other_than_the_challenges_is_named(copy):
    resign(copy, "2026-09", {"report.json": report_edit(lambda d: d.__setitem__("exchange", "Totally Trustworthy"))})
    result = history_verify(copy)
    assert result.exit_code == 1
    assert 'names the exchange "Totally Trustworthy" but its challenge names "Recheck Exchange"' in result.output


@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__("assets", "BTC"),
    lambda d: d["assets"].__setitem__(0, "BTC"),
    lambda d: d["assets"][0].pop("symbol"),
    lambda d: d.__setitem__("usd", "lots"),
    lambda d: d["usd"]["assets"][_first_asset(d)["symbol"]].__setitem__("price", "abc"),
    lambda d: d.__setitem__("balances", {"chains": [1]}),
    lambda d: d.__setitem__("balances", "all good"),
    lambda d: d.__setitem__("ownership", "verified"),
    lambda d: d.__setitem__("bound_ratios", []),
    lambda d: d.__setitem__("reserves_source", "wallets"),
], ids=["assets-text", "asset-row-text", "no-symbol", "usd-text", "price-text", "chains-list", "balances-text",
        "ownership-text", "bound-ratios-list", "reserves-source-text"])
def test_a_malformed_report_is_a_named_problem_not_a_crash(copy, change):
    resign(copy, "2026-09", {"report.json": report_edit(change)})
    result = history_verify(copy)
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and "2026-09 revision 1: " in result.output


def test_a_report_that_is_not_an_object_is_a_named_problem(copy):
    resign(copy, "2026-09", {"report.json": lambda data: canonical_json([json.loads(data)])})
    result = history_verify(copy)
    assert result.exit_code == 1 and "internal error" not in result.output and "report.json" in result.output


@pytest.mark.parametrize("page", [b"<html>nothing</html>", b"\xff\xfe not utf-8", None],
                         ids=["no-embedded-blocks", "not-utf8", "unsigned-template"])
def test_a_file_that_is_not_a_published_page_is_refused_by_the_check(tmp_path, page):
    from pipeline.formats.verifier_page import render_page

    path = tmp_path / "verifier.html"
    path.write_bytes(render_page() if page is None else page)  # None: the page with nothing embedded
    result = check_page(str(path))
    assert result.exit_code == 1 and "not a published month's verifier page" in result.output
