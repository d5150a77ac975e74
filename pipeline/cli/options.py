"""The options several commands share, written once: placeholders, the cluster and storage choice.

``with_run_options`` adds ``--workers/--scheduler/--cluster/--cluster-option/--storage-option``
(and, where asked, ``--performance-report``) to a command and hands it one ``RunOptions``
object, so no command repeats the block.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Iterator, Optional, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def flag_of(parameter: str) -> str:
    """The flag of a library parameter name: ``bucket_bits`` -> ``--bucket-bits``."""
    return "--" + parameter.replace("_", "-")


SecretOpt = Annotated[str, typer.Option(
    "--secret-file", metavar="FILE", help="File holding the 32-byte master secret as 64 hex characters.")]
PeriodOpt = Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="The period, e.g. 2026-11.")]
ArchiveOpt = Annotated[str, typer.Option("--archive", metavar="URL", help="The archive (path or fsspec URL).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing non-empty output.")]
AssetsOpt = Annotated[Optional[str], typer.Option(
    "--assets", metavar="FILE", help="Asset file (default: assets.json beside the snapshot).")]


def _storage_options(pairs: list[str] | None) -> dict[str, Any]:
    from ..cluster import parse_options

    return parse_options(pairs or [], "--storage-option")


@dataclass(frozen=True)
class RunOptions:
    """Where a command's work runs (a Dask cluster) and how it reaches storage (fsspec options)."""

    workers: int | None = None
    scheduler: str | None = None
    cluster: str | None = None
    cluster_option: list[str] = field(default_factory=list)
    storage_option: list[str] = field(default_factory=list)
    performance_report: str | None = None
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def check(self) -> None:
        """Usage errors (exit 2) before any work: one way to choose the cluster."""
        chosen = [flag for flag, value in (("--workers", self.workers), ("--scheduler", self.scheduler),
                                           ("--cluster", self.cluster)) if value is not None]
        if len(chosen) > 1:
            raise typer.BadParameter(f"give only one of --workers, --scheduler and --cluster (got {', '.join(chosen)})")
        if self.cluster_option and not self.cluster:
            raise typer.BadParameter("--cluster-option needs --cluster")
        if self.scheduler:
            from ..cluster import check_transport
            from ..errors import InputError

            try:
                check_transport(self.scheduler)
            except InputError as exc:
                raise typer.BadParameter(exc.diagnostics(flag_of)) from None

    @property
    def storage(self) -> dict[str, Any]:
        """The ``--storage-option`` pairs as fsspec keyword arguments."""
        return _storage_options(self.storage_option)

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        """The Dask client for the command, announcing the dashboard on stderr."""
        from ..cluster import dask_client, make_security, parse_options

        options = parse_options(self.cluster_option, "--cluster-option")
        security = make_security(self.tls_ca_file, self.tls_cert, self.tls_key)
        with dask_client(self.workers, self.scheduler, self.cluster, options,
                         announce=lambda s: typer.echo(s, err=True), security=security) as client:
            if not self.performance_report:
                yield client
                return
            from distributed import performance_report as report

            with client.as_current():
                recorder = report(filename=self.performance_report)
                recorder.__enter__()
                yield client
                try:  # the work is done and published: a report that cannot be written is only a warning
                    recorder.__exit__(None, None, None)
                except Exception as exc:  # noqa: BLE001
                    typer.echo(f"warning: performance report not written ({type(exc).__name__}: {exc})", err=True)


_WORKERS = Annotated[Optional[int], typer.Option(
    "--workers", min=1, metavar="N", help="Local worker processes (default: CPU count).")]
_SCHEDULER = Annotated[Optional[str], typer.Option(
    "--scheduler", envvar="DASK_SCHEDULER_ADDRESS", metavar="ADDRESS",
    help="Connect to a running Dask scheduler: tls://host:8786 (tcp:// on 127.0.0.1 only).")]
_CLUSTER = Annotated[Optional[str], typer.Option(
    "--cluster", metavar="MODULE:CLASS", help="Create a Dask cluster of this class.")]
_CLUSTER_OPTION = Annotated[Optional[list[str]], typer.Option(
    "--cluster-option", metavar="KEY=VALUE", help="An argument of the --cluster class (repeatable).")]
_STORAGE_OPTION = Annotated[Optional[list[str]], typer.Option(
    "--storage-option", metavar="KEY=VALUE", help="Passed to fsspec (repeatable).")]
_REPORT = Annotated[Optional[str], typer.Option(
    "--performance-report", metavar="FILE", help="Write Dask's HTML performance report here.")]

_TLS_CA = Annotated[Optional[str], typer.Option(
    "--tls-ca-file", envvar="DASK_DISTRIBUTED__COMM__TLS__CA_FILE", metavar="FILE",
    help="CA certificate of a tls:// scheduler (or Dask's distributed.comm.tls config).")]
_TLS_CERT = Annotated[Optional[str], typer.Option(
    "--tls-cert", envvar="DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT", metavar="FILE",
    help="This client's certificate for a tls:// scheduler.")]
_TLS_KEY = Annotated[Optional[str], typer.Option(
    "--tls-key", envvar="DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY", metavar="FILE",
    help="This client's private key for a tls:// scheduler.")]

_CLUSTER_PARAMS = (("workers", _WORKERS), ("scheduler", _SCHEDULER), ("cluster", _CLUSTER),
                   ("cluster_option", _CLUSTER_OPTION), ("tls_ca_file", _TLS_CA), ("tls_cert", _TLS_CERT),
                   ("tls_key", _TLS_KEY))
_STORAGE_PARAMS = (("storage_option", _STORAGE_OPTION),)
_REPORT_PARAMS = (("performance_report", _REPORT),)


def with_run_options(cluster: bool = True, report: bool = False) -> Callable[[F], F]:
    """Give the decorated command the shared options; it receives them as ``run: RunOptions``.

    ``cluster=False``: storage options only (commands that need no cluster).
    """
    added = (*(_CLUSTER_PARAMS if cluster else ()), *_STORAGE_PARAMS, *(_REPORT_PARAMS if report else ()))

    def decorate(fn: F) -> F:
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(fn).parameters.values() if p.name != "run"]
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
                 for name, annotation in added]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name, _ in added}
            run = RunOptions(**{k: (v if v is not None or k not in ("cluster_option", "storage_option") else [])
                                for k, v in values.items()})
            if cluster:
                run.check()
            return fn(*args, run=run, **kwargs)

        del wrapper.__wrapped__  # typer reads the signature below, not the wrapped function's
        params = own + extra
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return decorate


def terminal_watch(stage: str, futures: list[Any]) -> None:
    """Dask's progress bar per stage on an interactive terminal; silent otherwise."""
    if futures and sys.stdout.isatty() and sys.stderr.isatty():
        from distributed import progress

        typer.echo(f"{stage}:", err=True)
        progress(futures, notebook=False)
        sys.stdout.write("\n")
