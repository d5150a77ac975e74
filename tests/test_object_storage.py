"""Object storage through fsspec against a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal

import pyarrow as pa
import pytest

from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol import SecretKey
from pipeline.testing.synth import write_synth
from tests.support.cluster_procs import free_port
from tests.support.snapshots import (
    EXACT,
    SECRET_HEX,
    write_assets,
    write_secret,
    write_table,
)

pytestmark = pytest.mark.e2e

POR = os.path.join(os.path.dirname(os.sys.executable), "por")
PERIOD = "2026-11"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint)
    for bucket in ("snaps", "bundles"):
        fs.mkdir(bucket)
    d = tmp_path_factory.mktemp("s3")
    write_synth(str(d / "snap"), 20_000, asset_count=4, files=3, seed=5)
    fs.put(str(d / "snap"), "snaps/snap", recursive=True)
    yield {"endpoint": endpoint, "fs": fs, "dir": d,
           "opts": ["--storage-option", "key=testing", "--storage-option", "secret=testing",
                    "--storage-option", f"endpoint_url={endpoint}"],
           "env": {**os.environ, **CREDS, "AWS_ENDPOINT_URL": endpoint}}
    server.stop()


def por(args, env=None):
    return subprocess.run([POR, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)


def test_build_prove_verify_audit_on_s3(s3, client2, scheduler2, tmp_path):
    local = tmp_path / "local"
    build_bundle(client2, plan_snapshot(str(s3["dir"] / "snap")), PERIOD, SecretKey(bytes.fromhex(SECRET_HEX)),
                 str(local), bucket_bits=3)
    secret = write_secret(str(tmp_path))
    # the standard AWS environment variables, AWS_ENDPOINT_URL included, with a LocalCluster of its own
    built = por(["build", "s3://snaps/snap", "--period", PERIOD, "--secret-file", secret,
                 "--out", "s3://bundles/b1", "--workers", "2", "--bucket-bits", "3"], env=s3["env"])
    assert built.returncode == 0, built.stderr
    fs = s3["fs"]
    assert fs.cat_file("bundles/b1/manifest.json") == (local / "manifest.json").read_bytes()
    assert fs.cat_file("bundles/b1/top-tree.json") == (local / "top-tree.json").read_bytes()
    assert not [p for p in fs.find("bundles/b1") if p.endswith(".mac")]
    # explicit storage options, on the shared test cluster whose workers lack the environment
    audited = por(["audit", "s3://bundles/b1", "--scheduler", scheduler2, *s3["opts"]])
    assert audited.returncode == 0 and "audit OK" in audited.stdout, audited.stderr
    proof = por(["prove", "s3://bundles/b1", "--user", "U0000000007", "--secret-file", secret, *s3["opts"]])
    assert proof.returncode == 0, proof.stderr
    fs.pipe_file("bundles/proofs/u7.json", proof.stdout.encode())
    verified = por(["verify", "s3://bundles/proofs/u7.json", "--manifest", "s3://bundles/b1/manifest.json",
                    *s3["opts"]])
    assert verified.returncode == 0 and "VALID" in verified.stdout, verified.stderr
    assert json.loads(proof.stdout)["commitment"] == json.loads(fs.cat_file("bundles/b1/manifest.json"))["commitment"]


def test_prefix_without_manifest_is_absent_and_failed_build_leaves_nothing(s3, scheduler2, tmp_path):
    fs = s3["fs"]
    fs.pipe_file("bundles/half/private/index.json", b"{}")
    proc = por(["audit", "s3://bundles/half", "--scheduler", scheduler2, *s3["opts"]])
    assert proc.returncode == 1 and "not a bundle" in proc.stderr
    # totals overflow is found only after bucket files are written: all of them must go
    snap = tmp_path / "overflow"
    write_assets(str(snap), {"ETH": 18})
    half = Decimal(1 << 127).scaleb(-18, EXACT)
    write_table(str(snap / "p.parquet"), pa.table({"user_id": pa.array(["a", "b"]),
                                                   "ETH": pa.array([half, half], pa.decimal256(76, 18))}))
    fs.put(str(snap), "snaps/overflow", recursive=True)
    secret = write_secret(str(tmp_path))
    proc = por(["build", "s3://snaps/overflow", "--period", PERIOD, "--secret-file", secret,
                "--out", "s3://bundles/never", "--scheduler", scheduler2, "--bucket-bits", "0", *s3["opts"]])
    assert proc.returncode == 1 and "overflows 2^128" in proc.stderr
    assert not fs.exists("bundles/never") or fs.find("bundles/never") == []


def test_existing_bundle_on_s3_needs_force(s3, scheduler2, tmp_path):
    secret = write_secret(str(tmp_path))
    args = ["build", "s3://snaps/snap", "--period", PERIOD, "--secret-file", secret, "--out", "s3://bundles/b2",
            "--scheduler", scheduler2, *s3["opts"]]
    assert por(args).returncode == 0
    before = s3["fs"].cat_file("bundles/b2/manifest.json")
    refused = por(args)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    assert s3["fs"].cat_file("bundles/b2/manifest.json") == before
    assert por([*args, "--force"]).returncode == 0
    assert s3["fs"].cat_file("bundles/b2/manifest.json") == before


def test_resume_on_s3_ignores_and_prunes_foreign_partials(s3, scheduler2, tmp_path):
    fs = s3["fs"]
    fs.pipe_file("bundles/b3/private/buckets/00000077.parquet", b"from another run")
    fs.pipe_file("bundles/b3/private/buckets/00000077.parquet.mac", b"00")
    secret = write_secret(str(tmp_path))
    args = ["build", "s3://snaps/snap", "--period", PERIOD, "--secret-file", secret, "--out", "s3://bundles/b3",
            "--scheduler", scheduler2, "--bucket-bits", "3", *s3["opts"]]
    refused = por(args)  # an unfinished prefix is not empty: only --resume (or --force) may use it
    assert refused.returncode == 1 and "not empty" in refused.stderr
    proc = por([*args, "--resume"])
    assert proc.returncode == 0 and ", 0 reused" in proc.stdout, proc.stderr
    assert not fs.exists("bundles/b3/private/buckets/00000077.parquet")
    audited = por(["audit", "s3://bundles/b3", "--scheduler", scheduler2, *s3["opts"]])
    assert audited.returncode == 0, audited.stderr


def test_publish_history_and_regenerate_on_s3(s3, scheduler2, tmp_path):
    """The monthly job with every input and the archive on object storage."""
    from pipeline.formats.assets import parse_assets
    from pipeline.testing.synth import snapshot_totals, write_synth_reserves

    fs = s3["fs"]
    secret = write_secret(str(tmp_path))
    key = str(tmp_path / "sign.key")
    assert por(["keygen", "--signing", key]).returncode == 0
    for i, month in enumerate(("2026-01", "2026-02")):
        snap = tmp_path / f"snap-{month}"
        write_synth(str(snap), 700, asset_count=3, files=2, seed=70 + i)
        assets = parse_assets((snap / "assets.json").read_text(), "assets.json")
        write_synth_reserves(str(tmp_path / f"res-{month}" / "r.parquet"), assets, snapshot_totals(str(snap)),
                             {a.symbol: 10_100 for a in assets}, seed=i)
        fs.put(str(snap), f"snaps/monthly/{month}", recursive=True)
        fs.put(str(tmp_path / f"res-{month}"), f"snaps/reserves/{month}", recursive=True)
    base = ["--archive", "s3://bundles/archive", "--secret-file", secret, "--scheduler", scheduler2, *s3["opts"]]
    for month in ("2026-01", "2026-02"):
        proc = por(["publish", "--period", month, "--snapshot", "s3://snaps/monthly/{period}",
                    "--reserves", "s3://snaps/reserves/{period}", "--signing-key", key, *base])
        assert proc.returncode == 0, proc.stderr
    index = json.loads(fs.cat_file("bundles/archive/index.json"))
    assert [e["directory"] for e in index["publications"]] == ["2026-01", "2026-02"]
    assert all(e["ratios"][s] in ("100.99", "101.00") for e in index["publications"] for s in e["ratios"])
    assert fs.exists("bundles/archive/2026-02/inputs/snapshot/part-00001.parquet")
    assert not [p for p in fs.find("bundles/archive") if "/.publish-" in p]
    # a refused double publication and a failing one leave the archive as it was
    before = {p: fs.cat_file(p) for p in fs.find("bundles/archive")}
    again = por(["publish", "--period", "2026-02", "--snapshot", "s3://snaps/monthly/2026-02",
                 "--reserves", "s3://snaps/reserves/2026-02", "--signing-key", key, *base])
    assert again.returncode == 1 and "already published" in again.stderr
    broken = por(["publish", "--period", "2026-03", "--snapshot", "s3://snaps/monthly/2026-02",
                  "--reserves", "s3://snaps/no-such-reserves", "--signing-key", key, *base])
    assert broken.returncode == 1 and "no such file or directory" in broken.stderr
    fs.invalidate_cache()
    assert {p: fs.cat_file(p) for p in fs.find("bundles/archive")} == before
    history = por(["history", "verify", "s3://bundles/archive", "--public-key", key + ".pub", *s3["opts"]])
    assert history.returncode == 0 and "2 publication(s)" in history.stdout, history.stderr
    regen = por(["regenerate", "--all", *base])
    assert regen.returncode == 0 and regen.stdout.count("MATCH ") == 2, regen.stdout + regen.stderr


@pytest.mark.parametrize("size", [10, 12 * 2**20])
def test_a_stream_that_fails_on_object_storage_leaves_no_object(s3, size):
    """``Bundle.write_stream`` on the real S3-compatible server: a file whose making fails part way (after
    a small part, or after more than one upload part's worth) leaves no object, nor does it replace the
    one that was there; a file made whole is there with the digest returned."""
    from blake3 import blake3

    from pipeline.storage.bundle import Bundle

    fs = s3["fs"]
    fresh = Bundle(fs, "bundles/streamed", "s3://bundles/streamed")
    assert fresh.write_stream("public/reserves.csv", lambda f: f.write(b"old")) == blake3(b"old").hexdigest()

    def failing(f):
        f.write(b"x" * size)
        raise RuntimeError("the making failed")

    for name in ("public/reserves.csv", "public/reserves.parquet"):
        with pytest.raises(RuntimeError, match="the making failed"):
            fresh.write_stream(name, failing)
    fs.invalidate_cache()
    assert fs.cat_file("bundles/streamed/public/reserves.csv") == b"old"
    assert not fs.exists("bundles/streamed/public/reserves.parquet")
