"""Messages that agree with each other and with the README (issue 24, item 6): reserves verify without a
challenge, a malformed --root, an archive named "archive", files named where they are, and command summaries
never cut in --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.support.node import node

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POR = os.path.join(os.path.dirname(sys.executable), "por")
V3_BASIC = os.path.join(ROOT, "schemas", "vectors", "por-v3", "basic")


def por(*args: str):
    return CliRunner().invoke(app, list(args), terminal_width=100)


# ------------------------------------------------------------------------------- por --help


@pytest.mark.parametrize("group", [[], ["reserves"], ["history"]])
def test_help_lists_each_command_s_first_sentence_whole(group):
    """click cuts a summary at 45 characters with "..."; each listed command shows its docstring's first sentence."""
    import typer

    from pipeline.cli.app import summary

    result = por(*group, "--help")
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:", 1)[1]
    assert "..." not in listing
    flat = " ".join(listing.split())
    cli = typer.main.get_command(app)
    for name in group:
        cli = cli.commands[name]  # type: ignore[attr-defined]
    for name, cmd in cli.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):  # a group: its own summary, from its help text
            continue
        first = summary(cmd.callback.__doc__ if cmd.callback else None)
        assert first and first.endswith(".") and f"{name} {first}" in flat.replace("- ", "-"), (name, first)


# ------------------------------------------------------------------------------- --root


def test_a_malformed_root_is_a_usage_error_in_every_command_line(tmp_path):
    """The README: malformed options exit 2. ``--root xyz`` (or a value of the wrong length or case) is one, in
    por verify, python -m pipeline.verify, the Node CLI and por audit; the proof is not even read."""
    with open(os.path.join(V3_BASIC, "proofs.json"), encoding="utf-8") as f:
        proof = json.load(f)[0]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    with open(os.path.join(V3_BASIC, "manifest.json"), encoding="utf-8") as f:
        commitment = json.load(f)["commitment"]
    for bad in ("xyz", commitment[:-2], commitment.upper(), commitment + "00", "0x" + commitment[2:]):
        runs = {"por verify": subprocess.run([POR, "verify", str(path), "--root", bad], capture_output=True, text=True),
                "python -m pipeline.verify": subprocess.run([sys.executable, "-m", "pipeline.verify", str(path),
                                                             "--root", bad], capture_output=True, text=True, cwd=ROOT),
                "node": node(os.path.join(ROOT, "pipeline", "web", "verify-cli.mjs"), str(path), "--root", bad)}
        for cli, proc in runs.items():
            assert proc.returncode == 2, (cli, bad, proc.stdout, proc.stderr)
            assert "INVALID" not in proc.stderr and proc.stdout == "", (cli, bad)
            assert "--root takes the announced value (a por-v1 month: the root hash), 64 lowercase hexadecimal " \
                   "characters" in proc.stderr, (cli, proc.stderr)
    ok = node(os.path.join(ROOT, "pipeline", "web", "verify-cli.mjs"), str(path), "--root", commitment)
    assert ok.returncode == 0 and ok.stdout.startswith("VALID"), ok.stderr
    audit = por("audit", str(tmp_path / "no-bundle-needed"), "--root", "xyz")
    assert audit.exit_code == 2 and "--root takes the announced value" in audit.stderr, audit.output
    spaced = por("audit", str(tmp_path / "absent"), "--root", f" {commitment.upper()} ")  # forgiven, as before
    assert spaced.exit_code == 1 and "--root" not in spaced.stderr and "not a bundle" in spaced.stderr


# ------------------------------------------------------------------------------- wording


def test_a_failed_publication_names_its_archive_once():
    """An archive named "archive" is not "the archive archive"."""
    from pipeline.errors import InputError, PublishError

    for name in ("archive", "s3://exchange-por/archive"):
        text = PublishError("2026-11", "audit", name, InputError("injected failure")).diagnostics()
        assert text.endswith(f"; the archive is unchanged ({name})"), text
        assert "archive archive" not in text


def test_files_of_an_archived_month_are_named_where_they_are(tmp_path):
    """An archived month keeps its public files in public/: a message names 2026-12/public/manifest.json, never
    2026-12/manifest.json, which does not exist."""
    from pipeline.errors import BundleError
    from pipeline.storage.bundle import open_bundle

    month = tmp_path / "2026-12"
    (month / "public").mkdir(parents=True)
    (month / "public" / "manifest.json").write_text("{")
    b = open_bundle(str(month))
    assert b.where("manifest.json") == f"{month}/public/manifest.json"
    assert b.where("private/index.json") == f"{month}/private/index.json"
    with pytest.raises(BundleError, match=f"^{month}/public/manifest.json: not valid JSON"):
        b.read_json("manifest.json")
    with pytest.raises(BundleError, match="missing public/top-tree.json"):
        b.read("top-tree.json")
    flat = tmp_path / "bundle"
    flat.mkdir()
    (flat / "manifest.json").write_text("{}")
    assert open_bundle(str(flat)).where("manifest.json") == f"{flat}/manifest.json"


# ------------------------------------------------------------------------------- reserves verify


@pytest.mark.integration
def test_reserves_verify_without_a_challenge_reports_what_its_header_says(tmp_path, scheduler2):
    """Without a challenge nothing is bound: a valid proof over the message a row names is unbound; a row naming no
    message signs the period's challenge and cannot be checked: missing, not checked (never invalid), said in the
    header; the exit code follows the statuses (0: no row is invalid; 1 once one is)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.formats.assets import Asset
    from pipeline.ownership.challenge import challenge_text
    from pipeline.reserves.ownership import NOT_CHECKED
    from pipeline.testing.synth import write_synth_reserves

    assets = [Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6)]
    res = tmp_path / "res" / "w.parquet"
    write_synth_reserves(str(res), assets, {a.symbol: 10 ** (a.decimals + 2) for a in assets},
                         {a.symbol: 10_000 for a in assets}, seed=3, challenge=challenge_text("Ex", "2026-11", None),
                         fixed_sentence_rows=1, showcase=True)
    out = tmp_path / "r.jsonl"
    result = por("reserves", "verify", str(tmp_path / "res"), "--out", str(out), "--scheduler", scheduler2)
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0]
    assert header.startswith("challenge: none given: nothing can be bound; a valid proof over the message a row "
                             "names is reported as unbound; 6 row(s) name no message")
    assert "are reported missing, not checked: give --period and --exchange (with --archive), or --challenge" in header
    assert "9 rows: 0 bound, 1 unbound, 0 invalid, 7 missing, 1 unsupported" in result.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum(r["reason"] == NOT_CHECKED for r in rows) == 6 and all(r["status"] != "invalid" for r in rows)
    assert "INVALID" not in result.stderr
    # a row that is wrong whatever the challenge stays invalid, and the exit code says so
    table = pq.read_table(res)
    addresses = table.column("address").to_pylist()
    addresses[0] = addresses[0] + " "
    bad = tmp_path / "bad" / "w.parquet"
    bad.parent.mkdir()
    pq.write_table(table.set_column(table.column_names.index("address"), "address", pa.array(addresses)), bad)
    result = por("reserves", "verify", str(bad.parent), "--scheduler", scheduler2)
    assert result.exit_code == 1 and "1 invalid" in result.stdout and "5 row(s) name no message" in result.stdout
