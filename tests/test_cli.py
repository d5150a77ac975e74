"""The CLI end to end: through the installed ``por`` command and typer's CliRunner."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.support.snapshots import SECRET_HEX, write_secret

pytestmark = pytest.mark.integration

POR = shutil.which("por") or os.path.join(os.path.dirname(sys.executable), "por")
PERIOD = "2026-11"


def por(*args, check=None):
    proc = subprocess.run([POR, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory, scheduler2):
    d = tmp_path_factory.mktemp("cli")
    snap = d / "snap"
    por("synth", str(snap), "--users", "3000", "--assets", "4", "--files", "3", "--seed", "7", check=0)
    secret = write_secret(str(d))
    # this module tests the por-v2 command flows (one tree, bucket files); por-v3's: tests/test_build_v3.py
    proc = por("build", str(snap), "--period", PERIOD, "--secret-file", secret, "--out", str(d / "bundle"),
               "--scheduler", scheduler2, "--bucket-bits", "2", "--protocol", "por-v2", check=0)
    return {"dir": d, "snap": snap, "secret": secret, "bundle": d / "bundle", "build_output": proc.stdout + proc.stderr}


def test_build_prints_root_and_human_totals(built):
    manifest = json.loads((built["bundle"] / "manifest.json").read_text())
    out = built["build_output"]
    assert manifest["root"]["hash"] in out
    assert "BTC" in out and "." in out.split("BTC", 1)[1].splitlines()[0]
    assert manifest["version"] == "por-v2" and manifest["hash"] == "blake3"  # the default for new builds
    assert f"announced value (por-v2) {manifest['commitment']}" in out
    assert [a["symbol"] for a in manifest["assets"]] == sorted(a["symbol"] for a in manifest["assets"])


def test_bundle_holds_no_secret_and_no_user_ids(built):
    secret_bytes = bytes.fromhex(SECRET_HEX)
    for root, _, files in os.walk(built["bundle"]):
        for name in files:
            data = open(os.path.join(root, name), "rb").read()
            assert SECRET_HEX.encode() not in data and secret_bytes not in data
            assert b"U0000000042" not in data
    assert SECRET_HEX not in built["build_output"]


def test_prove_verify_roundtrip_installed_command(built, tmp_path):
    proof_path = tmp_path / "proof.json"
    por("prove", str(built["bundle"]), "--user", "U0000000042", "--secret-file", built["secret"],
        "--out", str(proof_path), check=0)
    proof = json.loads(proof_path.read_text())
    for field in ("version", "period", "assets", "user_id", "nonce", "balances", "position", "path", "root"):
        assert field in proof
    manifest = built["bundle"] / "manifest.json"
    ok = por("verify", str(proof_path), "--manifest", str(manifest), check=0)
    assert "VALID" in ok.stdout and PERIOD in ok.stdout
    published = json.loads(manifest.read_text())
    announced = por("verify", str(proof_path), "--root", published["commitment"], check=0)
    assert f"announced value (por-v2) {published['commitment']}" in announced.stdout
    wrong = por("verify", str(proof_path), "--root", published["root"]["hash"], check=1)  # the root is not the value
    assert "INVALID proof: commitment" in wrong.stderr
    proof["balances"][0] = str(int(proof["balances"][0]) + 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(proof))
    failed = por("verify", str(bad), "--manifest", str(manifest), check=1)
    assert "INVALID proof: root-hash" in failed.stderr and "Traceback" not in failed.stderr


def test_prove_to_stdout_and_unknown_user(built):
    result = CliRunner().invoke(app, ["prove", str(built["bundle"]), "--user", "U0000000001",
                                      "--secret-file", built["secret"]])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["user_id"] == "U0000000001"
    result = CliRunner().invoke(app, ["prove", str(built["bundle"]), "--user", "nobody",
                                      "--secret-file", built["secret"]])
    assert result.exit_code == 1 and "'nobody' is not in the bundle" in result.stderr


def test_prove_with_another_secret_finds_nobody(built, tmp_path):
    other = tmp_path / "other.secret"
    other.write_text("11" * 32)
    other.chmod(0o600)
    result = CliRunner().invoke(app, ["prove", str(built["bundle"]), "--user", "U0000000001",
                                      "--secret-file", str(other)])
    assert result.exit_code == 1 and "not in the bundle" in result.stderr


def test_keygen(tmp_path):
    path = tmp_path / "k.secret"
    por("keygen", str(path), check=0)
    text = path.read_text().strip()
    assert len(text) == 64 and set(text) <= set("0123456789abcdef") and len(set(text)) > 4
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert text not in por("keygen", str(path), check=1).stderr
    assert path.read_text().strip() == text


def test_audit_clean_bundle(built, scheduler2):
    proc = por("audit", str(built["bundle"]), "--scheduler", scheduler2, check=0)
    assert "audit OK" in proc.stdout


def _bucket_files(bundle):
    return sorted((bundle / "private" / "buckets").iterdir())


def _rewrite_bucket(bundle, path, change):
    """Tamper with a bucket file like a careful adversary: also fix its digest in the index."""
    from blake3 import blake3

    table = pq.read_table(path)
    table = change(table).replace_schema_metadata(table.schema.metadata)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    path.write_bytes(sink.getvalue())
    index_path = bundle / "private" / "index.json"
    index = json.loads(index_path.read_text())
    for entry in index["buckets"]:
        if entry["file"].endswith(path.name):
            entry["digest"] = blake3(sink.getvalue()).hexdigest()
    index_path.write_text(json.dumps(index))


def _changed_balance(t):
    raw = bytearray(t.column("balances")[0].as_py())
    raw[-1] ^= 1
    values = [bytes(raw)] + [v.as_py() for v in t.column("balances")[1:]]
    return t.set_column(2, "balances", pa.array(values, t.schema.field("balances").type))


def _swapped_leaves(t):
    idx = list(range(t.num_rows))
    idx[0], idx[1] = idx[1], idx[0]
    swapped = t.take(idx)
    return swapped.set_column(1, "position", t.column("position"))


def _removed_leaf(t):
    return t.slice(1)


@pytest.mark.parametrize("change, expected", [
    (_changed_balance, "stored root is"),
    (_swapped_leaves, "not strictly ascending"),
    (_removed_leaf, "holds"),
])
def test_audit_detects_tampering(built, tmp_path, scheduler2, change, expected):
    copy = tmp_path / "bundle"
    shutil.copytree(built["bundle"], copy)
    _rewrite_bucket(copy, _bucket_files(copy)[0], change)
    proc = por("audit", str(copy), "--scheduler", scheduler2, check=1)
    assert "FAILED" in proc.stderr and expected in proc.stderr, proc.stderr


def test_audit_detects_public_file_and_digest_tampering(built, tmp_path, scheduler2):
    copy = tmp_path / "bundle"
    shutil.copytree(built["bundle"], copy)
    top = json.loads((copy / "top-tree.json").read_text())
    top["levels"][0][0]["sums"][0] = str(int(top["levels"][0][0]["sums"][0]) + 1)
    (copy / "top-tree.json").write_text(json.dumps(top))
    bucket = _bucket_files(copy)[0]
    bucket.write_bytes(bucket.read_bytes()[:-1] + b"\x00")
    result = CliRunner().invoke(app, ["audit", str(copy), "--scheduler", scheduler2])
    assert result.exit_code == 1
    assert "top-tree.json: blake3" in result.stderr and "differs from private/index.json's" in result.stderr


def test_audit_refuses_unfinished_bundle(tmp_path, scheduler2):
    (tmp_path / "half").mkdir()
    result = CliRunner().invoke(app, ["audit", str(tmp_path / "half"), "--scheduler", scheduler2])
    assert result.exit_code == 1 and "not a bundle" in result.stderr


def test_own_local_cluster_and_layouts_agree(built, tmp_path):
    """`por build` with its own LocalCluster (1 worker), long layout, other file split: same manifest."""
    snap = tmp_path / "long"
    por("synth", str(snap), "--users", "3000", "--assets", "4", "--files", "5", "--seed", "7",
        "--layout", "long", check=0)
    out = tmp_path / "bundle"
    por("build", str(snap), "--period", PERIOD, "--secret-file", built["secret"], "--out", str(out),
        "--workers", "1", "--bucket-bits", "2", "--protocol", "por-v2", check=0)
    assert (out / "manifest.json").read_bytes() == (built["bundle"] / "manifest.json").read_bytes()
    assert (out / "top-tree.json").read_bytes() == (built["bundle"] / "top-tree.json").read_bytes()


def test_synth_is_deterministic(tmp_path):
    for name in ("a", "b"):
        CliRunner().invoke(app, ["synth", str(tmp_path / name), "--users", "500", "--seed", "3", "--assets", "5"])
    a = pq.read_table(tmp_path / "a" / "part-00000.parquet")
    b = pq.read_table(tmp_path / "b" / "part-00000.parquet")
    assert a.equals(b) and a.num_rows == 500
    assert set(a.column_names) == {"user_id", "BTC", "ETH", "USDT", "USDC", "BNB"}
    types = {str(a.schema.field(c).type) for c in a.column_names if c != "user_id"}
    assert any(t.startswith("decimal") for t in types) and "int64" in types


def test_hidden_and_underscore_files_are_ignored(built, tmp_path, scheduler2):
    snap = tmp_path / "snap"
    shutil.copytree(built["snap"], snap)
    (snap / "_SUCCESS").write_text("")
    (snap / ".part-9.parquet").write_bytes(b"not parquet")
    (snap / "_temporary").mkdir()
    (snap / "_temporary" / "part-9.parquet").write_bytes(b"not parquet")
    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["build", str(snap), "--period", PERIOD, "--secret-file", built["secret"],
                                      "--out", str(out), "--scheduler", scheduler2, "--bucket-bits", "2",
                                      "--protocol", "por-v2"])
    assert result.exit_code == 0, result.stderr
    assert "passed over (hidden names): .part-9.parquet, _SUCCESS, _temporary/part-9.parquet" in result.stderr
    assert (out / "manifest.json").read_bytes() == (built["bundle"] / "manifest.json").read_bytes()
    (snap / "notes.txt").write_text("not data: refused by name, never silently skipped")
    shutil.rmtree(out)
    refused = CliRunner().invoke(app, ["build", str(snap), "--period", PERIOD, "--secret-file", built["secret"],
                                       "--out", str(out), "--scheduler", scheduler2, "--bucket-bits", "2"])
    assert refused.exit_code == 1 and "['notes.txt']" in refused.stderr


def test_single_file_snapshot_with_assets_option(built, tmp_path, scheduler2):
    single = tmp_path / "one.parquet"
    shutil.copy(built["snap"] / "part-00000.parquet", single)
    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["build", str(single), "--period", PERIOD, "--secret-file", built["secret"],
                                      "--out", str(out), "--scheduler", scheduler2, "--protocol", "por-v2",
                                      "--assets", str(built["snap"] / "assets.json")])
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["tree"]["height"] >= 1


def test_demo_runs_every_step_with_the_installed_command(tmp_path):
    proc = subprocess.run([POR, "demo", str(tmp_path / "demo"), "--users", "600", "--workers", "1"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for expected in ("VALID proof for user 'U0000000042'", "5. audit OK", "under 100%: ", "every signature",
                     "MATCH 2026-08 (revision 1)", "MATCH 2026-09 (revision 1)", "MATCH 2026-10 (revision 1)",
                     "demo complete"):
        assert expected in out
    assert "MISMATCH" not in out
    public = tmp_path / "demo" / "archive" / "2026-10" / "public"
    assert f"report         {public / 'report.html'}" in out and (public / "report.html").is_file()
    # one month, one root: the command the demo ends with verifies its proof against the published month, pasted as
    # printed into a fresh shell elsewhere, without the virtual environment on PATH (the README never activates it)
    command = next(line for line in out.splitlines() if line.strip().startswith("verify ")).split(None, 1)[1]
    assert command.startswith(f"{os.path.realpath(POR)} verify ") or command.startswith(f"{POR} verify "), command
    assert str(public / "manifest.json") in command
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    assert subprocess.run(["sh", "-c", "command -v por"], env=bare, capture_output=True).returncode != 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = subprocess.run(["sh", "-c", command], capture_output=True, text=True, stdin=subprocess.DEVNULL, env=bare,
                           cwd=elsewhere)
    assert check.returncode == 0, check.stderr
    assert "VALID proof for user 'U0000000042' in period 2026-10" in check.stdout
    assert "manifest signature: valid" in check.stdout
    activate = os.path.join(os.path.dirname(POR), "activate")
    if os.path.isfile(activate):  # the other way the demo names: activate, then plain por
        assert f"after `source {activate}`" in out
        check = subprocess.run(["bash", "-c", f". {activate} && " + command.replace(command.split()[0], "por", 1)],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL, env=bare, cwd=elsewhere)
        assert check.returncode == 0 and "VALID proof" in check.stdout, check.stderr
    report = json.loads((public / "report.json").read_text())
    assert report["usd"]["total"]["reserves"] and len(report["history"]) == 3
    assert {"bound", "unbound", "missing", "unsupported"} <= {s for s, n in report["ownership"]["counts"].items() if n}
    again = subprocess.run([POR, "demo", str(tmp_path / "demo"), "--users", "300", "--workers", "1"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert again.returncode == 0 and again.stdout.startswith(f"replacing the previous demo in {tmp_path / 'demo'}")


def test_demo_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "important.txt").write_text("data")
    result = CliRunner().invoke(app, ["demo", str(tmp_path), "--users", "50"])
    assert result.exit_code == 1 and "refusing to replace" in result.stderr
    assert (tmp_path / "important.txt").read_text() == "data"


def test_verify_rejects_duplicate_json_keys(tmp_path):
    vectors = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas", "vectors", "por-v1", "basic")
    proof = json.load(open(os.path.join(vectors, "proofs.json")))[0]
    text = json.dumps(proof)
    doubled = text.replace('"position":', f'"position": {proof["position"] ^ 1}, "position":', 1)
    path = tmp_path / "dup.json"
    path.write_text(doubled)
    result = CliRunner().invoke(app, ["verify", str(path), "--manifest", os.path.join(vectors, "manifest.json")])
    assert result.exit_code == 1 and "duplicate keys" in result.stderr


def test_audit_reports_stray_bucket_files(built, tmp_path, scheduler2):
    copy = tmp_path / "bundle"
    shutil.copytree(built["bundle"], copy)
    (copy / "private" / "buckets" / "99999999.parquet").write_bytes(b"stray")
    result = CliRunner().invoke(app, ["audit", str(copy), "--scheduler", scheduler2])
    assert result.exit_code == 1 and "files not in private/index.json" in result.stderr


def test_prove_and_verify_do_not_import_dask_or_pandas(built, tmp_path):
    """The user-facing commands stay light: no Dask, no pandas (start-up time)."""
    proof = tmp_path / "p.json"
    code = (
        "import sys\n"
        "from pipeline.cli import app\n"
        "for args in sys.argv[1].split('|'):\n"
        "    try:\n"
        "        app(args.split('\\t'))\n"
        "    except SystemExit as e:\n"
        "        assert e.code in (0, None), (args, e.code)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pandas'))\n"
        "assert not heavy, heavy\n"
    )
    prove = "\t".join(["prove", str(built["bundle"]), "--user", "U0000000001", "--secret-file", built["secret"],
                       "--out", str(proof)])
    verify = "\t".join(["verify", str(proof), "--manifest", str(built["bundle"] / "manifest.json")])
    proc = subprocess.run([sys.executable, "-c", code, prove + "|" + verify], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "VALID" in proc.stdout


@pytest.mark.parametrize("raised, code, words", [
    (ConnectionResetError(104, "Connection reset by peer"), 3, "storage error"),
    (PermissionError(13, "Permission denied"), 3, "storage error"),
    (ZeroDivisionError("division by zero"), 4, "internal error"),
])
def test_exit_codes_for_storage_and_internal_failures(tmp_path, monkeypatch, raised, code, words):
    """One table of exit codes: 3 for storage that fails after retries or refuses access, 4 for a bug."""
    import pipeline.liabilities.snapshot as snapshot

    def broken(*args, **kwargs):
        raise raised

    monkeypatch.setattr(snapshot, "plan_snapshot", broken)
    secret = write_secret(str(tmp_path))
    result = CliRunner().invoke(app, ["build", str(tmp_path), "--period", "2026-11", "--secret-file", secret,
                                      "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == code, result.output
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert words in line and type(raised).__name__ in line
    assert "Traceback" not in result.stderr


def test_usage_errors_are_one_line_with_exit_2():
    result = CliRunner().invoke(app, ["build", "snap", "--period", "2026-11"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: Missing option '--secret-file'. (see 'por build --help')"]
    both = CliRunner().invoke(app, ["verify", "p.json", "--manifest", "m.json", "--root", "00"])
    assert both.exit_code == 2 and len(both.stderr.splitlines()) == 1
    assert "give exactly one of --manifest and --root" in both.stderr


def test_version():
    from pipeline import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"por {__version__}\n"


def test_unreadable_proof_is_not_an_invalid_proof(tmp_path):
    result = CliRunner().invoke(app, ["verify", str(tmp_path / "absent.json"), "--root", "0" * 64])
    assert result.exit_code == 1
    assert "cannot read" in result.stderr and "INVALID" not in result.stderr


def test_every_command_has_an_example_and_placeholders_without_type_tags():
    import typer.main

    from pipeline.cli.app import app as the_app

    group = typer.main.get_command(the_app)
    groups = ("history", "reserves")
    commands = [(name, cmd) for name, cmd in group.commands.items() if name not in groups]
    for g in groups:
        commands += [(f"{g} {name}", cmd) for name, cmd in group.commands[g].commands.items()]
    for name, _ in commands:
        text = CliRunner().invoke(app, [*name.split(), "--help"]).stdout
        assert "Example" in text and f"por {name}" in text, name
        for tag in (" TEXT", " INTEGER", " PATH"):
            assert tag not in text, (name, tag)


def test_protocol_v1_still_builds_exactly_as_before(built, tmp_path, scheduler2):
    """``--protocol por-v1``: the same tree (same root) in the por-v1 format, proved and verified as v1,
    whose verifier says where the labels come from."""
    out = tmp_path / "v1"
    result = CliRunner().invoke(app, ["build", str(built["snap"]), "--period", PERIOD, "--secret-file", built["secret"],
                                      "--out", str(out), "--scheduler", scheduler2, "--bucket-bits", "2",
                                      "--protocol", "por-v1"])
    assert result.exit_code == 0, result.output
    v1 = json.loads((out / "manifest.json").read_text())
    v2 = json.loads((built["bundle"] / "manifest.json").read_text())
    assert v1["version"] == "por-v1" and "commitment" not in v1 and v1["root"] == v2["root"]
    proof = tmp_path / "p.json"
    por("prove", str(out), "--user", "U0000000042", "--secret-file", built["secret"], "--out", str(proof), check=0)
    assert json.loads(proof.read_text())["version"] == "por-v1"
    ok = por("verify", str(proof), "--manifest", str(out / "manifest.json"), check=0)
    assert "pinned only by its signature" in ok.stdout
    bad = CliRunner().invoke(app, ["build", str(built["snap"]), "--period", PERIOD, "--secret-file", built["secret"],
                                   "--out", str(tmp_path / "v9"), "--scheduler", scheduler2, "--protocol", "por-v9"])
    assert bad.exit_code == 1 and "--protocol 'por-v9': is not one of por-v1, por-v2, por-v3" in bad.stderr
