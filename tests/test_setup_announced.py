"""Installs are announced on the real terminal: pytest captures file descriptor 2 itself, so a line
written to ``sys.__stderr__`` from a test never reaches the terminal. ``announce`` goes through the
run's terminal writer instead; this runs a small pytest session and reads what its terminal shows."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_an_install_announced_inside_a_test_reaches_the_terminal(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "from tests.support.install import use_terminal\n\n\ndef pytest_configure(config):\n    use_terminal(config)\n")
    (tmp_path / "test_one.py").write_text(
        "import sys\nfrom tests.support.install import announce\n\n\ndef test_install():\n"
        "    sys.__stderr__.write('raw stderr line\\n')\n    announce('installing a part (probe)')\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "[test set-up] installing a part (probe)" in shown
    assert "raw stderr line" not in shown  # what the old announce relied on: swallowed by the capture


# --------------------------------------------------------------------------- Chromium from apt


def test_chromium_is_installed_without_recommends_or_upgrades_and_each_upgrade_is_named(monkeypatch):
    """apt installs only Chromium, ChromeDriver and what they depend on, never upgrades them when already there,
    and names, before installing, every installed package it would still upgrade (asked with ``-s`` first)."""
    from tests.support import browser, install

    said: list[str] = []
    monkeypatch.setattr(install, "announce", said.append)
    ran: list[list[str]] = []

    def run(args, **kw):
        ran.append(list(args))
        out = ("Inst libsystemd0 [252.30-1~deb12u2] (252.38-1~deb12u1 Debian:12.15/oldstable [amd64])\n"
               "Inst chromium (140.0.7339.185-1~deb12u1 Debian-Security:12/oldstable-security [amd64])\n"
               if "-s" in args else "")
        return subprocess.CompletedProcess(args, 0, out, "")

    browser.install_chromium(run)
    update, simulate, real = ran
    assert update == ["apt-get", "update", "-qq"]
    assert real[:2] == ["apt-get", "install"] and {"--no-install-recommends", "--no-upgrade", "-y"} <= set(real)
    assert real[-2:] == ["chromium", "chromium-driver"]
    assert simulate == ["apt-get", "install", "-s", *[a for a in real[2:] if a not in ("-y", "-qq")]]
    assert said[0].startswith("installing Chromium and chromedriver from Debian (apt-get install "
                              "--no-install-recommends --no-upgrade chromium chromium-driver)")
    assert said[1] == ("apt also upgrades 1 installed package(s) the new ones need newer: "
                       "libsystemd0 252.30-1~deb12u2 -> 252.38-1~deb12u1")


# --------------------------------------------------------------------------- the page's BLAKE3 module


@pytest.fixture
def web_copy(tmp_path, monkeypatch):
    """pipeline/web's lockfile and bundle in a scratch copy, with a stand-in node_modules (each locked package's
    package.json at its locked version), so that emptying it touches nothing the other tests use."""
    import json
    import shutil

    from pipeline import webmodule

    web = tmp_path / "web"
    (web / "dist").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(webmodule.WEB / name, web / name)
    for path in (webmodule.BUNDLE, webmodule.STAMP):
        shutil.copy(path, web / "dist" / path.name)
    locked = json.loads((web / "package-lock.json").read_text())["packages"]

    def install() -> None:
        for path, entry in locked.items():
            if path.startswith("node_modules/") and not entry.get("optional"):
                (web / path).mkdir(parents=True, exist_ok=True)
                (web / path / "package.json").write_text(json.dumps({"version": entry["version"]}))
                (web / path / "LICENSE").write_text("licence text")

    install()
    monkeypatch.setattr(webmodule, "WEB", web)
    monkeypatch.setattr(webmodule, "LOCKFILE", web / "package-lock.json")
    monkeypatch.setattr(webmodule, "BUNDLE", web / "dist" / webmodule.BUNDLE.name)
    monkeypatch.setattr(webmodule, "STAMP", web / "dist" / webmodule.STAMP.name)
    return web, install


def test_an_emptied_node_modules_is_not_current_and_is_installed_again_announced(web_copy, monkeypatch):
    """The bundle's stamp names the lockfile as it is, but node_modules was emptied (every Node import would fail
    with ERR_MODULE_NOT_FOUND): not current; ensure_browser_module says on the terminal that it runs npm ci, and
    why, then runs it."""
    import shutil

    from pipeline import webmodule

    web, install = web_copy
    assert webmodule.is_current() and webmodule.stale_reason() is None
    shutil.rmtree(web / "node_modules")
    (web / "node_modules").mkdir()
    assert not webmodule.is_current()
    assert webmodule.stale_reason() == "node_modules lacks @noble/hashes, esbuild at the locked version"
    said: list[str] = []
    monkeypatch.setattr(webmodule, "_announcer", [said.append])
    ran: list[str] = []

    def run(args, what):
        ran.append(what)
        if what == "npm ci":
            install()
        else:  # esbuild writes the bundle
            with open(next(a for a in args if a.startswith("--outfile=")).removeprefix("--outfile="), "w") as f:
                f.write("bundle")

    monkeypatch.setattr(webmodule, "_run", run)
    monkeypatch.setattr(webmodule, "_tool", lambda name: name)
    webmodule.ensure_browser_module()
    assert ran == ["npm ci", "esbuild"] and webmodule.is_current()
    assert said == [f"installing {webmodule.PART}: npm ci in {web} from its pinned lockfile, then esbuild (node_modules "
                    "lacks @noble/hashes, esbuild at the locked version); this needs the npm registry once"]
    webmodule.ensure_browser_module()  # current now: nothing run, nothing said
    assert ran == ["npm ci", "esbuild"] and len(said) == 1


def test_outside_the_tests_the_page_module_install_is_announced_on_stderr(capsys):
    """The demo and every command that renders a page: the line goes to stderr, the terminal."""
    from pipeline import webmodule

    webmodule._to_stderr("installing a part (probe)")
    assert capsys.readouterr().err == "[set-up] installing a part (probe)\n"
