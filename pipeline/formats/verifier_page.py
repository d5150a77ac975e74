"""The offline verifier page: one self-contained HTML file (no network, works from ``file://``).

The page embeds ``web/verify.mjs`` verbatim (base64, imported as a ``data:`` module), so the
browser runs exactly the module that Node runs. That module's one import, BLAKE3 from
``@noble/hashes``, is mapped by an import map to the pinned bundle ``webmodule`` builds (also a
``data:`` module), and the package's licence is shown on the page. Optionally the page embeds a
period's manifest, its signature and the exchange's public key.

A published page is checkable (``schemas/archive.md``, "The verifier page"): its *code* is the page
with the two embedded blocks emptied back to their placeholders, and its blake3 is recorded in the
signed manifest (``publication.verifier``) before signing; the blocks must be exactly this module's
rendering of the signed manifest, its signature and the public key. ``page_parts`` splits a page
into those three, so ``por history verify`` and ``por verifier-page --check`` can refuse a page
whose code or embedding was changed, and compare its code with the page this tool renders.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..webmodule import ENTRY, PACKAGE, browser_module_source
from .layout import VERIFIER_PAGE

WEB = os.path.join(os.path.dirname(os.path.dirname(__file__)), "web")
PAGE_NAME = VERIFIER_PAGE


def _read(name: str) -> str:
    with open(os.path.join(WEB, name), encoding="utf-8") as f:
        return f.read()


def _data_url(source: str) -> str:
    return "data:text/javascript;base64," + base64.b64encode(source.encode("utf-8")).decode("ascii")


def _licence(bundle: str) -> str:
    """The licence comment the bundle opens with, as page text."""
    text = bundle[len("/*! "):bundle.index("*/")].strip()
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _embed(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True).replace("</", "<\\/")


def render_page(manifest: Mapping[str, Any] | None = None, signature: Mapping[str, Any] | None = None,
                public_key_pem: str | None = None) -> bytes:
    """The page's bytes; with ``manifest``, that manifest is pre-loaded; with ``signature`` and
    ``public_key_pem`` too (an archived month's page), the page checks the manifest's signature by
    that key before anything else."""
    module = base64.b64encode(_read("verify.mjs").encode("utf-8")).decode("ascii")
    bundle = browser_module_source()
    imports = json.dumps({"imports": {f"{PACKAGE}/{ENTRY}": _data_url(bundle)}})
    page = (_read(PAGE_NAME).replace("/*POR-VERIFY-MODULE*/", module)
            .replace("/*POR-IMPORT-MAP*/", imports).replace("/*POR-LICENCE*/", _licence(bundle)))
    if manifest is not None:
        page = page.replace("/*POR-EMBEDDED-MANIFEST*/", _embed(manifest))
    if signature is not None and public_key_pem is not None:
        page = page.replace("/*POR-EMBEDDED-SIGNATURE*/", _embed({"signature": signature, "public_key": public_key_pem}))
    return page.encode("utf-8")


_BLOCKS = (('<script type="application/json" id="por-embedded-manifest">', "/*POR-EMBEDDED-MANIFEST*/"),
           ('<script type="application/json" id="por-embedded-signature">', "/*POR-EMBEDDED-SIGNATURE*/"))


class PageError(ValueError):
    """A page that is not laid out as this module renders pages."""


@dataclass(frozen=True)
class PageParts:
    code: bytes
    """The page with both embedded blocks emptied to their placeholders: what ``publication.verifier`` hashes."""
    manifest: str
    """The embedded manifest block's text (a placeholder when none is embedded)."""
    signature: str


def page_parts(page: bytes) -> PageParts:
    """Split a page into its code and its two embedded blocks; ``PageError`` if it is not one page."""
    try:
        text = page.decode("utf-8")
    except UnicodeDecodeError:
        raise PageError("the page is not UTF-8") from None
    bodies = []
    for opening, placeholder in _BLOCKS:
        if text.count(opening) != 1:
            raise PageError(f"the page has {text.count(opening)} {opening!r} elements, not one")
        start = text.index(opening) + len(opening)
        end = text.find("</script>", start)
        if end < 0:
            raise PageError(f"the {opening!r} element is not closed")
        bodies.append(text[start:end])
        text = text[:start] + placeholder + text[end:]
    return PageParts(text.encode("utf-8"), bodies[0], bodies[1])


def embedded_blocks(manifest: Mapping[str, Any], signature: Mapping[str, Any], public_key_pem: str) -> tuple[str, str]:
    """The two blocks exactly as ``render_page`` writes them for a published month."""
    return _embed(manifest), _embed({"signature": signature, "public_key": public_key_pem})
