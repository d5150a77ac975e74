"""Private stays private (security finding 6): owner-only files and directories whatever the umask,
key files that others can read are refused, and leftovers of killed runs are reported and cleaned."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.testing.synth import write_synth
from tests.support.snapshots import write_secret

pytestmark = pytest.mark.integration


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def modes_below(root) -> dict[str, int]:
    out = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            out[os.path.relpath(path, root)] = mode(path)
    return out


@pytest.fixture
def permissive_umask():
    old = os.umask(0o022)  # the usual umask: without care, files come out 0644 and directories 0755
    yield
    os.umask(old)


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    d = tmp_path_factory.mktemp("private")
    write_synth(str(d / "snap"), 3000, asset_count=3, files=2, seed=5)
    return d


def test_bundle_and_export_private_parts_are_owner_only(snap, tmp_path, scheduler2, permissive_umask):
    secret = write_secret(str(tmp_path))
    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["build", str(snap / "snap"), "--period", "2026-11", "--secret-file", secret,
                                      "--out", str(out), "--scheduler", scheduler2, "--bucket-bits", "2"])
    assert result.exit_code == 0, result.output
    modes = modes_below(out)
    private = {p: m for p, m in modes.items() if p.startswith("private")}
    assert private and all(m == (0o700 if os.path.isdir(out / p) else 0o600) for p, m in private.items()), private
    assert mode(out) == 0o755 and modes["manifest.json"] == 0o644 and modes["top-tree.json"] == 0o644
    exported = tmp_path / "export"
    result = CliRunner().invoke(app, ["export-proofs", str(out), "--out", str(exported), "--scheduler", scheduler2])
    assert result.exit_code == 0, result.output
    assert mode(exported) == 0o700
    assert all(m in (0o700, 0o600) for m in modes_below(exported).values()), modes_below(exported)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no scratch or staging left


@pytest.mark.parametrize("file_mode", [0o644, 0o640, 0o604, 0o660])
def test_secret_file_readable_by_others_is_refused(tmp_path, scheduler2, file_mode):
    secret = write_secret(str(tmp_path))
    os.chmod(secret, file_mode)
    result = CliRunner().invoke(app, ["prove", str(tmp_path), "--user", "u", "--secret-file", secret])
    assert result.exit_code == 1
    assert f"mode {file_mode:04o}" in result.stderr and f"chmod 600 {secret}" in result.stderr
    assert "5e5e" not in result.output


def test_signing_key_readable_by_others_is_refused(tmp_path):
    from pipeline.errors import InputError
    from pipeline.publication.signing import load_signing_key, write_signing_key

    key = str(tmp_path / "signing.key")
    write_signing_key(key)
    assert mode(key) == 0o600
    load_signing_key(key)
    os.chmod(key, 0o644)
    with pytest.raises(InputError, match=r"mode 0644.*chmod 600"):
        load_signing_key(key)


def test_keys_are_created_owner_only_whatever_the_umask(tmp_path, permissive_umask):
    os.umask(0)  # the worst case: everything world-writable by default
    result = CliRunner().invoke(app, ["keygen", str(tmp_path / "master.secret")])
    assert result.exit_code == 0 and mode(tmp_path / "master.secret") == 0o600
    result = CliRunner().invoke(app, ["keygen", "--signing", str(tmp_path / "s.key")])
    assert result.exit_code == 0 and mode(tmp_path / "s.key") == 0o600


def test_leftovers_are_owner_only_reported_and_cleaned(snap, tmp_path, scheduler2, permissive_umask):
    """A killed build's leftovers (stand-ins made as the build makes them: same names, same modes)
    are reported by the next build and removed by ``por clean``; a published bundle is never touched."""
    from pipeline.storage.bundle import start_scratch, start_staging

    out = str(tmp_path / "bundle")
    scratch = start_scratch(out, "deadbeef")
    scratch.write("parts/f000000.arrow", b"user rows")
    staging = start_staging(out, "ab" * 32, resume=False, force=False)
    staging.bundle.write("private/buckets/00000000.parquet", b"bucket")
    for path in (scratch.path, staging.bundle.path):
        assert mode(path) == 0o700
    assert mode(os.path.join(scratch.path, "parts", "f000000.arrow")) == 0o600
    secret = write_secret(str(tmp_path))
    result = CliRunner().invoke(app, ["build", str(snap / "snap"), "--period", "2026-11", "--secret-file", secret,
                                      "--out", out, "--scheduler", scheduler2])
    assert result.exit_code == 0, result.output
    assert "leftovers of interrupted runs" in result.stderr and "scratch-deadbeef" in result.stderr
    assert f"por clean {out}" in result.stderr
    cleaned = CliRunner().invoke(app, ["clean", out])
    assert cleaned.exit_code == 0 and "2 leftover(s) removed" in cleaned.stdout
    assert sorted(os.listdir(tmp_path)) == ["bundle", "secret.hex"]
    assert os.path.exists(os.path.join(out, "manifest.json"))
    again = CliRunner().invoke(app, ["clean", out])
    assert again.exit_code == 0 and "nothing to clean" in again.stdout
