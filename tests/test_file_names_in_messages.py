"""Messages about an archived month's files name them where they are (``2026-12/public/manifest.json``)."""

from __future__ import annotations

import os

import pytest

from pipeline.errors import BundleError
from pipeline.liabilities import stored
from pipeline.storage.bundle import open_bundle


def test_a_broken_archived_manifest_is_named_under_public(tmp_path):
    month = tmp_path / "2026-12"
    os.makedirs(month / "public")
    (month / "public" / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError) as caught:
        stored.load_manifest(open_bundle(str(month)))
    assert f"{month}/public/manifest.json" in str(caught.value)


def test_a_flat_bundle_names_its_manifest_at_the_top(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError) as caught:
        stored.load_manifest(open_bundle(str(tmp_path)))
    assert f"{tmp_path}/manifest.json" in str(caught.value) and "public" not in str(caught.value)
