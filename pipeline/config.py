"""The pipeline's defaults, shipped as ``por.yaml`` and merged into Dask's config.

Loaded the way downstream Dask libraries do: ``dask.config.update_defaults``
puts them under anything the user set in their Dask config files or in
``DASK_POR__…`` environment variables.
"""

from __future__ import annotations

import os
from typing import Any

import dask.config
import yaml

_PATH = os.path.join(os.path.dirname(__file__), "por.yaml")

with open(_PATH, encoding="utf-8") as _f:
    dask.config.update_defaults(yaml.safe_load(_f))


def get(key: str) -> Any:
    """A ``por`` setting, e.g. ``get("fragment-rows")``."""
    return dask.config.get(f"por.{key}")
