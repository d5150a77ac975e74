"""Bulk proof export: every record, keyed by uk, completes into a proof that verifies."""

from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline import protocol
from pipeline.cli import app
from pipeline.liabilities.export import complete_proof
from pipeline.verify import verify_proof
from tests.support.snapshots import SECRET_HEX, write_secret

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory, scheduler2):
    d = tmp_path_factory.mktemp("export")
    runner = CliRunner()
    runner.invoke(app, ["synth", str(d / "snap"), "--users", "1500", "--assets", "3", "--seed", "4"])
    secret = write_secret(str(d))
    result = runner.invoke(app, ["build", str(d / "snap"), "--period", "2026-11", "--secret-file", secret,
                                 "--out", str(d / "bundle"), "--scheduler", scheduler2, "--bucket-bits", "2",
                                 "--protocol", "por-v2"])  # por-v3's export: tests/test_build_v3.py
    assert result.exit_code == 0, result.stderr
    return d / "bundle"


def _records(out, fmt):
    for root, _, files in os.walk(out):
        for name in files:
            path = os.path.join(root, name)
            if fmt == "jsonl" and name.endswith(".jsonl"):
                yield from (json.loads(line) for line in open(path))
            elif fmt == "parquet" and name.endswith(".parquet"):
                for row in pq.read_table(path).to_pylist():
                    yield {**row, "uk": row["uk"].hex()}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_every_proof_keyed_by_uk(bundle_dir, tmp_path, scheduler2, fmt):
    out = tmp_path / "proofs"
    result = CliRunner().invoke(app, ["export-proofs", str(bundle_dir), "--out", str(out), "--format", fmt,
                                      "--scheduler", scheduler2])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "index.json").read_text())
    assert summary["records"] == 1500 and summary["format"] == fmt
    records = {r["uk"]: r for r in _records(out, fmt)}
    assert len(records) == 1500
    raw = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert b"U0000000" not in raw  # never keyed by (or holding) raw user ids
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    k_nonce, _ = protocol.period_keys(protocol.SecretKey(bytes.fromhex(SECRET_HEX)), "2026-11")
    for uid in ("U0000000000", "U0000000777", "U0000001499"):
        nonce = protocol.user_nonce(k_nonce, uid)
        uk = protocol.user_key(nonce, "2026-11", uid).hex()
        proof = complete_proof(records[uk], summary, uid, nonce)
        verify_proof(proof, manifest=manifest)


def test_export_refuses_existing_output(bundle_dir, tmp_path, scheduler2):
    out = tmp_path / "proofs"
    out.mkdir()
    (out / "keep").write_text("x")
    result = CliRunner().invoke(app, ["export-proofs", str(bundle_dir), "--out", str(out), "--scheduler", scheduler2])
    assert result.exit_code == 1 and "not empty" in result.stderr
    assert (out / "keep").read_text() == "x"
    result = CliRunner().invoke(app, ["export-proofs", str(bundle_dir), "--out", str(tmp_path / "p2"),
                                      "--format", "xml"])
    assert result.exit_code == 2


def test_export_refuses_a_manifest_that_is_not_its_proof_stores(bundle_dir, tmp_path, scheduler2):
    """Security finding 8: a manifest claiming another shape (k=24 over k=2 private files) is refused,
    nothing is exported."""
    import json
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["tree"] = {"bucket_bits": 24, "bucket_height": 0, "height": 24}
    from pipeline.protocol.verify import manifest_commitment

    manifest["commitment"] = manifest_commitment(manifest).hex()  # self-consistent, as a forger would make it
    (copy / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["export-proofs", str(copy), "--out", str(out), "--scheduler", scheduler2])
    assert result.exit_code == 1, result.output
    assert "not this manifest's proof store" in result.stderr and "bucket_bits is 2, the manifest says 24" in result.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_audit_refuses_a_bucket_file_with_an_extra_column(bundle_dir, tmp_path, scheduler2):
    import io
    import json
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq
    from blake3 import blake3

    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    path = sorted((copy / "private" / "buckets").glob("*.parquet"))[0]
    table = pq.read_table(path)
    table = table.append_column("user_id", pa.array([f"user-{i}" for i in range(table.num_rows)]))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    path.write_bytes(sink.getvalue())
    index = json.loads((copy / "private" / "index.json").read_text())
    for entry in index["buckets"]:
        if entry["file"].endswith(path.name):
            entry["digest"] = blake3(sink.getvalue()).hexdigest()  # an index that agrees: only the columns are wrong
    (copy / "private" / "index.json").write_text(json.dumps(index))
    result = CliRunner().invoke(app, ["audit", str(copy), "--scheduler", scheduler2])
    assert result.exit_code == 1 and "FAILED" in result.stderr
    assert "not a valid bucket file" in result.stderr and "'user_id'" in result.stderr
