"""The pipeline's defaults, shipped as ``por.yaml`` and merged into Dask's config.

Loaded the way downstream Dask libraries do: ``dask.config.update_defaults``
puts them under anything the user set in their Dask config files or in
``DASK_POR__…`` environment variables. Dask is imported on the first ``get``,
so commands that never read a setting (``por verify``, ``por prove``) stay light.
"""

from __future__ import annotations

import os
from typing import Any

_PATH = os.path.join(os.path.dirname(__file__), "por.yaml")
_loaded = False


def _load() -> None:
    global _loaded
    import dask.config
    import yaml

    with open(_PATH, encoding="utf-8") as f:
        dask.config.update_defaults(yaml.safe_load(f))
    _loaded = True


def get(key: str) -> Any:
    """A ``por`` setting, e.g. ``get("fragment-rows")``."""
    if not _loaded:
        _load()
    import dask.config

    return dask.config.get(f"por.{key}")
