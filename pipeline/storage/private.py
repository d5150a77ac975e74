"""Owner-only files and directories: what the tool writes that others must not read.

Private means: the master secret and signing key, a bundle's ``private/``, an archived period's
``inputs/`` (the full snapshot with user ids) and ``private/``, exported proofs, and the scratch and
staging directories of a running build or publication. On a local file system they are created
with modes 0700 (directories) and 0600 (files) whatever the umask; public files and directories get
0644 and 0755. Object stores have no POSIX modes: their access is the bucket's policy.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

from ..errors import InputError

if TYPE_CHECKING:  # fsspec is the exchange's; the key-file functions here serve the light install too
    from fsspec.spec import AbstractFileSystem

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PUBLIC_DIR = 0o755
PUBLIC_FILE = 0o644


def _is_local(fs: AbstractFileSystem) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def create_private_file(path: str, data: bytes, what: str) -> None:
    """Create ``path`` holding ``data``, mode 0600 whatever the umask; refuses to overwrite
    (``what`` names the content in the error, e.g. "a secret")."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        raise InputError(f"{path}: already exists; refusing to overwrite {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create ({exc.strerror})") from None
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(path)
        raise


def make_dirs(fs: AbstractFileSystem, path: str, private: bool) -> None:
    """Create ``path`` and its missing parents; on a local file system each directory this call
    creates gets 0700 (``private``) or 0755, whatever the umask."""
    if not _is_local(fs):
        return
    missing = []
    current = path
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR if private else PUBLIC_DIR)
        except FileExistsError:
            continue
        os.chmod(directory, PRIVATE_DIR if private else PUBLIC_DIR)


def set_mode(fs: AbstractFileSystem, path: str, private: bool, directory: bool) -> None:
    """Set the owner-only or public mode of an existing local file or directory."""
    if _is_local(fs):
        os.chmod(path, (PRIVATE_DIR if private else PUBLIC_DIR) if directory else
                 (PRIVATE_FILE if private else PUBLIC_FILE))


def write_file(fs: AbstractFileSystem, path: str, data: bytes, private: bool) -> None:
    """Write (replace) ``path``; a local private file is 0600 from its creation on."""
    if not _is_local(fs):
        fs.pipe_file(path, data)
        return
    write_with(fs, path, lambda f: f.write(data), private)


def write_with(fs: AbstractFileSystem, path: str, make: Callable[[BinaryIO], Any], private: bool) -> None:
    """Write (replace) ``path`` with what ``make`` writes into the file object it is given (the file is
    never held whole); a local private file is 0600 from its creation on. Object storage: the object
    appears when the upload completes."""
    if not _is_local(fs):
        f = fs.open(path, "wb")
        try:
            make(f)
        except BaseException:
            # nothing half-written may appear: the upload is dropped, never completed (closing would commit it)
            with contextlib.suppress(Exception):
                f.discard()
            with contextlib.suppress(Exception):
                f.closed = True
            raise
        f.close()
        return
    mode = PRIVATE_FILE if private else PUBLIC_FILE
    # a fresh name, then an atomic rename: a reader never sees a half-written file, even when a
    # re-run task (a worker was lost) rewrites a file that another task is reading
    partial = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            make(f)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def check_owner_only(path: str, what: str) -> None:
    """Refuse a key file that its group or others may read or write, as ssh does, naming the fix."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return  # reading it reports the problem
    if mode & 0o077:
        raise InputError(f"{what} {path}: is accessible by others (mode {mode:04o}); a key must be readable by its "
                         f"owner only: run  chmod 600 {path}")
