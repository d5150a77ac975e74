"""The master secret file: 64 hex characters (32 bytes), mode 0600."""

from __future__ import annotations

import re
import secrets

from ..errors import InputError
from ..protocol.keys import SECRET_SIZE, SecretKey
from .private import check_owner_only, create_private_file

_HEX_RE = re.compile(rb"^[0-9a-fA-F]{64}$")


def read_secret(path: str) -> SecretKey:
    """Load the master secret. Errors name the file and the problem, never the content; a file
    that others may read is refused (with the chmod to run)."""
    check_owner_only(path, "secret file")
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
    create_private_file(path, (secrets.token_bytes(SECRET_SIZE).hex() + "\n").encode("ascii"), "a secret")
