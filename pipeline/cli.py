"""The ``por`` command line. Thin: parses options, calls the library, maps errors to exit codes.

Exit codes: 0 success, 1 invalid input or failed check, 2 usage error.
Errors go to stderr without tracebacks (set ``POR_DEBUG=1`` for one).
Heavy modules (Dask, pyarrow, numpy) are imported inside the commands that need them.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Annotated, Any, Callable, Optional, TypeVar

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
SecretOpt = Annotated[str, typer.Option("--secret-file", help="File holding the 32-byte master secret as 64 hex characters.")]


def _check_cluster_options(workers: int | None, scheduler: str | None) -> None:
    if workers is not None and scheduler:
        raise typer.BadParameter("give either --workers or --scheduler, not both")


@app.command()
@handle_errors
def keygen(file: Annotated[str, typer.Argument(help="Where to write the new secret (must not exist).")]) -> None:
    """Write a new random 32-byte master secret as 64 hex characters, mode 0600."""
    from .secret import write_new_secret

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
    out: Annotated[str, typer.Option("--out", help="Bundle directory to publish.")],
    assets: Annotated[Optional[str], typer.Option("--assets", help="Asset file (default: assets.json beside the snapshot).")] = None,
    bucket_bits: Annotated[Optional[int], typer.Option("--bucket-bits", min=0, max=24, help="k: 2^k buckets (default: from the user count).")] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing non-empty --out.")] = False,
) -> None:
    """Build the liabilities tree on Dask and publish the bundle; prints the root and totals."""
    _check_cluster_options(workers, scheduler)
    from .bundle import check_output
    from .errors import InputError
    from .protocol import is_valid_period
    from .secret import read_secret
    from .snapshot import plan_snapshot

    if not is_valid_period(period):
        raise InputError(f"--period {period!r} is not YYYY-MM (e.g. 2026-11)")
    secret = read_secret(secret_file)
    check_output(out, force)
    plan = plan_snapshot(snapshot, assets)
    from .build import build_bundle
    from .cluster import dask_client

    with dask_client(workers, scheduler) as client:
        result = build_bundle(client, plan, period, secret, out, bucket_bits, force)
    print_root(result.manifest)
    typer.echo(f"bundle written to {out}")


@app.command()
@handle_errors
def prove(
    bundle_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bundle directory.")],
    user: Annotated[str, typer.Option("--user", help="The user id.")],
    secret_file: SecretOpt,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the proof here (default: stdout).")] = None,
) -> None:
    """Print a user's inclusion proof as JSON."""
    from .bundle import open_bundle
    from .proofs import make_proof
    from .secret import read_secret

    secret = read_secret(secret_file)
    proof = make_proof(open_bundle(bundle_dir), user, secret)
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


@app.command()
@handle_errors
def verify(
    proof: Annotated[str, typer.Argument(help="Proof JSON file.")],
    manifest: Annotated[Optional[str], typer.Option("--manifest", help="The published manifest.json.")] = None,
    root: Annotated[Optional[str], typer.Option("--root", help="The published root hash (hex).")] = None,
) -> None:
    """Verify an inclusion proof against the published manifest (or root hash). Offline."""
    from .errors import VerificationError
    from .verify import verify_files

    if (manifest is None) == (root is None):
        raise typer.BadParameter("give exactly one of --manifest and --root")
    try:
        result = verify_files(proof, manifest, root)
    except VerificationError as exc:
        raise fail(f"INVALID proof: {exc}") from None
    typer.echo(result.summary())


@app.command()
@handle_errors
def audit(
    bundle_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bundle directory.")],
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Recompute every bucket and the root from private/ and check every invariant."""
    _check_cluster_options(workers, scheduler)
    from .audit import audit_bundle
    from .bundle import open_bundle
    from .cluster import dask_client

    b = open_bundle(bundle_dir)
    with dask_client(workers, scheduler) as client:
        report = audit_bundle(b, lambda fn, items: client.gather(client.map(fn, items, pure=False)))
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
    workers: Annotated[int, typer.Option("--workers", min=1)] = 2,
    workdir: Annotated[str, typer.Option("--workdir", help="Scratch directory.")] = "bench-out",
) -> None:
    """Benchmark: build synthetic snapshots and compare with the hashing floor."""
    from jobs.bench import run_bench

    run_bench([int(u) for u in users.split(",")], assets, workers, workdir, echo=typer.echo)


def main() -> None:
    app()
