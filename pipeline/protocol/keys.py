"""Secret keys: the master secret ``S`` and the keys derived from it for one period.

``K_nonce`` and ``K_pad`` are por-v1's (``schemas/por-v1.md``); the resume key is the tool's own
(it authenticates a build's partial results so a resumed build never trusts a stale or tampered
bucket file) and is not part of any protocol hash.
"""

from __future__ import annotations

from blake3 import blake3

SECRET_SIZE = 32

NONCE_KEY_CONTEXT = "por-v1 user nonce key"
PADDING_KEY_CONTEXT = "por-v1 padding key"
RESUME_KEY_CONTEXT = "por pipeline resume mac key"
SECRET_ID_CONTEXT = "por pipeline master secret id v1"


class SecretKey:
    """A 32-byte key whose value never appears in a repr, str or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if len(value) != SECRET_SIZE:
            raise ValueError(f"a key must be {SECRET_SIZE} bytes, got {len(value)}")
        self._value = bytes(value)

    def reveal(self) -> bytes:
        """The raw key bytes. Callers must not log or print them."""
        return self._value

    def __repr__(self) -> str:
        return "SecretKey(<redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type["SecretKey"], tuple[bytes]]:
        return (SecretKey, (self._value,))


def derive(secret: SecretKey, period: str, context: str) -> SecretKey:
    """``D(context, S ‖ P)``: a per-period key of a protocol version."""
    return SecretKey(blake3(secret.reveal() + period.encode("utf-8"), derive_key_context=context).digest())


def period_keys(secret: SecretKey, period: str) -> tuple[SecretKey, SecretKey]:
    """``(K_nonce, K_pad)`` for one period, derived from the master secret ``S``."""
    return derive(secret, period, NONCE_KEY_CONTEXT), derive(secret, period, PADDING_KEY_CONTEXT)


def resume_key(secret: SecretKey, period: str) -> SecretKey:
    """The key of the MACs over a build's partial results (not a protocol hash)."""
    return derive(secret, period, RESUME_KEY_CONTEXT)


def secret_id(secret: SecretKey) -> str:
    """A public name of the master secret (blake3 key derivation, one way): two months built with
    the same secret carry the same id, and nothing about the secret can be learnt from it."""
    return blake3(secret.reveal(), derive_key_context=SECRET_ID_CONTEXT).hexdigest()[:32]
