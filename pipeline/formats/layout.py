"""Names in a bundle and in an archived period (``schemas/por-v1.md``, ``schemas/archive.md``).

A bundle directory::

    manifest.json            public, canonical JSON (RFC 8785), written last
    top-tree.json            public, every node from the bucket roots to the root
    verifier.html            public, the offline verifier page
    private/index.json       private, every non-empty bucket: file, users, root, digest
    private/buckets/NNNNNNNN.parquet
                             private, one per non-empty bucket: uk, position, balances (por-v1/v2)
    private/users/gNNNNN.parquet
                             private, por-v3: one per non-empty user group: uk, held, amounts
    private/trees/AAA/NNNNNNNN.parquet
                             private, por-v3: asset AAA's non-empty buckets: key, position, amounts

An archived period holds the same files with the public ones under ``public/``.
"""

from __future__ import annotations

MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
VERIFIER_PAGE = "verifier.html"
PUBLIC_KEY = "public-key.pem"
"""An archived month publishes the exchange's Ed25519 public key beside its manifest."""
OUTSIDE_MANIFEST = frozenset({MANIFEST, SIGNATURE, VERIFIER_PAGE})
"""Public files the manifest cannot list: itself, its signature, and an archived month's verifier page
(which embeds the signed manifest)."""
PUBLIC_DIR = "public"
PRIVATE_DIR = "private"
TOP_TREE = "top-tree.json"
PRIVATE_INDEX = "private/index.json"
BUCKET_DIR = "private/buckets"
CHECKPOINT_LEVEL = 8
"""Buckets taller than this store their nodes at this level, so a proof folds at most
2^8 leaves and the checkpoint nodes above them instead of the whole bucket."""


def checkpoint_level(bucket_height: int) -> int | None:
    """The level whose nodes a bucket of height ``bucket_height`` stores, or None."""
    return CHECKPOINT_LEVEL if bucket_height > CHECKPOINT_LEVEL else None


def bucket_file(bucket: int) -> str:
    return f"{BUCKET_DIR}/{bucket:08d}.parquet"


USERS_DIR = "private/users"
TREES_DIR = "private/trees"


def users_file(group: int) -> str:
    """por-v3: the private file of the users whose ``uk`` starts with the ``g`` bits ``group``."""
    return f"{USERS_DIR}/g{group:05d}.parquet"


def tree_dir(asset: int) -> str:
    """por-v3: the folder of asset ``asset``'s (its index) bucket files."""
    return f"{TREES_DIR}/{asset:03d}"


def tree_bucket_file(asset: int, bucket: int) -> str:
    """por-v3: the private file of bucket ``bucket`` of asset ``asset``'s tree."""
    return f"{tree_dir(asset)}/{bucket:08d}.parquet"
