"""Exception types. The library raises; only the CLI decides how to exit.

Every message names what is wrong and where, and never contains key material.
"""

from __future__ import annotations


class PorError(Exception):
    """Base class of every error the pipeline raises on purpose."""

    def diagnostics(self) -> str:
        """A human-readable, single-paragraph description of the problem."""
        return str(self)


class InputError(PorError):
    """The snapshot, assets file, period, secret or other input is invalid (exit 1)."""


class BundleError(PorError):
    """A bundle on disk is missing, incomplete or malformed (exit 1)."""


class AuditError(PorError):
    """An invariant of a bundle does not hold (exit 1)."""


class VerificationError(PorError):
    """A proof failed one named check, optionally at one tree level (exit 1)."""

    def __init__(self, check: str, message: str, level: int | None = None) -> None:
        self.check = check
        self.level = level
        where = f" at level {level}" if level is not None else ""
        super().__init__(f"{check}{where}: {message}")
