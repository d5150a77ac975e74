"""The ``por`` command line. Thin: parses options, calls the library, maps errors to exit codes.

Exit codes: 0 success, 1 invalid input or failed check, 2 usage error.
Errors go to stderr without tracebacks (set ``POR_DEBUG=1`` for one).
Heavy modules (Dask, pyarrow, numpy) are imported inside the commands that need them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from typing import Annotated, Any, Callable, Iterator, Optional, TypeVar

import typer
import typer.exceptions

from .errors import PorError

app = typer.Typer(
    name="por",
    help="Proof of liabilities: Merkle-sum trees over exchange snapshots (protocol por-v1).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Map library errors to exit 1 with a one-line message on stderr."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except PorError as exc:
            raise fail(exc.diagnostics()) from None
        except OSError as exc:  # storage that stays unavailable after retries, or refuses access
            raise fail(f"storage error ({type(exc).__name__}): {exc}") from None
        except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback, no locals
            if os.environ.get("POR_DEBUG"):
                raise
            raise fail(f"internal error ({type(exc).__name__}): {exc}") from None

    return wrapper  # type: ignore[return-value]


WorkersOpt = Annotated[
    Optional[int], typer.Option("--workers", min=1, help="Local worker processes (default: CPU count).")
]
SchedulerOpt = Annotated[
    Optional[str],
    typer.Option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", help="Connect to a running Dask scheduler."),
]
ClusterOpt = Annotated[
    Optional[str], typer.Option("--cluster", help="Create a Dask cluster of this class, module:Class.")
]
ClusterOptionOpt = Annotated[
    Optional[list[str]], typer.Option("--cluster-option", help="KEY=VALUE for the --cluster class (repeatable).")
]
ReportOpt = Annotated[
    Optional[str], typer.Option("--performance-report", help="Write Dask's HTML performance report here.")
]
StorageOpt = Annotated[
    Optional[list[str]], typer.Option("--storage-option", help="KEY=VALUE passed to fsspec (repeatable).")
]
SecretOpt = Annotated[str, typer.Option("--secret-file", help="File holding the 32-byte master secret as 64 hex characters.")]


def check_cluster_choice(
    workers: int | None, scheduler: str | None, cluster: str | None, cluster_option: list[str] | None
) -> None:
    """Usage errors (exit 2) before any work: one way to choose the cluster."""
    chosen = [name for name, value in (("--workers", workers), ("--scheduler", scheduler), ("--cluster", cluster))
              if value is not None]
    if len(chosen) > 1:
        raise typer.BadParameter(f"give only one of --workers, --scheduler and --cluster (got {', '.join(chosen)})")
    if cluster_option and not cluster:
        raise typer.BadParameter("--cluster-option needs --cluster")


@contextlib.contextmanager
def cluster_client(
    workers: int | None, scheduler: str | None, cluster: str | None, cluster_option: list[str] | None,
    performance_report: str | None,
) -> Iterator[Any]:
    """The Dask client for a command, announcing the dashboard on stderr."""
    check_cluster_choice(workers, scheduler, cluster, cluster_option)
    from .cluster import dask_client, parse_options

    options = parse_options(cluster_option or [], "--cluster-option")
    with dask_client(workers, scheduler, cluster, options, announce=lambda s: typer.echo(s, err=True)) as client:
        if not performance_report:
            yield client
            return
        from distributed import performance_report as report

        with client.as_current():
            recorder = report(filename=performance_report)
            recorder.__enter__()
            yield client
            try:  # the work is done and published: a report that cannot be written is only a warning
                recorder.__exit__(None, None, None)
            except Exception as exc:  # noqa: BLE001
                typer.echo(f"warning: performance report not written ({type(exc).__name__}: {exc})", err=True)


def storage_options(pairs: list[str] | None) -> dict[str, Any]:
    from .cluster import parse_options

    return parse_options(pairs or [], "--storage-option")


def terminal_watch(stage: str, futures: list[Any]) -> None:
    """Dask's progress bar per stage on an interactive terminal; silent otherwise."""
    if futures and sys.stdout.isatty() and sys.stderr.isatty():
        from distributed import progress

        typer.echo(f"{stage}:", err=True)
        progress(futures, notebook=False)
        sys.stdout.write("\n")


@app.command()
@handle_errors
def keygen(
    file: Annotated[Optional[str], typer.Argument(help="Where to write a new master secret (must not exist).")] = None,
    signing: Annotated[Optional[str], typer.Option(
        "--signing", help="Instead: write a new Ed25519 signing key here and its public key to FILE.pub.")] = None,
) -> None:
    """Write a new master secret (64 hex characters, mode 0600), or with --signing an Ed25519 signing key."""
    if (file is None) == (signing is None):
        raise typer.BadParameter("give either FILE (a master secret) or --signing FILE (a signing key)")
    if signing is not None:
        from .signing import public_key_file, write_signing_key

        kid = write_signing_key(signing)
        typer.echo(f"wrote an Ed25519 signing key to {signing} (mode 0600; keep it offline) and its public key "
                   f"to {public_key_file(signing)} (publish it); key id {kid}")
        return
    from .secret import write_new_secret

    assert file is not None
    write_new_secret(file)
    typer.echo(f"wrote a new master secret to {file} (mode 0600); keep it offline and backed up")


@app.command()
@handle_errors
def synth(
    out: Annotated[str, typer.Argument(help="Snapshot directory to create.")],
    users: Annotated[int, typer.Option("--users", min=1, help="Number of users.")],
    assets: Annotated[int, typer.Option("--assets", min=1, max=200, help="Number of assets.")] = 3,
    files: Annotated[int, typer.Option("--files", min=1, help="Number of Parquet files.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same snapshot).")] = 0,
    layout: Annotated[str, typer.Option("--layout", help="wide or long.")] = "wide",
) -> None:
    """Write a realistic synthetic snapshot and its assets.json."""
    from .synth import write_synth

    if layout not in ("wide", "long"):
        raise typer.BadParameter("--layout must be 'wide' or 'long'")
    chosen = write_synth(out, users, assets, files, seed, layout)
    typer.echo(f"wrote {users} users x {len(chosen)} assets ({layout}, {files} file(s)) to {out}")


def print_root(manifest: dict[str, Any]) -> None:
    from .numbers import to_units

    typer.echo(f"period {manifest['period']}  root {manifest['root']['hash']}")
    for asset, total in zip(manifest["assets"], manifest["root"]["sums"], strict=True):
        typer.echo(f"  {asset['symbol']:<8} {to_units(int(total), asset['decimals'])}")


@app.command()
@handle_errors
def build(
    snapshot: Annotated[str, typer.Argument(help="Parquet file or directory (path or fsspec URL).")],
    period: Annotated[str, typer.Option("--period", help="Period, YYYY-MM.")],
    secret_file: SecretOpt,
    out: Annotated[str, typer.Option("--out", help="Bundle directory to publish (path or fsspec URL).")],
    assets: Annotated[Optional[str], typer.Option("--assets", help="Asset file (default: assets.json beside the snapshot).")] = None,
    bucket_bits: Annotated[Optional[int], typer.Option("--bucket-bits", min=0, max=24, help="k: 2^k buckets (default: from the user count).")] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    cluster_option: ClusterOptionOpt = None,
    storage_option: StorageOpt = None,
    performance_report: ReportOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing non-empty --out.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Reuse the verified buckets of an interrupted run.")] = False,
) -> None:
    """Build the liabilities tree on Dask and publish the bundle; prints the root and totals."""
    check_cluster_choice(workers, scheduler, cluster, cluster_option)
    from .bundle import check_output
    from .errors import InputError
    from .protocol import is_valid_period
    from .secret import read_secret
    from .snapshot import plan_snapshot

    if not is_valid_period(period):
        raise InputError(f"--period {period!r} is not YYYY-MM (e.g. 2026-11)")
    secret = read_secret(secret_file)
    options = storage_options(storage_option)
    check_output(out, force, resume, options)
    plan = plan_snapshot(snapshot, assets, options)
    from .build import build_bundle

    with cluster_client(workers, scheduler, cluster, cluster_option, performance_report) as client:
        result = build_bundle(client, plan, period, secret, out, bucket_bits, force, options, resume,
                              watch=terminal_watch)
    print_root(result.manifest)
    reused = f", {result.reused} reused from the interrupted run" if resume else ""
    typer.echo(f"{result.users} users in {result.buckets} non-empty buckets{reused}")
    typer.echo(f"bundle written to {out}")


@app.command()
@handle_errors
def prove(
    bundle_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bundle directory.")],
    user: Annotated[str, typer.Option("--user", help="The user id.")],
    secret_file: SecretOpt,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the proof here (default: stdout).")] = None,
    storage_option: StorageOpt = None,
) -> None:
    """Print a user's inclusion proof as JSON."""
    from .bundle import open_bundle
    from .proofs import make_proof
    from .secret import read_secret

    secret = read_secret(secret_file)
    proof = make_proof(open_bundle(bundle_dir, storage_options(storage_option)), user, secret)
    text = json.dumps(proof, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            with open(out, "x", encoding="utf-8") as f:
                f.write(text)
        except FileExistsError:
            raise fail(f"--out {out}: already exists; refusing to overwrite") from None
        typer.echo(f"proof for {user!r} written to {out}", err=True)


def _read_document(path: str, what: str, options: list[str] | None) -> Any:
    """A JSON document from a local path (standard library) or an fsspec URL."""
    from .verify import load_json_file, parse_json

    if "://" not in path:
        return load_json_file(path, what)
    from .storage import open_fs, read_bytes

    fs, inner = open_fs(path, storage_options(options))
    return parse_json(read_bytes(fs, inner, f"{what} {path}"), f"{what} {path}")


def check_signature(manifest_path: str, manifest_doc: Any, public_key: str, signature: str | None,
                    options: list[str] | None) -> str:
    """Verify the manifest's Ed25519 signature (``signature.json`` beside it by default); returns the key id."""
    from .bundle import SIGNATURE
    from .signing import key_id, load_public_key, verify_manifest_signature

    public = load_public_key(public_key)
    if signature is None:
        base = manifest_path.rsplit("/", 1)[0] if "/" in manifest_path else "."
        signature = f"{base}/{SIGNATURE}"
    verify_manifest_signature(public, manifest_doc, _read_document(signature, "signature", options), signature)
    return key_id(public)


@app.command()
@handle_errors
def verify(
    proof: Annotated[str, typer.Argument(help="Proof JSON file (path or fsspec URL).")],
    manifest: Annotated[Optional[str], typer.Option("--manifest", help="The published manifest.json.")] = None,
    root: Annotated[Optional[str], typer.Option("--root", help="The published root hash (hex).")] = None,
    public_key: Annotated[Optional[str], typer.Option(
        "--public-key", help="Also check the manifest's Ed25519 signature with this public key (PEM).")] = None,
    signature: Annotated[Optional[str], typer.Option(
        "--signature", help="The signature file (default: signature.json beside the manifest).")] = None,
    storage_option: StorageOpt = None,
) -> None:
    """Verify an inclusion proof against the published manifest (or root hash). Offline."""
    from .errors import VerificationError
    from .verify import verify_proof

    if (manifest is None) == (root is None):
        raise typer.BadParameter("give exactly one of --manifest and --root")
    if public_key is not None and manifest is None:
        raise typer.BadParameter("--public-key checks the signature of a manifest: give --manifest")
    try:
        proof_doc = _read_document(proof, "proof", storage_option)
        manifest_doc = _read_document(manifest, "manifest", storage_option) if manifest else None
        signer = None
        if public_key is not None:
            assert manifest is not None
            signer = check_signature(manifest, manifest_doc, public_key, signature, storage_option)
        result = verify_proof(proof_doc, manifest=manifest_doc, root_hash=root)
    except VerificationError as exc:
        raise fail(f"INVALID proof: {exc}") from None
    typer.echo(result.summary())
    if signer is not None:
        typer.echo(f"manifest signature: valid (Ed25519, key id {signer})")


@app.command("export-proofs")
@handle_errors
def export_proofs_command(
    bundle_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bundle directory (path or fsspec URL).")],
    out: Annotated[str, typer.Option("--out", help="Directory for the exported proofs (path or fsspec URL).")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    cluster_option: ClusterOptionOpt = None,
    storage_option: StorageOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing non-empty --out.")] = False,
) -> None:
    """Write every user's proof, keyed by uk and partitioned by bucket, for serving from account pages."""
    check_cluster_choice(workers, scheduler, cluster, cluster_option)
    if fmt not in ("jsonl", "parquet"):
        raise typer.BadParameter("--format must be 'jsonl' or 'parquet'")
    from .bundle import check_output, open_bundle
    from .cluster import client_mapper
    from .export import export_proofs

    options = storage_options(storage_option)
    source = open_bundle(bundle_dir, options)
    check_output(out, force, False, options)
    with cluster_client(workers, scheduler, cluster, cluster_option, None) as client:
        summary = export_proofs(source, out, fmt, client_mapper(client), force, options)
    typer.echo(f"exported {summary['records']} proofs in {len(summary['partitions'])} partitions ({fmt}) to {out}")


@app.command("verifier-page")
@handle_errors
def verifier_page(
    out: Annotated[str, typer.Argument(help="Where to write the HTML page (must not exist).")],
    manifest: Annotated[Optional[str], typer.Option("--manifest", help="Embed this period's manifest.json.")] = None,
    storage_option: StorageOpt = None,
) -> None:
    """Write the offline verifier page: one self-contained HTML file, no network access."""
    from .errors import VerificationError
    from .verify import check_manifest
    from .webpage import render_page

    manifest_doc = None
    if manifest is not None:
        try:
            manifest_doc = _read_document(manifest, "manifest", storage_option)
            check_manifest(manifest_doc)
        except VerificationError as exc:
            raise fail(f"--manifest {manifest}: {exc}") from None
    try:
        with open(out, "xb") as f:
            f.write(render_page(manifest_doc))
    except FileExistsError:
        raise fail(f"{out}: already exists; refusing to overwrite") from None
    embedded = f" with the {manifest_doc['period']} manifest embedded" if manifest_doc else ""
    typer.echo(f"wrote the offline verifier page to {out}{embedded}")


@app.command()
@handle_errors
def audit(
    bundle_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bundle directory (path or fsspec URL).")],
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    cluster_option: ClusterOptionOpt = None,
    storage_option: StorageOpt = None,
    performance_report: ReportOpt = None,
) -> None:
    """Recompute every bucket and the root from private/ and check every invariant."""
    check_cluster_choice(workers, scheduler, cluster, cluster_option)
    from .audit import audit_bundle
    from .bundle import open_bundle
    from .cluster import client_mapper

    b = open_bundle(bundle_dir, storage_options(storage_option))
    with cluster_client(workers, scheduler, cluster, cluster_option, performance_report) as client:
        report = audit_bundle(b, client_mapper(client))
    typer.echo(f"audit OK: {report.buckets} buckets, {report.users} users, root {report.root['hash']}")


@app.command()
@handle_errors
def demo(
    workdir: Annotated[str, typer.Argument(help="Directory for the demo's files.")] = "demo-out",
    users: Annotated[int, typer.Option("--users", min=1)] = 20_000,
    workers: WorkersOpt = 2,
) -> None:
    """Synthetic snapshot -> build -> prove -> verify -> audit, on a local Dask cluster."""
    from jobs.demo import run_demo

    run_demo(workdir, users, workers or 2, echo=typer.echo)


@app.command()
@handle_errors
def bench(
    users: Annotated[str, typer.Option("--users", help="Comma-separated user counts.")] = "100000,1000000",
    assets: Annotated[int, typer.Option("--assets", min=1)] = 20,
    workers: Annotated[str, typer.Option("--workers", help="Comma-separated worker counts.")] = "2",
    workdir: Annotated[str, typer.Option("--workdir", help="Scratch directory.")] = "bench-out",
) -> None:
    """Benchmark: build synthetic snapshots and compare with the hashing floor."""
    from jobs.bench import run_bench

    try:
        user_counts = [int(u) for u in users.split(",")]
        worker_counts = [int(w) for w in workers.split(",")]
    except ValueError:
        raise typer.BadParameter("--users and --workers take comma-separated integers") from None
    run_bench(user_counts, assets, worker_counts, workdir, echo=typer.echo)


PeriodOpt = Annotated[str, typer.Option("--period", help="YYYY-MM, or 'previous' for the month before today.")]
ArchiveOpt = Annotated[str, typer.Option("--archive", help="The archive (path or fsspec URL).")]


@app.command()
@handle_errors
def publish(
    period: PeriodOpt,
    snapshot: Annotated[str, typer.Option("--snapshot", help="The liabilities snapshot (Parquet file or directory); '{period}' is replaced by the period.")],
    reserves: Annotated[str, typer.Option("--reserves", help="The reserves (Parquet: chain, address, asset, balance); '{period}' is replaced by the period.")],
    archive: ArchiveOpt,
    secret_file: SecretOpt,
    signing_key: Annotated[str, typer.Option("--signing-key", help="Ed25519 signing key (from keygen --signing).")],
    assets: Annotated[Optional[str], typer.Option("--assets", help="Asset file (default: assets.json beside the snapshot).")] = None,
    republish: Annotated[bool, typer.Option("--republish", help="Publish a new revision of a published period, keeping the old one.")] = False,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    cluster_option: ClusterOptionOpt = None,
    storage_option: StorageOpt = None,
    performance_report: ReportOpt = None,
) -> None:
    """The monthly job: validate, build, audit, reserves, ratios, report, sign, publish into the archive."""
    check_cluster_choice(workers, scheduler, cluster, cluster_option)
    from jobs.publish import PublishRequest, previous_period, publish_period

    if period == "previous":
        period = previous_period()
        typer.echo(f"period: {period} (the month before today)")

    def fill(url: str) -> str:  # "{period}" in an input location names the period's data
        return url.replace("{period}", period)

    req = PublishRequest(period, fill(snapshot), fill(reserves), archive, secret_file, signing_key,
                         fill(assets) if assets else None, republish, storage_options(storage_option))
    with cluster_client(workers, scheduler, cluster, cluster_option, performance_report) as client:
        result = publish_period(client, req, echo=typer.echo, watch=terminal_watch)
    from .numbers import to_units

    typer.echo(f"{'asset':<10} {'liabilities':>28} {'reserves':>28} {'ratio':>9}  status")
    for p in result.positions:
        ratio = f"{p.ratio}%" if p.ratio is not None else "n/a"
        typer.echo(f"{p.symbol:<10} {to_units(p.liabilities, p.decimals):>28} {to_units(p.reserves, p.decimals):>28} "
                   f"{ratio:>9}  {p.status.upper() if p.flagged else p.status}")
    typer.echo("seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    flagged = [p.symbol for p in result.positions if p.flagged]
    if flagged:
        typer.echo(f"WARNING: reserves below 100% for {', '.join(flagged)}", err=True)
    typer.echo(f"published {result.period} revision {result.revision} at {archive}/{result.directory} "
               f"(manifest blake3 {result.manifest_digest}, root {result.manifest['root']['hash']})")


@app.command()
@handle_errors
def regenerate(
    archive: ArchiveOpt,
    secret_file: SecretOpt,
    period: Annotated[Optional[str], typer.Option("--period", help="The period to regenerate, YYYY-MM.")] = None,
    all_periods: Annotated[bool, typer.Option("--all", help="Regenerate every publication in the archive.")] = False,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    cluster_option: ClusterOptionOpt = None,
    storage_option: StorageOpt = None,
) -> None:
    """Rebuild archived periods from their archived inputs; print MATCH, or MISMATCH and what differs."""
    check_cluster_choice(workers, scheduler, cluster, cluster_option)
    if (period is None) == (not all_periods):
        raise typer.BadParameter("give exactly one of --period and --all")
    from jobs.regenerate import regenerate_one, select

    from .archive import open_archive
    from .secret import read_secret

    options = storage_options(storage_option)
    a = open_archive(archive, options)
    index, raw = a.read_index()
    if raw is None:
        raise fail(f"{archive}: no index.json; nothing was ever published there")
    entries = select(index, period, all_periods)
    secret = read_secret(secret_file)
    mismatches = 0
    with cluster_client(workers, scheduler, cluster, cluster_option, None) as client:
        for entry in entries:
            result = regenerate_one(client, a, entry, secret, options)
            typer.echo(result.render())
            mismatches += not result.match
    if mismatches:
        raise fail(f"{mismatches} of {len(entries)} publication(s) did not regenerate identically")


history_app = typer.Typer(help="The archive's month-to-month hash chain.", no_args_is_help=True)
app.add_typer(history_app, name="history")


@history_app.command("verify")
@handle_errors
def history_verify(
    archive: Annotated[str, typer.Argument(help="The archive (path or fsspec URL).")],
    public_key: Annotated[str, typer.Option("--public-key", help="The exchange's Ed25519 public key (PEM).")],
    storage_option: StorageOpt = None,
) -> None:
    """Check every month's signature and every link of the chain; exit 1 on a gap, reordering or altered month."""
    from .archive import open_archive
    from .history import verify_history
    from .signing import load_public_key

    public = load_public_key(public_key)
    report = verify_history(open_archive(archive, storage_options(storage_option)), public)
    for line in report.lines:
        typer.echo(line)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


def main() -> None:
    app()
