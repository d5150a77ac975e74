"""The publication archive: one directory (or object-storage prefix) holding every month.

Layout (documented in ``schemas/archive.md``)::

    ARCHIVE/index.json                 every publication, in order; written last
    ARCHIVE/YYYY-MM/                   revision 1 of a period
        public/manifest.json           signed publication manifest (RFC 8785)
        public/signature.json          Ed25519 signature over manifest.json
        public/top-tree.json, verifier.html, report.json, report.md, report.html
        private/index.json, private/buckets/*.parquet     the proof store
        inputs/inputs.json             blake3 of every archived input file, their sources
        inputs/snapshot/…, inputs/assets.json, inputs/reserves/…, inputs/prices.json, inputs/haircuts.json
    ARCHIVE/YYYY-MM-r2/                revision 2 (``--republish``), and so on

Nothing is overwritten: a republication gets its own directory, and the index records
every revision. The months form a hash chain: each manifest's ``previous`` names the
previous month and the blake3 digest of its manifest.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from blake3 import blake3
from fsspec.spec import AbstractFileSystem

from ..errors import BundleError, InputError, Remedy, VerificationError
from ..formats.canonical import canonical_json, digest
from ..protocol.jsonread import parse_json
from ..protocol.period import month_after, month_before
from ..storage import fs as storage
from ..storage import private

INDEX = "index.json"
INDEX_FORMAT = "por-archive-v1"
INPUTS_DIR = "inputs"
INPUTS_DOC = "inputs/inputs.json"
INPUTS_FORMAT = "por-inputs-v1"
STAGING_PREFIX = ".publish-"
LOGS_DIR = ".logs"
"""Hidden: the private logs of publication runs (owner-only; never a publication, never read as one)."""
_DIR_RE = re.compile(r"^(\d{4}-(0[1-9]|1[0-2]))(-r([2-9]|[1-9]\d+))?$")
COPY_CHUNK = 8 << 20


def period_directory(period: str, revision: int) -> str:
    return period if revision == 1 else f"{period}-r{revision}"


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """blake3 of the manifest's canonical bytes (= the bytes of a published ``manifest.json``)."""
    return digest(canonical_json(manifest))


@dataclass(frozen=True)
class Archive:
    fs: AbstractFileSystem
    path: str
    shown: str

    def file(self, *names: str) -> str:
        return storage.join(self.path, *names)

    def url(self, *names: str) -> str:
        """A path or URL for ``names`` inside the archive that ``storage.open_fs`` maps back here."""
        path = self.file(*names)
        if storage.is_local(self.fs):
            return path
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        return f"{protocols[0]}://{path}"

    @property
    def options(self) -> dict[str, Any]:
        """The storage options the archive was opened with (credentials, endpoint): for readers that
        open ``url(…)`` themselves."""
        return dict(getattr(self.fs, "storage_options", None) or {})

    def exists(self, *names: str) -> bool:
        return bool(storage.retrying(lambda: self.fs.exists(self.file(*names))))

    def read(self, *names: str) -> bytes:
        shown = "/".join((self.shown, *names))
        try:
            return storage.retrying(lambda: self.fs.cat_file(self.file(*names)))
        except FileNotFoundError:
            raise BundleError(f"{shown}: missing") from None

    def entries(self) -> list[str]:
        """Names directly in the archive (files and directories)."""
        try:
            return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in storage.retrying(
                lambda: self.fs.ls(self.path, detail=False)))
        except FileNotFoundError:
            return []

    def read_index(self) -> tuple[dict[str, Any], bytes | None]:
        """The index and its raw bytes (None for an archive without one: a fresh archive)."""
        if not self.exists(INDEX):
            # period directories without an index are leftovers of an interrupted first publication:
            # plan_slot's caller reports them by name
            stray = [e for e in self.entries() if not e.startswith(".") and not _DIR_RE.match(e)]
            if stray:
                raise BundleError(f"{self.shown}: not an archive (no {INDEX}, but holds {stray[:5]})")
            return {"format": INDEX_FORMAT, "publications": []}, None
        raw = self.read(INDEX)
        return parse_index(raw, f"{self.shown}/{INDEX}"), raw

    def write_index(self, index: Mapping[str, Any]) -> None:
        """Replace ``index.json`` in one step (a rename locally; one PUT on object storage)."""
        data = canonical_json(index)
        target = self.file(INDEX)
        if storage.is_local(self.fs):
            tmp = self.file(f".{INDEX}.{uuid.uuid4().hex[:12]}")
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, target)
        else:
            storage.retrying(lambda: self.fs.pipe_file(target, data))

    def staging_leftovers(self) -> list[str]:
        """Staging directories of publications that did not finish (``.publish-*``)."""
        return [e for e in self.entries() if e.startswith(STAGING_PREFIX)]

    def remove(self, name: str) -> None:
        if self.exists(name):
            storage.retrying(lambda: self.fs.rm(self.file(name), recursive=True))


def open_archive(url: str, storage_options: Mapping[str, Any] | None = None) -> Archive:
    fs, path = storage.open_fs(url, storage_options)
    if storage.is_local(fs) and fs.exists(path) and not fs.isdir(path):
        raise InputError("exists and is not a directory", parameter="archive", value=url)
    return Archive(fs, path, url)


def parse_index(raw: bytes, where: str) -> dict[str, Any]:
    try:
        doc = parse_json(raw, where)
    except VerificationError as exc:
        raise BundleError(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT or not isinstance(doc.get("publications"), list):
        raise BundleError(f"{where}: not a {INDEX_FORMAT} index")
    for i, e in enumerate(doc["publications"]):
        if not isinstance(e, dict) or not all(k in e for k in ("period", "revision", "directory", "manifest")):
            raise BundleError(f"{where}: publication {i} lacks period, revision, directory or manifest")
        if not isinstance(e["directory"], str) or not _DIR_RE.match(e["directory"]):
            raise BundleError(f"{where}: publication {i} has directory {e['directory']!r}")
    return doc


def current(index: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """period -> its latest publication."""
    out: dict[str, dict[str, Any]] = {}
    for e in index["publications"]:
        out[e["period"]] = e
    return out


@dataclass(frozen=True)
class Slot:
    """Where a new publication goes, and what it links to."""

    period: str
    revision: int
    directory: str
    previous: dict[str, str] | None
    """``{"period", "manifest"}`` of the previous month's current publication, or None for the first month."""
    supersedes: str | None
    """The manifest digest of the revision this one replaces (``--republish``)."""


def plan_slot(index: Mapping[str, Any], period: str, republish: bool) -> Slot:
    """Where ``period`` may be published, or ``InputError`` saying why not.

    Months are published in order without gaps (backfill oldest first). A published
    month is refused unless ``republish``, which adds a revision and keeps the old one.
    """
    latest = current(index)
    months = sorted(latest)
    if period in latest:
        if not republish:
            e = latest[period]
            raise InputError(
                f"period {period} is already published (revision {e['revision']}, {e['directory']})",
                remedy=Remedy("republish", "to publish a new revision beside it"))
        revision = latest[period]["revision"] + 1
        supersedes: str | None = latest[period]["manifest"]
    else:
        if republish:
            raise InputError(f"period {period} has not been published; nothing to republish", parameter="republish")
        if months and period < months[0]:
            raise InputError(f"period {period} is before the archive's first month {months[0]}; "
                             "the chain cannot be extended backwards")
        if months and period > months[-1] and period != month_after(months[-1]):
            raise InputError(f"period {period} would leave a gap: the latest published month is {months[-1]}; "
                             f"publish {month_after(months[-1])} first (backfill in order)")
        revision, supersedes = 1, None
    head = chain_head(index, period)
    previous = {"period": month_before(period), "manifest": head} if head is not None else None
    return Slot(period, revision, period_directory(period, revision), previous, supersedes)


def chain_head(index: Mapping[str, Any], period: str) -> str | None:
    """The manifest digest a publication of ``period`` links to (the previous month's current
    publication), None for the archive's first month; the reserves challenge names it."""
    latest = current(index)
    before = month_before(period)
    if before in latest:
        return str(latest[before]["manifest"])
    if any(month < period for month in latest):
        raise InputError(f"the archive has no publication for {before}, the month before {period}")
    return None


# ------------------------------------------------------------------ inputs


def copy_file(src_fs: AbstractFileSystem, src: str, dst_fs: AbstractFileSystem, dst: str) -> str:
    """Copy one input file in chunks, owner-only (inputs hold user ids and balances); returns the
    blake3 of its bytes."""
    hasher = blake3()
    private.make_dirs(dst_fs, dst.rsplit("/", 1)[0], private=True)
    private.write_file(dst_fs, dst, b"", private=True)
    with src_fs.open(src, "rb") as fin, dst_fs.open(dst, "wb") as fout:
        while chunk := fin.read(COPY_CHUNK):
            hasher.update(chunk)
            fout.write(chunk)
    return hasher.hexdigest()


def file_digest(fs: AbstractFileSystem, path: str) -> str:
    hasher = blake3()
    with fs.open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def copy_tree(src_url: str, files: list[str], dst_fs: AbstractFileSystem, dst_root: str, prefix: str,
              storage_options: Mapping[str, Any] | None) -> dict[str, str]:
    """Copy ``files`` (absolute paths within ``src_url``'s filesystem) under ``dst_root/prefix``,
    keeping their paths relative to ``src_url`` (a single file keeps its name).
    Returns ``{relative archived path: blake3}``."""
    src_fs, root = storage.open_fs(src_url, storage_options)
    digests: dict[str, str] = {}
    single = len(files) == 1 and files[0] == root
    for path in files:
        rel = path.rsplit("/", 1)[-1] if single else path[len(root):].lstrip("/")
        name = f"{prefix}/{rel}"
        digests[name] = copy_file(src_fs, path, dst_fs, storage.join(dst_root, name))
    return digests


PRICES = "inputs/prices.json"
HAIRCUTS = "inputs/haircuts.json"
"""The haircuts file (``schemas/haircuts.md``) of a por-v3 month published with ``--haircuts``."""


def iter_input_files(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(archived path, recorded blake3)`` for every file an ``inputs.json`` lists."""
    for part in ("snapshot", "assets", "reserves", "prices", "haircuts"):
        if part in doc:  # prices, haircuts: only months published with them
            yield from sorted(doc[part]["files"].items())


def check_inputs(fs: AbstractFileSystem, period_root: str, shown: str, recorded_digest: str | None) -> dict[str, Any]:
    """Verify an archived period's inputs against ``inputs.json`` and the manifest's digest of it.

    Returns the parsed ``inputs.json``; raises ``BundleError`` naming every file that is
    missing or whose bytes no longer match.
    """
    doc_path = storage.join(period_root, INPUTS_DOC)
    try:
        raw = storage.retrying(lambda: fs.cat_file(doc_path))
    except FileNotFoundError:
        raise BundleError(f"{shown}/{INPUTS_DOC}: missing: the period's inputs were not archived") from None
    got = digest(raw)
    if recorded_digest is not None and got != recorded_digest:
        raise BundleError(f"{shown}/{INPUTS_DOC}: blake3 {got} differs from the manifest's {recorded_digest}")
    doc = parse_json(raw, f"{shown}/{INPUTS_DOC}")
    problems = []
    for name, want in iter_input_files(doc):
        path = storage.join(period_root, name)
        try:
            have = file_digest(fs, path)
        except FileNotFoundError:
            problems.append(f"{name}: missing")
            continue
        if have != want:
            problems.append(f"{name}: blake3 {have} differs from the recorded {want}")
    listed = {name for name, _ in iter_input_files(doc)} | {INPUTS_DOC}
    for path in storage.retrying(lambda: fs.find(storage.join(period_root, INPUTS_DIR))):
        name = path[len(period_root):].lstrip("/")
        if name not in listed:
            problems.append(f"{name}: not recorded in {INPUTS_DOC}")
    if problems:
        raise BundleError(f"{shown}: the archived inputs no longer match their recorded digests: "
                          + "; ".join(problems))
    return doc

