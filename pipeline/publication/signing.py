"""Ed25519 signatures over manifests (``cryptography``), and the signing key files.

What is signed: the RFC 8785 canonical JSON bytes of the manifest (``formats.canonical``),
which are also the exact bytes of a published ``manifest.json``. The signature lives beside
it in ``signature.json``::

    {"algorithm": "Ed25519", "signed": "manifest.json", "canonicalization": "RFC 8785",
     "public_key": "<32 bytes hex>", "key_id": "<blake3 of the public key, 16 hex>",
     "signature": "<64 bytes hex>"}

Key files: the private key as unencrypted PKCS#8 PEM, mode 0600; the public key as
SubjectPublicKeyInfo PEM in ``FILE.pub``. Errors name the file, never its content.

Verification is strict, with the rules of the reserve-ownership side (``ownership.ed25519``,
``schemas/reserves.md`` "Ed25519"; ``schemas/archive.md``), in the same order as the Node module and
the page (``web/verify.mjs``): A and R canonical encodings (y below p, no negative zero), neither one
of the eight small-order points, S below L; only then OpenSSL's equation. OpenSSL alone accepts a
small-order "public key" with a small-order R and S = 0: a key under which every manifest would be
"signed" without any private key. A public key read from a file is held to the rule on A at once.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

from blake3 import blake3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ..errors import InputError, VerificationError
from ..formats.canonical import canonical_json
from ..formats.layout import MANIFEST
from ..ownership.chains import Refused
from ..ownership.ed25519 import check_public_key, check_strict
from ..protocol.checks import Check
from ..storage.private import check_owner_only, create_private_file

ALGORITHM = "Ed25519"
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
SIGNATURE_HEX = re.compile(r"[0-9a-f]{128}")


def public_key_file(path: str) -> str:
    return f"{path}.pub"


def key_id(public: Ed25519PublicKey) -> str:
    return blake3(public.public_bytes(*RAW)).hexdigest()[:16]


def public_key_pem(public: Ed25519PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM (what ``FILE.pub`` and an archive's public-key.pem hold)."""
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_signing_key(path: str) -> str:
    """Create a new Ed25519 key at ``path`` (0600) and its public key at ``path.pub``.

    Refuses if either file exists; writes neither then. Returns the key id.
    """
    pub_path = public_key_file(path)
    for p in (path, pub_path):
        if os.path.lexists(p):
            raise InputError(f"{p}: already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = public_key_pem(key.public_key())
    create_private_file(path, private_pem, "a key")
    try:
        with open(pub_path, "xb") as f:
            f.write(public_pem)
    except OSError as exc:
        os.unlink(path)
        raise InputError(f"{pub_path}: cannot create ({exc.strerror})") from None
    return key_id(key.public_key())


def _read_pem(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16)
    except FileNotFoundError:
        raise InputError(f"{what} {path}: not found") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read ({exc.strerror})") from None


def load_signing_key(path: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path`` (PKCS#8 PEM, as written by ``por keygen --signing``)."""
    check_owner_only(path, "signing key")
    data = _read_pem(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InputError(f"signing key {path}: not an unencrypted PKCS#8 PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"signing key {path}: is a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    """The Ed25519 public key in ``path`` (SubjectPublicKeyInfo PEM, ``FILE.pub`` of ``keygen --signing``)."""
    return public_key_from_pem(_read_pem(path, "public key"), path)


def public_key_from_pem(data: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes (``where`` names them in errors).

    A key that breaks the strict rule on A (a non-canonical encoding, or one of the eight small-order
    points, under which anyone can "sign" any manifest) is ``VerificationError(Check.SIGNATURE, …)``, the
    check the Node module and the page fail on it too."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InputError(f"public key {where}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"public key {where}: is a {type(key).__name__}, not an Ed25519 key")
    try:
        check_public_key(key.public_bytes(*RAW))
    except Refused as exc:
        raise VerificationError(Check.SIGNATURE, f"public key {where}: {exc} (strict Ed25519, schemas/reserves.md); "
                                "no signature under it proves anything") from None
    return key


def sign_manifest(key: Ed25519PrivateKey, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The ``signature.json`` document for ``manifest``."""
    public = key.public_key()
    return {
        "algorithm": ALGORITHM,
        "signed": MANIFEST,
        "canonicalization": "RFC 8785",
        "public_key": public.public_bytes(*RAW).hex(),
        "key_id": key_id(public),
        "signature": key.sign(canonical_json(manifest)).hex(),
    }


def verify_manifest_signature(public: Ed25519PublicKey, manifest: Mapping[str, Any], signature: Any,
                              where: str) -> None:
    """Raise ``VerificationError(Check.SIGNATURE, …)`` unless ``signature`` (a parsed ``signature.json``)
    is a valid signature by ``public`` over the canonical bytes of ``manifest``: strict Ed25519
    (``ownership.ed25519.check_strict`` on A, R and S, naming the rule broken), then OpenSSL's equation."""
    if not isinstance(signature, Mapping) or signature.get("algorithm") != ALGORITHM:
        raise VerificationError(Check.SIGNATURE, f"{where}: not an {ALGORITHM} signature document")
    want = public.public_bytes(*RAW).hex()
    if signature.get("public_key") != want:
        raise VerificationError(
            Check.SIGNATURE, f"{where}: signed by key {str(signature.get('key_id'))!r}, not by the given public key "
            f"(key id {key_id(public)})")
    value = signature.get("signature")
    # exactly 128 lower-case hex characters, as the Node module and the page read it (schemas/por-v2.md)
    if not isinstance(value, str) or not SIGNATURE_HEX.fullmatch(value):
        raise VerificationError(Check.SIGNATURE, f"{where}: the signature does not match the manifest")
    raw = bytes.fromhex(value)
    try:  # before OpenSSL, which accepts a small-order A and R with S = 0 for every message
        check_strict(public.public_bytes(*RAW), raw)
    except Refused as exc:
        raise VerificationError(Check.SIGNATURE, f"{where}: {exc} (strict Ed25519, schemas/reserves.md)") from None
    try:
        public.verify(raw, canonical_json(manifest))
    except (ValueError, InvalidSignature):
        raise VerificationError(Check.SIGNATURE, f"{where}: the signature does not match the manifest") from None
