"""Bundles on storage: reading a bundle, and assembling one so that it appears complete or not at all.

File names are in ``pipeline.formats.layout``. An archived period (``pipeline.publication.archive``)
holds the same files with the public ones under ``public/``; ``open_bundle`` accepts either.
"""

from __future__ import annotations


import functools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Mapping

from blake3 import blake3
from fsspec.spec import AbstractFileSystem

from ..errors import BundleError, InputError, Remedy
from ..formats.layout import MANIFEST, PUBLIC_DIR
from . import fs as storage
from . import private

PARTIAL = "partial"
SCRATCH = "scratch"
REPLACED = "replaced"
LEFTOVER_KINDS = (PARTIAL, SCRATCH, REPLACED)


@dataclass(frozen=True)
class Bundle:
    """A bundle directory on some filesystem."""

    fs: AbstractFileSystem
    path: str
    shown: str
    public_dir: str = ""
    """``"public"`` for an archived period: files outside ``private/`` live in that folder."""
    all_private: bool = False
    """Scratch space and exports: every file is owner-only (otherwise only ``private/``)."""

    def is_private(self, name: str) -> bool:
        return self.all_private or name.startswith("private/")

    def _placed(self, name: str) -> str:
        """``name`` relative to the bundle's directory (an archived period's public files are in ``public/``)."""
        return f"{self.public_dir}/{name}" if self.public_dir and not name.startswith("private/") else name

    def file(self, name: str) -> str:
        return storage.join(self.path, self._placed(name))

    def where(self, name: str) -> str:
        """The file ``name`` as messages name it: where it is (``2026-12/public/manifest.json`` in an archive)."""
        return f"{self.shown.rstrip('/')}/{self._placed(name)}"

    def public_names(self) -> set[str]:
        """Names of the public files, the manifest and its signature included."""
        if self.public_dir:
            return {p.rsplit("/", 1)[-1] for p in _listing(self.fs, storage.join(self.path, self.public_dir))}
        return {p.rsplit("/", 1)[-1] for p in _listing(self.fs, self.path)} - {"private"}

    def read(self, name: str) -> bytes:
        try:
            return storage.retrying(lambda: self.fs.cat_file(self.file(name)))
        except FileNotFoundError:
            raise BundleError(f"{self.shown}: missing {self._placed(name)}") from None

    def exists(self, name: str) -> bool:
        return bool(storage.retrying(lambda: self.fs.exists(self.file(name))))

    def read_json(self, name: str) -> Any:
        raw = self.read(name)
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{self.where(name)}: not valid JSON ({exc})") from None

    def listdir(self, name: str) -> list[str]:
        """Names (relative to the bundle) of the files directly in ``name``; [] if absent."""
        return [f"{name}/{p.rsplit('/', 1)[-1]}" for p in _listing(self.fs, self.file(name))]

    def remove(self, names: list[str]) -> None:
        paths = [self.file(n) for n in names]
        if paths:
            storage.retrying(lambda: self.fs.rm(paths))

    def write(self, name: str, data: bytes) -> None:
        """Write ``name``: owner-only (0600 in 0700 directories) when private, whatever the umask."""
        target = self.file(name)
        secret = self.is_private(name)

        def put() -> None:
            private.make_dirs(self.fs, target.rsplit("/", 1)[0], secret)
            private.write_file(self.fs, target, data, secret)

        storage.retrying(put)

    def write_stream(self, name: str, make: Callable[[Any], Any]) -> str:
        """Write ``name`` as ``make`` writes its parts into the file object it is given (the file is never
        held whole), as ``write`` writes it (a local file under a fresh name, then renamed into place, with
        the public or owner-only mode from its creation on); returns the blake3 of the bytes written. A
        transient storage error writes the file again from the start (``make`` gives the same bytes each
        time)."""
        target = self.file(name)
        secret = self.is_private(name)

        def put() -> str:
            private.make_dirs(self.fs, target.rsplit("/", 1)[0], secret)
            out: list[_Digesting] = []

            def digested(f: BinaryIO) -> None:
                out.append(_Digesting(f))
                make(out[-1])

            private.write_with(self.fs, target, digested, secret)
            return out[-1].hexdigest()

        return storage.retrying(put)


class _Digesting:
    """A file object's writes, digested (blake3, as ``canonical.digest``) on their way to it."""

    def __init__(self, f: BinaryIO) -> None:
        self._f, self._hash = f, blake3()

    def write(self, data: Any) -> int:
        """``data``: bytes-like (bytes, or an Arrow buffer)."""
        view = memoryview(data)
        self._hash.update(view)
        self._f.write(view)
        return len(view)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def open_bundle(url: str, storage_options: Mapping[str, Any] | None = None) -> Bundle:
    """An existing, complete bundle (flat, or an archived period with ``public/``):
    refuses a directory without ``manifest.json``."""
    fs, path = storage.open_fs(url, storage_options)
    if storage.retrying(lambda: fs.exists(storage.join(path, MANIFEST))):
        return Bundle(fs, path, url)
    if storage.retrying(lambda: fs.exists(storage.join(path, PUBLIC_DIR, MANIFEST))):
        return Bundle(fs, path, url, PUBLIC_DIR)
    raise BundleError(f"{url}: not a bundle (no {MANIFEST}; an unfinished build is never a bundle)")


@dataclass(frozen=True)
class Staging:
    """Where a bundle is assembled before it appears at its final place.

    On a local filesystem: a hidden sibling directory named after the run key,
    renamed into place when complete. On object storage (no atomic rename): the
    final prefix itself, with ``manifest.json`` written last; readers treat a
    prefix without a manifest as absent.
    """

    bundle: Bundle
    final_path: str
    in_place: bool


def _listing(fs: AbstractFileSystem, path: str) -> list[str]:
    try:
        return list(storage.retrying(lambda: fs.ls(path, detail=False)))
    except FileNotFoundError:
        return []


def check_output(url: str, force: bool, resume: bool = False,
                 storage_options: Mapping[str, Any] | None = None) -> None:
    """Refuse an existing non-empty output ``url`` unless ``force`` (before any work is done).

    With ``resume``, an unfinished bundle (no manifest) on object storage is accepted.
    """
    fs, path = storage.open_fs(url, storage_options)
    if storage.is_local(fs) and fs.exists(path) and not fs.isdir(path):
        raise InputError("exists and is not a directory", parameter="out", value=url)
    entries = _listing(fs, path)
    if not entries or force:
        return
    has_manifest = storage.retrying(lambda: fs.exists(storage.join(path, MANIFEST)))
    if resume and not has_manifest and not storage.is_local(fs):
        return
    raise InputError("exists and is not empty", parameter="out", value=url, remedy=Remedy("force", "to replace it"))


def leftover_name(path: str, kind: str, tag: str) -> str:
    """The hidden sibling of ``path`` that a run uses while it works: ``.NAME.KIND-TAG``."""
    parent, name = path.rsplit("/", 1) if "/" in path else (".", path)
    return storage.join(parent, f".{name}.{kind}-{tag}")


def leftovers(url: str, storage_options: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(kind, path)`` of every hidden sibling of ``url`` left by runs that did not finish
    (a killed build's partial results and scratch, a replaced bundle not yet removed)."""
    fs, path = storage.open_fs(url, storage_options)
    parent, name = path.rsplit("/", 1) if "/" in path else (".", path)
    found = []
    for entry in _listing(fs, parent):
        base = entry.rstrip("/").rsplit("/", 1)[-1]
        for kind in LEFTOVER_KINDS:
            if base.startswith(f".{name}.{kind}-"):
                found.append((kind, storage.join(parent, base)))
    return sorted(found)


def remove_leftovers(url: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Remove every leftover of ``url`` (see ``leftovers``); returns the paths removed."""
    fs, _ = storage.open_fs(url, storage_options)
    removed = []
    for _, path in leftovers(url, storage_options):
        storage.retrying(functools.partial(fs.rm, path, recursive=True))
        removed.append(path)
    return removed


def start_staging(url: str, run_key: str, resume: bool, force: bool,
                  storage_options: Mapping[str, Any] | None = None, public_dir: str = "",
                  all_private: bool = False) -> Staging:
    """The place to assemble the bundle of run ``run_key`` (hex), keeping earlier partial
    results of the same run only when ``resume``. ``public_dir``, ``all_private``: see ``Bundle``."""
    fs, path = storage.open_fs(url, storage_options)
    if storage.is_local(fs):
        tmp = leftover_name(path, PARTIAL, run_key[:24])
        if fs.exists(tmp) and not resume:
            fs.rm(tmp, recursive=True)
        private.make_dirs(fs, tmp, private=True)  # holds private files until it is published
        private.set_mode(fs, tmp, private=True, directory=True)
        return Staging(Bundle(fs, tmp, f"{url} (staging)", public_dir, all_private), path, in_place=False)
    manifest = storage.join(path, MANIFEST)
    if force and storage.retrying(lambda: fs.exists(manifest)):
        storage.retrying(lambda: fs.rm_file(manifest))  # the old bundle is absent from here on
    if _listing(fs, path) and not resume:
        storage.retrying(lambda: fs.rm(path, recursive=True))
    return Staging(Bundle(fs, path, url, public_dir, all_private), path, in_place=True)


def start_scratch(url: str, tag: str, storage_options: Mapping[str, Any] | None = None) -> Bundle:
    """A hidden sibling of ``url`` for the shuffle files of one build (removed when it ends)."""
    fs, path = storage.open_fs(url, storage_options)
    scratch = leftover_name(path, SCRATCH, tag)
    if storage.is_local(fs):
        private.make_dirs(fs, scratch.rsplit("/", 1)[0], private=False)
        fs.makedirs(scratch, exist_ok=False)
        private.set_mode(fs, scratch, private=True, directory=True)
    return Bundle(fs, scratch, f"{url} (scratch)", all_private=True)


def remove_tree(b: Bundle) -> None:
    if storage.retrying(lambda: b.fs.exists(b.path)):
        storage.retrying(lambda: b.fs.rm(b.path, recursive=True))


def abandon(staging: Staging, attempts: int = 5) -> None:
    """Remove everything a failed build wrote: nothing half-written remains.

    Called while an error propagates, perhaps while cluster tasks of the failed run are still
    writing into the staging directory (removing it then fails with "directory not empty"): it
    tries again, and if the directory still cannot be removed it stays under its hidden
    leftover name (``por clean`` and the next run's leftover check find it) rather than replacing
    the error that caused the abandon."""
    for attempt in range(attempts):
        try:
            remove_tree(staging.bundle)
            return
        except OSError:
            if attempt == attempts - 1:
                return
            time.sleep(0.5 * (attempt + 1))


def publish(staging: Staging) -> None:
    """Make the complete bundle appear at its final place.

    Local: an existing final directory (empty, or replaced under ``--force``)
    is first moved aside and removed only after the new bundle is in place.
    Object storage: nothing to move; the manifest, written last, published it.
    """
    if staging.in_place:
        return
    fs = staging.bundle.fs
    final = staging.final_path
    aside = None
    if fs.exists(final):
        aside = leftover_name(final, REPLACED, uuid.uuid4().hex[:12])
        fs.mv(final, aside, recursive=True)
    # a bundle's top directory holds its public files; an export is private throughout
    private.set_mode(fs, staging.bundle.path, private=staging.bundle.all_private, directory=True)
    fs.mv(staging.bundle.path, final, recursive=True)
    if aside is not None:
        fs.rm(aside, recursive=True)
