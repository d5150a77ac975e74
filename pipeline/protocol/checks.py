"""The names of the verifier's checks: the ``check`` of every ``VerificationError``. Standard library only.

One vocabulary for the three verifiers: this module, the Node module (``web/verify.mjs``, its
``fail("…")`` calls) and the page (``web/verifier.html``, its ``CHECKS`` rows and ``ROW_OF``) name the
same checks (tests/test_vocabulary.py holds them to it). A member is equal to, and prints as, its
machine name (``Check.ROOT_HASH == "root-hash"``, ``f"{Check.ROOT_HASH}"`` is ``root-hash``): what the
command lines print, the vectors record and the page shows.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Check"]


class Check(StrEnum):
    """A failed check's machine name, in the order a proof meets them."""

    INPUT = "input"
    """A document is not strict JSON (size, byte-order mark, UTF-8, depth, duplicate keys, numbers, surrogates)."""
    SIGNATURE = "signature"
    """The manifest's signature, or the public key it is checked with, does not verify (strict Ed25519)."""
    MANIFEST = "manifest"
    """The manifest is malformed, or (por-v2/v3) its commitment is not the value of its own fields."""
    FORMAT = "format"
    """The proof is malformed: a field missing or mistyped, a hash not 64 lowercase hex, a bad user id or shape."""
    NUMBER = "number"
    """An amount is not a canonical non-negative decimal string below 2^128."""
    VERSION = "version"
    """The proof's protocol version is unknown, or not the manifest's."""
    PERIOD = "period"
    """The proof's period is not ``YYYY-MM``, or not the manifest's."""
    USER_ID = "user-id"
    """The proof is not for the account id the user gave (or that id is not a user id)."""
    ASSETS = "assets"
    """The proof's assets (labels, and for por-v2/v3 decimals, in order) are not the manifest's."""
    PARAMETERS = "parameters"
    """por-v3: the proof's parameters (fragments per holding, padding percent) are not the manifest's."""
    SHAPE = "shape"
    """por-v2/v3: the proof's tree shape (bucket bits, bucket height; per asset in por-v3) is not the manifest's."""
    HOLDINGS = "holdings"
    """por-v3: a holding names an unknown asset, is out of asset order or repeated, or is zero (equity and debt 0)."""
    FRAGMENTS = "fragments"
    """por-v3: a holding has not exactly the parameters' number of fragments, or two share a position."""
    HOLDING_SUM = "holding-sum"
    """por-v3: a holding's equity or debt is not the sum of its fragments' equity or debt."""
    PATH_LENGTH = "path-length"
    """The path has not one entry per level of the tree (or more than the protocol's maximum height)."""
    POSITION = "position"
    """The leaf's position is outside the tree, or not in the bucket of the user's (por-v3: the fragment's) key."""
    SUM_OVERFLOW = "sum-overflow"
    """A sum along the path reaches 2^128."""
    ROOT_HASH = "root-hash"
    """The path folds to a hash other than the published root hash."""
    ROOT_SUMS = "root-sums"
    """The path folds to sums other than the published root sums."""
    COMMITMENT = "commitment"
    """por-v2/v3: the labels, decimals, parameters, shapes and paths give another value than the announced one."""
    PROOF_ROOT = "proof-root"
    """The proof's own copy of the root (or of the commitment) is not what its path folds to."""
