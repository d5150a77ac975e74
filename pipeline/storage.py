"""Paths through fsspec: local paths and URLs (``file://``, ``s3://``, …) take one code path."""

from __future__ import annotations

import posixpath
from typing import Any, Mapping

import fsspec
from fsspec.spec import AbstractFileSystem

from .errors import InputError


def open_fs(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[AbstractFileSystem, str]:
    """The filesystem and the path inside it for ``url``."""
    fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    return fs, path.rstrip("/") if path not in ("/", "") else path


def join(base: str, *parts: str) -> str:
    return posixpath.join(base, *parts)


def is_hidden(relative: str) -> bool:
    """True when any component of a relative path starts with ``.`` or ``_``."""
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


def list_parquet(fs: AbstractFileSystem, root: str, shown: str) -> list[str]:
    """The snapshot's data files: ``root`` itself, or every ``*.parquet`` below it.

    Hidden files and directories (names starting with ``.`` or ``_``) are
    ignored. The result is sorted so that planning is deterministic.
    """
    if not fs.exists(root):
        raise InputError(f"snapshot {shown}: no such file or directory")
    if fs.isfile(root):
        return [root]
    files = []
    for path in fs.find(root):
        relative = posixpath.relpath(path, root)
        if path.endswith(".parquet") and not is_hidden(relative):
            files.append(path)
    if not files:
        raise InputError(f"snapshot {shown}: no *.parquet files in the directory (empty snapshot)")
    return sorted(files)


def read_bytes(fs: AbstractFileSystem, path: str, shown: str) -> bytes:
    try:
        with fs.open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{shown}: is a directory, expected a file") from None
