"""``por history verify``: every signature and every link of an archive's hash chain.

The chain: each publication's manifest names the previous month and the blake3
of its manifest (``previous``), and a republication names the revision it
replaces (``publication.supersedes``). The index must list the months in order
without gaps; each listed manifest must still hash to the digest the index and
the next month recorded, and carry a valid Ed25519 signature by the given key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import AuditError, BundleError, VerificationError
from ..formats.canonical import canonical_json, digest
from ..formats.layout import MANIFEST, PUBLIC_DIR, SIGNATURE
from ..protocol.jsonread import parse_json
from ..protocol.period import month_after, month_before
from ..storage import fs as storage
from . import archive
from .signing import key_id, verify_manifest_signature


@dataclass
class HistoryReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def verify_history(a: archive.Archive, public: Ed25519PublicKey) -> HistoryReport:
    """Check the whole archive; returns the report, or raises ``AuditError`` listing every problem."""
    if not a.exists(archive.INDEX):
        raise AuditError(f"{a.shown}: no {archive.INDEX}; not an archive")
    index, _ = a.read_index()
    report = HistoryReport()
    pubs = index["publications"]
    if not pubs:
        raise AuditError(f"{a.shown}/{archive.INDEX}: lists no publication")
    digests: dict[str, list[str]] = {}  # period -> manifest digests of its revisions, in order
    new_months: list[str] = []
    for n, e in enumerate(pubs):
        period, revision = e["period"], e["revision"]
        label = f"{period} revision {revision} ({e['directory']})"
        problems = report.problems
        if period not in digests:
            if new_months and period != month_after(new_months[-1]):
                kind = "a gap" if period > month_after(new_months[-1]) else "out of order"
                problems.append(f"index entry {n}: {period} follows {new_months[-1]}: {kind}")
            new_months.append(period)
            digests[period] = []
        if revision != len(digests[period]) + 1 or e["directory"] != archive.period_directory(period, revision):
            problems.append(f"{label}: expected revision {len(digests[period]) + 1} in "
                            f"{archive.period_directory(period, len(digests[period]) + 1)}")
        before = len(problems)
        manifest = _check_publication(a, e, label, public, digests, new_months[0], problems)
        digests[period].append(e["manifest"])
        if manifest is not None and len(problems) == before:
            report.lines.append(f"{label}: OK  manifest {e['manifest'][:16]}…  root {manifest['root']['hash'][:16]}…")
    listed = {e["directory"] for e in pubs}
    for name in a.entries():
        if name not in listed and name != archive.INDEX and not name.startswith("."):
            report.warnings.append(f"{name}: in the archive but not in {archive.INDEX} (not a publication)")
    if report.problems:
        raise AuditError(f"{a.shown}: history does not verify:\n  " + "\n  ".join(report.problems), report.problems)
    report.lines.append(f"{len(pubs)} publication(s) of {len(new_months)} month(s), {new_months[0]} to "
                        f"{new_months[-1]}: every signature (key id {key_id(public)}) and link verified")
    return report


def _read_json(a: archive.Archive, directory: str, name: str) -> tuple[bytes, Any]:
    raw = a.read(directory, PUBLIC_DIR, name)
    try:
        return raw, parse_json(raw, f"{directory}/{PUBLIC_DIR}/{name}")
    except VerificationError as exc:
        raise BundleError(str(exc)) from None


def _check_publication(a: archive.Archive, e: Mapping[str, Any], label: str, public: Ed25519PublicKey,
                       digests: Mapping[str, list[str]], first_month: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        raw, manifest = _read_json(a, e["directory"], MANIFEST)
        _, signature = _read_json(a, e["directory"], SIGNATURE)
    except BundleError as exc:
        problems.append(f"{label}: {exc}")
        return None
    if digest(raw) != e["manifest"]:
        problems.append(f"{label}: manifest.json was altered: blake3 {digest(raw)}, the index recorded {e['manifest']}")
    if canonical_json(manifest) != raw:
        problems.append(f"{label}: manifest.json is not in canonical form (RFC 8785)")
    try:
        verify_manifest_signature(public, manifest, signature, f"{label}: {SIGNATURE}")
    except VerificationError as exc:
        problems.append(str(exc))
    if manifest.get("period") != e["period"]:
        problems.append(f"{label}: the manifest's period is {manifest.get('period')!r}")
    publication = manifest.get("publication") or {}
    if publication.get("revision") != e["revision"]:
        problems.append(f"{label}: the manifest's revision is {publication.get('revision')!r}")
    period = e["period"]
    want_supersedes = digests[period][-1] if e["revision"] > 1 and digests[period] else None
    if publication.get("supersedes") != want_supersedes:
        problems.append(f"{label}: supersedes {publication.get('supersedes')!r}, expected {want_supersedes!r}")
    previous = manifest.get("previous")
    if period == first_month:
        if previous is not None:
            problems.append(f"{label}: links to {previous!r} but is the archive's first month")
    else:
        before = month_before(period)
        if not isinstance(previous, Mapping) or previous.get("period") != before:
            problems.append(f"{label}: does not link to {before} (previous = {previous!r})")
        elif previous.get("manifest") not in digests.get(before, []):
            problems.append(f"{label}: links to a {before} manifest {str(previous.get('manifest'))[:16]}… that is "
                            f"not any published revision of {before} (altered or replaced month)")
    if e.get("root") != manifest.get("root", {}).get("hash"):
        problems.append(f"{label}: the index's root {e.get('root')} differs from the manifest's "
                        f"{manifest.get('root', {}).get('hash')}")
    files = manifest.get("files") or {}
    for name, want in sorted(files.items()):
        try:
            got = digest(a.read(e["directory"], PUBLIC_DIR, name))
        except BundleError as exc:
            problems.append(f"{label}: {exc}")
            continue
        if got != want:
            problems.append(f"{label}: public/{name} was altered: blake3 {got}, the manifest says {want}")
    try:
        present = {p.rsplit("/", 1)[-1] for p in storage.retrying(
            lambda: a.fs.ls(a.file(e["directory"], PUBLIC_DIR), detail=False))}
    except FileNotFoundError:
        present = set()
    extra = sorted(present - set(files) - {MANIFEST, SIGNATURE})
    if extra:
        problems.append(f"{label}: public files not covered by the manifest: {extra}")
    return manifest
