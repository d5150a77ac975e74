"""Each package's ``__init__`` docstring is its face: it names exactly the modules in its folder, so
that a reader finds every module from it and it cannot drift (a module added, moved or removed fails
here until the face says so)."""

from __future__ import annotations

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "pipeline")
NAMED = re.compile(r"``([a-z_][a-z0-9_]*)``")
BULLET = re.compile(r"^\s*[*-] ``([a-z_][a-z0-9_]*)``", re.M)


def packages() -> list[str]:
    out = []
    for d, dirs, files in os.walk(PIPELINE):
        dirs[:] = [x for x in dirs if not x.startswith((".", "_")) and x not in ("node_modules", "web")]
        if "__init__.py" in files:
            out.append(d)
    return sorted(out)


def modules(package: str) -> set[str]:
    names = set()
    for entry in os.listdir(package):
        path = os.path.join(package, entry)
        if entry.endswith(".py") and entry != "__init__.py":
            names.add(entry[:-3])
        elif os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            names.add(entry)
    return names


@pytest.mark.parametrize("package", packages(), ids=lambda p: os.path.relpath(p, ROOT))
def test_the_face_names_exactly_the_modules_of_its_folder(package):
    with open(os.path.join(package, "__init__.py"), encoding="utf-8") as f:
        doc = ast.get_docstring(ast.parse(f.read())) or ""
    present = modules(package)
    missing = sorted(present - set(NAMED.findall(doc)))
    assert not missing, f"{package}/__init__.py does not name {missing}"
    listed = set(BULLET.findall(doc))
    gone = sorted(listed - present)
    assert not gone, f"{package}/__init__.py lists {gone}, which are not modules of the folder"


def test_every_package_is_checked():
    names = {os.path.relpath(p, ROOT) for p in packages()}
    assert {"pipeline", "pipeline/protocol", "pipeline/ownership", "pipeline/reserves"} <= names
