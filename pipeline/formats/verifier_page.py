"""The offline verifier page: one self-contained HTML file (no network, works from ``file://``).

The page embeds ``web/verify.mjs`` verbatim (base64, imported as a ``data:`` module), so the
browser runs exactly the module that Node runs; optionally it embeds a period's manifest.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Mapping

WEB = os.path.join(os.path.dirname(os.path.dirname(__file__)), "web")
PAGE_NAME = "verifier.html"


def _read(name: str) -> str:
    with open(os.path.join(WEB, name), encoding="utf-8") as f:
        return f.read()


def render_page(manifest: Mapping[str, Any] | None = None) -> bytes:
    """The page's bytes; with ``manifest``, that manifest is pre-loaded."""
    module = base64.b64encode(_read("verify.mjs").encode("utf-8")).decode("ascii")
    page = _read(PAGE_NAME).replace("/*POR-VERIFY-MODULE*/", module)
    if manifest is not None:
        text = json.dumps(manifest, sort_keys=True).replace("</", "<\\/")
        page = page.replace("/*POR-EMBEDDED-MANIFEST*/", text)
    return page.encode("utf-8")
