"""The protocol versions, in one place: which exist, which is the default, what each announces.

Every module that dispatches on a document's ``version`` asks here instead of comparing strings.
"""

from __future__ import annotations

from . import v1, v2, v3

VERSIONS = (v1.VERSION, v2.VERSION, v3.VERSION)
DEFAULT = v3.VERSION
WITH_COMMITMENT = frozenset({v2.VERSION, v3.VERSION})
"""Versions whose manifest carries an announced value ``C`` (por-v1 announces its root hash)."""
PER_ASSET_TREES = frozenset({v3.VERSION})
"""Versions with one tree per asset (equity and debt) instead of one tree over all assets."""


def has_commitment(version: object) -> bool:
    return version in WITH_COMMITMENT


def per_asset(version: object) -> bool:
    return version in PER_ASSET_TREES
