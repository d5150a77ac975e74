"""One vocabulary (issue 21): the check names of the three verifiers (``protocol.checks.Check``, the Node
module's ``fail("…")`` calls, the page's ``CHECKS`` rows and ``ROW_OF``) are the same, every raise site
names a ``Check``, and the status enums behave as the plain strings they replaced (JSON, RFC 8785,
Arrow, Parquet, f-strings, pickling)."""

from __future__ import annotations

import ast
import io
import itertools
import json
import os
import pickle
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rfc8785

from pipeline.errors import VerificationError
from pipeline.onchain import compare
from pipeline.ownership import check as ownership
from pipeline.protocol.checks import Check
from pipeline.reserves import ratios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "pipeline")
CHECKS = {c.value for c in Check}


def read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def python_sources():
    for base, dirs, files in os.walk(PIPELINE):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "node_modules")]
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(base, name)
                yield os.path.relpath(path, ROOT), read(path)


def page_vocabulary() -> tuple[list[str], dict[str, str], set[str]]:
    """The page's rows (``CHECKS``), its mapping of checks onto rows (``ROW_OF``) and the checks it
    names on their own (``error.check === "…"``)."""
    page = read("pipeline", "web", "verifier.html")
    block = re.search(r"const CHECKS = \[(.*?)\n\];", page, re.S)
    assert block, "verifier.html has no CHECKS list"
    rows = re.findall(r'^\s*\["([a-z-]+)",', block.group(1), re.M)
    row_of = re.search(r"const ROW_OF = \{(.*?)\};", page, re.S)
    assert row_of, "verifier.html has no ROW_OF"
    mapped = dict(re.findall(r'"?([a-z-]+)"?\s*:\s*"([a-z-]+)"', row_of.group(1)))
    special = set(re.findall(r'error\.check === "([a-z-]+)"', page))
    return rows, mapped, special


def test_check_values_are_the_machine_names():
    assert all(c.value == c.name.lower().replace("_", "-") for c in Check)
    assert len(CHECKS) == len(Check)


def test_each_check_has_a_one_line_meaning():
    tree = ast.parse(read("pipeline", "protocol", "checks.py"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Check"]
    meanings = {}
    for stmt, after in itertools.pairwise(cls.body):
        if isinstance(stmt, ast.Assign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            meanings[stmt.targets[0].id] = after.value.value
    assert set(meanings) == set(Check.__members__), set(Check.__members__) - set(meanings)
    assert all(text.strip() and "\n" not in text for text in meanings.values()), meanings


def test_node_module_fails_with_the_same_checks():
    """Every ``fail("…")`` of web/verify.mjs is a ``Check``, and every ``Check`` is one of them."""
    names = set(re.findall(r'\bfail\("([^"]*)"', read("pipeline", "web", "verify.mjs")))
    assert names - CHECKS == set(), "verify.mjs fails with checks Python does not know"
    assert CHECKS - names == set(), "checks Python raises that verify.mjs never does"


def test_page_lists_every_check():
    """Each check has its row on the page, or is mapped onto one (``ROW_OF``), or is shown on its own
    (``manifest``); no row, mapping or name of the page is outside the vocabulary, except the rows a
    mapping leads to (``sums``)."""
    rows, mapped, special = page_vocabulary()
    assert len(rows) == len(set(rows)), rows
    assert set(mapped) <= CHECKS, set(mapped) - CHECKS
    assert set(mapped.values()) <= set(rows), set(mapped.values()) - set(rows)
    assert special <= CHECKS, special - CHECKS
    only_rows = set(rows) - CHECKS
    assert only_rows <= set(mapped.values()), f"page rows that are no check and no check leads to: {only_rows}"
    shown = (set(rows) & CHECKS) | set(mapped) | special
    assert shown == CHECKS, f"checks the page cannot show: {CHECKS - shown}"
    assert not set(mapped) & set(rows), "a check with its own row is mapped onto another"


def _function_parameters(tree: ast.AST) -> dict[ast.AST, dict[str, str]]:
    """For every call node: the annotated parameters of the function it is in."""
    out: dict[ast.AST, dict[str, str]] = {}

    def visit(node: ast.AST, params: dict[str, str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            params = {**params, **{a.arg: ast.unparse(a.annotation) for a in args if a.annotation is not None}}
        if isinstance(node, ast.Call):
            out[node] = params
        for child in ast.iter_child_nodes(node):
            visit(child, params)

    visit(tree, {})
    return out


def test_every_raise_site_names_a_check():
    """``VerificationError``'s first argument is a ``Check`` member, or a parameter typed ``Check``
    (which mypy holds to the vocabulary): never a bare string."""
    offenders, used = [], set()
    for path, text in python_sources():
        tree = ast.parse(text)
        params = _function_parameters(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Check":
                used.add(node.attr)
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "VerificationError"):
                continue
            first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "check"), None)
            ok = (isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) and first.value.id == "Check"
                  and first.attr in Check.__members__) or (
                isinstance(first, ast.Name) and params[node].get(first.id) == "Check")
            if not ok:
                offenders.append(f"{path}:{node.lineno}: {ast.unparse(first) if first else '(no check)'}")
    assert offenders == []
    assert used - set(Check.__members__) == set()
    assert set(Check.__members__) - used == set(), "members no code raises"


def test_a_verification_error_prints_and_travels_as_before():
    exc = VerificationError(Check.ROOT_SUMS, "differ", 2, expected=[1], got=[2])
    assert str(exc) == "root-sums at level 2: differ"
    assert exc.check == "root-sums" and f"{exc.check}" == "root-sums"
    assert json.dumps({"check": exc.check}) == '{"check": "root-sums"}'
    back = pickle.loads(pickle.dumps(exc))
    assert back.check is Check.ROOT_SUMS and str(back) == str(exc)


STATUS_ENUMS = [
    (ratios.Status, {"OK": "ok", "UNDER": "under-100-percent", "LIABILITIES_ONLY": "liabilities-only",
                     "RESERVES_ONLY": "reserves-only", "NEITHER": "neither", "NET_DEBT": "net-debt"}, ratios),
    (compare.Status, {"MATCH": "match", "MISMATCH": "mismatch", "UNCHECKED": "unchecked", "ERROR": "error"}, compare),
    (ownership.Status, {"BOUND": "bound", "UNBOUND": "unbound", "INVALID": "invalid", "MISSING": "missing",
                        "UNSUPPORTED": "unsupported"}, ownership),
]


@pytest.mark.parametrize("enum, values, module", STATUS_ENUMS, ids=lambda v: getattr(v, "__module__", ""))
def test_statuses_keep_their_names_and_strings(enum, values, module):
    """The old constants are the members (importers keep working), with the old strings."""
    assert {m.name: m.value for m in enum} == values
    for name, value in values.items():
        assert getattr(module, name) is enum[name] and getattr(module, name) == value
    if hasattr(module, "STATUSES"):
        assert list(module.STATUSES) == list(enum)


ALL_MEMBERS = [m for enum, _, _ in STATUS_ENUMS for m in enum] + list(Check)


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=str)
def test_a_member_serialises_as_its_plain_string(member):
    plain = member.value
    assert type(plain) is str and type(str(member)) is str
    assert str(member) == f"{member}" == "%s" % member == "{}".format(member) == plain
    assert f"{member:>20}|{member:<20}" == f"{plain:>20}|{plain:<20}"
    doc, plain_doc = {"status": member, member: [member]}, {"status": plain, plain: [plain]}
    assert json.dumps(doc) == json.dumps(plain_doc)
    assert json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) == json.dumps(
        plain_doc, indent=2, sort_keys=True, ensure_ascii=False)
    assert rfc8785.dumps(doc) == rfc8785.dumps(plain_doc)
    array = pa.array([member, None])
    assert array.type == pa.string() and array.to_pylist() == [plain, None]
    assert type(array.to_pylist()[0]) is str

    def parquet(value: str) -> bytes:
        out = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([{"status": value}]), out)
        return out.getvalue()

    assert parquet(member) == parquet(plain)
    assert pickle.loads(pickle.dumps(member)) is member


def test_report_documents_hold_plain_strings():
    """A position's JSON (and the legacy mapping) holds the plain string, so a derived document is
    equal, and prints equal (recheck's messages show reprs), to one read back from its file."""
    positions = ratios.positions([{"symbol": "BTC", "decimals": 8}, {"symbol": "ETH", "decimals": 18}],
                                 [3, 0], {"BTC": 2, "ETH": 1})
    docs = [p.as_json() for p in positions]
    assert [d["status"] for d in docs] == ["under-100-percent", "reserves-only"]
    assert all(type(d["status"]) is str for d in docs)
    assert repr(docs) == repr(json.loads(json.dumps(docs)))
    assert positions[0].status is ratios.UNDER and ratios.STATUS_WORDS[positions[0].status] == ratios.STATUS_WORDS["under-100-percent"]
    assert all(type(v) is str for v in ratios.LEGACY_STATUS.values())
    assert ratios.LEGACY_STATUS["under-collateralised"] == ratios.UNDER
