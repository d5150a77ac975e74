"""The ``por`` application: the Typer app, ``--version``, and the one place errors become exit codes.

Every error, usage errors included, is one line on stderr (``error: …``) and an exit code from
``pipeline.errors.exit_code`` (0 success, 1 invalid input or failed check, 2 usage, 3 storage,
4 internal). Tracebacks only with ``POR_DEBUG=1``; locals never. Heavy modules (Dask, pyarrow,
numpy) are imported inside the commands that need them: ``por verify`` runs on the plain install.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from typer import core as typer_core
from typer._click.exceptions import (  # typer's own click (pinned typer range)
    ClickException,
    UsageError,
)

from .. import __version__
from ..errors import EXIT_INTERNAL, EXIT_USAGE, exit_code, one_line
from .options import flag_of

F = TypeVar("F", bound=Callable[..., Any])
EXTRA = "exchange"
_EXCHANGE_STACK = ("dask", "distributed", "pyarrow", "numpy", "pandas", "fsspec", "yaml", "tenacity", "matplotlib")


class OneLineErrors(typer_core.TyperGroup):
    """Usage errors on one line, like every other error (click prints a usage block otherwise)."""

    def main(self, args: Any = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as exc:
            ctx = getattr(exc, "ctx", None)  # UsageError carries the context; other ClickExceptions do not
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)
            code = EXIT_USAGE if isinstance(exc, UsageError) else exc.exit_code
            if standalone_mode:
                sys.exit(code)
            return code
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            if standalone_mode:
                sys.exit(1)
            return 1
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


app = typer.Typer(
    name="por",
    cls=OneLineErrors,
    help="Proof of reserves and liabilities: Merkle-sum trees over exchange snapshots, verified offline.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"por {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Proof of reserves and liabilities: Merkle-sum trees over exchange snapshots, verified offline."""


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Map every exception to one line on stderr and its exit code (``pipeline.errors.exit_code``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in _EXCHANGE_STACK:
                raise fail(f"this command needs the exchange's build stack ({exc.name} is not installed): "
                           f"pip install 'por-pipeline[{EXTRA}]'", EXIT_USAGE) from None
            if os.environ.get("POR_DEBUG"):
                raise
            raise fail(one_line(exc), EXIT_INTERNAL) from None
        except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback, no locals
            if os.environ.get("POR_DEBUG") and exit_code(exc) == EXIT_INTERNAL:
                raise
            raise fail(one_line(exc, flag_of), exit_code(exc)) from None

    return wrapper  # type: ignore[return-value]


def summary(doc: str | None) -> str | None:
    """A command's line in ``--help`` listings: the first sentence of its docstring, whole (click would cut it
    at 45 characters with "...")."""
    if not doc:
        return None
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[:end + 1]


def command(name: str | None = None, group: typer.Typer | None = None) -> Callable[[F], F]:
    """Register ``fn`` as a command (of ``group``, default the app) with the error mapping; its summary in the
    listings is its docstring's first sentence, never cut."""

    def decorate(fn: F) -> F:
        return (group or app).command(name, short_help=summary(fn.__doc__))(handle_errors(fn))

    return decorate


def main() -> None:
    app()
