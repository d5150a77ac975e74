"""Files only their owner may read: secrets and private keys (mode 0600, never overwritten)."""

from __future__ import annotations

import os

from ..errors import InputError


def create_private_file(path: str, data: bytes, what: str) -> None:
    """Create ``path`` holding ``data``, mode 0600 whatever the umask; refuses to overwrite
    (``what`` names the content in the error, e.g. "a secret")."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path}: already exists; refusing to overwrite {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create ({exc.strerror})") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(path)
        raise
