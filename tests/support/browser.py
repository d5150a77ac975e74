"""A real headless Chromium (Debian's chromium + chromedriver) driven by Selenium.

The test set-up installs the Debian packages when they are missing (root, apt), saying so on the
terminal: only them and what they depend on (``--no-install-recommends``), never a newer version of
a package already installed unless the new packages need it; apt is asked first (``-s``) and any
package it would upgrade is named before the install. Selenium is given the driver's path so it
never downloads anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Callable

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PACKAGES = ("chromium", "chromium-driver")
APT_INSTALL = ("apt-get", "install", "-y", "-qq", "--no-install-recommends", "--no-upgrade", *PACKAGES)
"""``--no-install-recommends``: nothing the packages merely recommend; ``--no-upgrade``: a package named
here that is already installed stays as it is (apt upgrades another installed package only when the new
ones depend on its newer version: those are named first, from ``apt-get -s``)."""
_UPGRADE = re.compile(r"^Inst (\S+) \[([^\]]+)\] \((\S+)", re.MULTILINE)


def apt_upgrades(simulation: str) -> list[str]:
    """``name old -> new`` for each installed package that ``apt-get -s install`` would upgrade."""
    return [f"{name} {old} -> {new}" for name, old, new in _UPGRADE.findall(simulation)]


def install_chromium(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> None:
    """``apt-get update``, then the install (``APT_INSTALL``), each step announced."""
    from tests.support.install import announce

    announce(f"installing Chromium and chromedriver from Debian ({' '.join(APT_INSTALL[:2] + APT_INSTALL[4:])})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    simulated = run([*APT_INSTALL[:2], "-s", *APT_INSTALL[4:]], check=True, env=env, capture_output=True, text=True)
    upgrades = apt_upgrades(simulated.stdout or "")
    if upgrades:
        announce(f"apt also upgrades {len(upgrades)} installed package(s) the new ones need newer: "
                 + ", ".join(upgrades))
    run(list(APT_INSTALL), check=True, env=env, stdout=subprocess.DEVNULL)


def ensure_chromium() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError("Chromium is missing and cannot be installed here (needs root and apt-get)")
    install_chromium()


def chromium_driver(profile_dir: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
