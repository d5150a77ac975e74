"""Every exception the pipeline raises on purpose, and the one rule that turns any exception into an
exit code. Standard library only: every layer imports this module, it imports nothing of ours.

Errors carry the values involved as fields (file, row, check, expected, got, …) and never key
material. The library never names a command-line flag: an error that concerns one of the caller's
parameters names it in ``parameter`` (and a way out in ``remedy``), and the CLI renders those as
flags (``diagnostics(flag_of)``). Worker-side findings travel back as ``Problem`` records, never as
strings to be re-parsed.

Exit codes (one table for every entry point: ``por``, ``python -m pipeline.verify``, the jobs):

====  ==================================================================
0     success
1     invalid input, or a check that failed (INVALID proof, audit, MISMATCH)
2     usage error (options missing, contradictory or malformed)
3     storage failure (an ``OSError`` that outlived the retries of ``storage.fs.retrying``: a file system
      or object store that stays unavailable or refuses access)
4     internal error (a bug: please report it; ``POR_DEBUG=1`` shows the traceback)
====  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3
EXIT_INTERNAL = 4

FlagOf = Callable[[str], str]
"""Maps a library parameter name (``out``, ``bucket_bits``) to how the caller calls it (``--out``)."""


def _plain(name: str) -> str:
    return name


@dataclass(frozen=True)
class Remedy:
    """A way out that involves one of the caller's parameters: ``use <parameter> <text>``."""

    parameter: str
    text: str
    verb: str = "use"


def _restore(cls: type["PorError"], state: dict[str, object], args: tuple[object, ...]) -> "PorError":
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class PorError(Exception):
    """Base class of every error the pipeline raises on purpose (exit 1 unless a subclass says otherwise)."""

    exit_code = EXIT_INVALID

    def __reduce__(self) -> tuple[object, ...]:
        """Errors cross process boundaries (Dask workers) with their fields intact."""
        return (_restore, (type(self), dict(self.__dict__), self.args))

    def __init__(self, message: str, *, parameter: str | None = None, value: object = None,
                 remedy: Remedy | None = None) -> None:
        self.message = message
        self.parameter = parameter
        self.value = value
        self.remedy = remedy
        super().__init__(self.diagnostics())

    def diagnostics(self, flag_of: FlagOf = _plain) -> str:
        """One human-readable line; ``flag_of`` names the parameters as the caller knows them."""
        text = self.message
        if self.parameter is not None:
            subject = flag_of(self.parameter) if self.value is None else f"{flag_of(self.parameter)} {self.value}"
            text = f"{subject}: {text}"
        if self.remedy is not None:
            text = f"{text} ({self.remedy.verb} {flag_of(self.remedy.parameter)} {self.remedy.text})"
        return text


class InputError(PorError):
    """The snapshot, assets file, period, secret, reserves or another input is invalid."""


@dataclass(frozen=True)
class Problem:
    """A bad-input finding made where the data is (a Dask worker), carried back as a record."""

    message: str
    file: str | None = None
    column: str | None = None
    row: int | None = None

    def render(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        place = ", ".join(where)
        head = ": ".join(p for p in (self.file, place) if p)
        return f"{head}: {self.message}" if head else self.message


class BadInputData(InputError):
    """Bad values found in input data, file/column/row as fields."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.render())


class BadValue(PorError):
    """One value of a column is invalid; ``index`` is its row within the array that was checked.

    Raised by the column conversions and caught by their callers, which add the file and row."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"row {index}: {reason}")


class BundleError(PorError):
    """A bundle or archive on storage is missing, incomplete or malformed."""


class AuditError(PorError):
    """Invariants of a bundle or an archive do not hold; ``problems`` lists each one."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message)


class VerificationError(PorError):
    """A proof, manifest or signature failed one named ``check`` (optionally at one tree ``level``);
    ``expected`` and ``got`` hold the two values where a comparison failed.

    ``check`` is a ``pipeline.protocol.checks.Check`` (a ``str``: equal to, and printed as, its machine
    name). It is typed ``str`` here because this module is the bottom layer and imports nothing of
    ours; every raise site passes a ``Check`` member (tests/test_vocabulary.py holds them to it)."""

    def __init__(self, check: str, message: str, level: int | None = None, *,
                 expected: object = None, got: object = None) -> None:
        self.check = check
        self.level = level
        self.expected = expected
        self.got = got
        where = f" at level {level}" if level is not None else ""
        super().__init__(f"{check}{where}: {message}")


class SumOverflow(PorError, OverflowError):
    """A sum of asset number ``asset_index`` reached 2^128 at tree ``level`` (None: not in a tree)."""

    def __init__(self, asset_index: int, level: int | None = None, value: int | None = None) -> None:
        self.asset_index = asset_index
        self.level = level
        self.total = value
        where = f" at level {level}" if level is not None else ""
        shown = f" ({value})" if value is not None else ""
        super().__init__(f"sum of asset #{asset_index} reaches 2^128{where}{shown}")


class BuildInterrupted(PorError):
    """A build failed for a reason other than bad input; its finished buckets were kept for a resume."""

    def __init__(self, out: str, cause: BaseException) -> None:
        self.out = out
        self.cause_name = type(cause).__name__
        super().__init__(
            f"build failed ({self.cause_name}: {cause}); nothing was published at {out}; finished buckets "
            "were kept", remedy=Remedy("resume", "with the same command to reuse them"))


class SetupError(PorError):
    """A part the tool runs (``part``: the browser BLAKE3 module, Node, …) is missing and could not be
    installed from its pinned files; ``detail`` is what the installer said."""

    def __init__(self, part: str, detail: str, remedy: str) -> None:
        self.part = part
        self.detail = detail
        super().__init__(f"{part} is not installed: {detail}; {remedy}")


class PublishError(PorError):
    """A publication failed at ``step`` because of ``cause``; the archive was left as it was."""

    def __init__(self, period: str, step: str, archive: str, cause: BaseException) -> None:
        self.period = period
        self.step = step
        self.archive = archive
        self.cause = cause
        self.exit_code = exit_code(cause)
        super().__init__(f"publication of {period} failed at step '{step}'")

    def diagnostics(self, flag_of: FlagOf = _plain) -> str:
        cause = self.cause
        detail = cause.diagnostics(flag_of) if isinstance(cause, PorError) else f"{type(cause).__name__}: {cause}"
        return f"{self.message}: {detail}; the archive is unchanged ({self.archive})"


def exit_code(exc: BaseException) -> int:
    """The exit code of an entry point that ends with ``exc`` (see the table above)."""
    if isinstance(exc, PorError):
        return exc.exit_code
    if isinstance(exc, OSError):
        return EXIT_STORAGE
    return EXIT_INTERNAL


def one_line(exc: BaseException, flag_of: FlagOf = _plain) -> str:
    """The single line an entry point prints for ``exc`` (no traceback, no locals)."""
    if isinstance(exc, PorError):
        return exc.diagnostics(flag_of)
    if isinstance(exc, OSError):
        return f"storage error ({type(exc).__name__}): {exc}"
    return f"internal error ({type(exc).__name__}): {exc}; this is a bug, please report it (POR_DEBUG=1 shows where)"
