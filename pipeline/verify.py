"""``python -m pipeline.verify PROOF (--manifest FILE | --root HEX) [--user ID] [--exact]``: the verifier an end user runs.

Standard library and ``blake3`` only (it is installed by a plain ``pip install`` of the project).
Exit codes as everywhere (``pipeline.errors``): 0 VALID, 1 INVALID proof or unreadable input, 2 usage.
A failure is a ``VerificationError`` whose ``check`` is a ``Check`` (its machine name, as printed).
A valid proof prints what it shows (``summary``): por-v3, every asset with this user's equity, debt and
net (zero for assets not held) and the announced value ``C``; por-v1/v2, the balances and the root. Amounts
are readable (``protocol.amounts.readable_units``: grouped, at most 8 decimals, a cut marked ``…``); ``--exact``
prints every digit.
"""

from __future__ import annotations

import argparse
import sys

from .errors import PorError, VerificationError, exit_code, one_line
from .protocol.checks import Check
from .protocol.reading import root_option_problem
from .protocol.verify import VerifiedProof, check_manifest, verify_files, verify_proof
from .protocol.verify_v3 import VerifiedProofV3

__all__ = ["Check", "VerifiedProof", "VerifiedProofV3", "check_manifest", "main", "verify_files", "verify_proof"]


def main(argv: list[str] | None = None) -> int:
    """Verify a proof against the published manifest (or root hash), offline."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.verify", description=main.__doc__)
    parser.add_argument("proof")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--manifest", help="the published manifest.json")
    group.add_argument("--root", help="the announced value (por-v2, por-v3) or root hash (por-v1)")
    parser.add_argument("--user", help="your account id: the proof must be for it")
    parser.add_argument("--exact", action="store_true", help="print every digit of each amount (default: readable, "
                        "at most 8 decimals)")
    args = parser.parse_args(argv)
    for flag, value in (("--manifest", args.manifest), ("--root", args.root), ("--user", args.user)):
        if value == "":  # as por verify and the Node CLI: an empty value is a usage error (exit 2)
            parser.error(f"{flag} is empty")
    if args.root is not None and (problem := root_option_problem(args.root)):
        parser.error(problem)  # malformed, as in por verify and the Node CLI: a usage error (exit 2)
    try:
        result = verify_files(args.proof, args.manifest, args.root, args.user)
    except VerificationError as exc:
        print(f"INVALID proof: {exc}", file=sys.stderr)
        return exc.exit_code
    except PorError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exit_code(exc)
    print(result.summary(exact=args.exact))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
