"""Paths through fsspec: local paths and URLs (``file://``, ``s3://``, …) take one code path."""

from __future__ import annotations


import errno
import functools
import os
import posixpath
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

import fsspec
from fsspec.spec import AbstractFileSystem

from .. import config
from ..errors import InputError

T = TypeVar("T")

_TRANSIENT_ERRNOS = {errno.ETIMEDOUT, errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED,
                     errno.EAGAIN, errno.EPIPE, errno.EHOSTUNREACH, errno.ENETUNREACH}


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: lost connections and timeouts, never 'not found' or 'denied'."""
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


def retrying(fn: Callable[[], T]) -> T:
    """Run ``fn`` with exponential backoff on transient storage errors (``por.storage`` config).

    The first attempt runs directly: the retry machinery (and Dask's config) is
    loaded only once a transient error has happened.
    """
    try:
        return fn()
    except Exception as exc:
        if not is_transient(exc):
            raise
    import tenacity

    attempts = int(config.get("storage.attempts"))
    retryer = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts - 1)),
        wait=tenacity.wait_exponential(multiplier=0.2, max=config.get("storage.backoff-max")),
        retry=tenacity.retry_if_exception(is_transient),
        reraise=True,
    )
    return retryer(fn)


def open_fs(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[AbstractFileSystem, str]:
    """The filesystem and the path inside it for ``url``.

    For ``s3://`` the standard AWS environment variables apply (credentials,
    region, and ``AWS_ENDPOINT_URL`` for S3-compatible servers).
    """
    options = dict(storage_options or {})
    if url.startswith(("s3://", "s3a://")) and "endpoint_url" not in options and os.environ.get("AWS_ENDPOINT_URL"):
        options["endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    fs, path = fsspec.core.url_to_fs(url, **options)
    return fs, path.rstrip("/") if path not in ("/", "") else path


def is_local(fs: AbstractFileSystem) -> bool:
    """True for the local filesystem, where a directory can be renamed atomically."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def join(base: str, *parts: str) -> str:
    return posixpath.join(base, *parts)


def is_hidden(relative: str) -> bool:
    """True when any component of a relative path starts with ``.`` or ``_``."""
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


DATA_SUFFIX = ".parquet"


@dataclass(frozen=True)
class InputFiles:
    """The data files of an input (sorted, so planning is deterministic) and the hidden names that
    were passed over (listed in the build's output and recorded in the archive)."""

    files: list[str]
    ignored: list[str]


def list_inputs(fs: AbstractFileSystem, root: str, shown: str, what: str = "snapshot",
                companions: tuple[str, ...] = ()) -> InputFiles:
    """Every file of an input: ``root`` itself (it must end in ``.parquet``), or every file below it.

    Below a directory each file is read (``*.parquet``, exactly that suffix), is one of the
    ``companions`` at the top (``assets.json`` beside a snapshot), is hidden (a name starting with
    ``.`` or ``_``, as Spark and Dask write ``_SUCCESS`` and ``.crc`` files: passed over and listed),
    or is refused by name: no file is ever silently skipped. A symbolic link that leads outside
    ``root`` is refused.
    """
    if not fs.exists(root):
        raise InputError(f"{what} {shown}: no such file or directory")
    if fs.isfile(root):
        if not root.endswith(DATA_SUFFIX):
            raise InputError(f"{what} {shown}: not a *{DATA_SUFFIX} file (the name must end in {DATA_SUFFIX})")
        return InputFiles([root], [])
    files, ignored, refused = [], [], []
    real_root = os.path.realpath(root) if is_local(fs) else None
    for path in fs.find(root):
        relative = posixpath.relpath(path, root)
        if real_root is not None:
            real = os.path.realpath(path)
            if real != real_root and not real.startswith(real_root + os.sep):
                raise InputError(f"{what} {shown}: {relative} is a link to {real}, outside the {what}; "
                                 "copy the file in instead")
        if is_hidden(relative):
            ignored.append(relative)
        elif path.endswith(DATA_SUFFIX):
            files.append(path)
        elif relative not in companions:
            refused.append(relative)
    if refused:
        raise InputError(f"{what} {shown}: file(s) that are neither *{DATA_SUFFIX} data nor hidden: "
                         f"{sorted(refused)[:10]}{' …' if len(refused) > 10 else ''}; rename or remove them "
                         "(names starting with . or _ are passed over)")
    if not files:
        raise InputError(f"{what} {shown}: no *{DATA_SUFFIX} files in the directory (empty {what})")
    return InputFiles(sorted(files), sorted(ignored))


def read_bytes(fs: AbstractFileSystem, path: str, shown: str) -> bytes:
    try:
        return retrying(lambda: fs.cat_file(path))
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{shown}: is a directory, expected a file") from None


def move_tree(fs: AbstractFileSystem, src: str, dst: str) -> None:
    """Move directory ``src`` to ``dst`` (which must not exist): one rename on a local
    filesystem; on object storage, a copy of every object, then the removal of ``src``."""
    if is_local(fs):
        fs.mv(src, dst, recursive=True)
        return
    for path in retrying(lambda: fs.find(src)):
        target = join(dst, path[len(src):].lstrip("/"))
        retrying(functools.partial(fs.copy, path, target))
    retrying(lambda: fs.rm(src, recursive=True))
