"""The master secret file: 64 hex characters (32 bytes), mode 0600."""

from __future__ import annotations

import os
import re
import secrets

from .errors import InputError
from .protocol import SECRET_SIZE, SecretKey

_HEX_RE = re.compile(rb"^[0-9a-fA-F]{64}$")


def read_secret(path: str) -> SecretKey:
    """Load the master secret. Errors name the file and the problem, never the content."""
    try:
        with open(path, "rb") as f:
            raw = f.read(4096)
    except FileNotFoundError:
        raise InputError(f"secret file {path}: not found") from None
    except OSError as exc:
        raise InputError(f"secret file {path}: cannot read ({exc.strerror})") from None
    text = raw.strip()
    if not _HEX_RE.match(text):
        raise InputError(
            f"secret file {path}: must hold exactly {2 * SECRET_SIZE} hex characters "
            f"({SECRET_SIZE} bytes); it holds {len(text)} non-blank characters"
            + ("" if re.fullmatch(rb"[0-9a-fA-F]*", text) else " including non-hex ones")
        )
    return SecretKey(bytes.fromhex(text.decode("ascii")))


def write_new_secret(path: str) -> None:
    """Create ``path`` with a fresh random secret, mode 0600; refuses to overwrite."""
    value = secrets.token_bytes(SECRET_SIZE).hex() + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path}: already exists; refusing to overwrite a secret") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create ({exc.strerror})") from None
    with os.fdopen(fd, "w") as f:
        f.write(value)
    os.chmod(path, 0o600)
