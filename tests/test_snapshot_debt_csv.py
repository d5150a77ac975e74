"""Snapshots that carry debt, and CSV snapshots (schemas/snapshot.md): real files in tmp dirs, read
by the worker-side path (``read.read_fragment`` through the shuffle files into ``buckets.merge_part``)
and, for the roots, by a real build on a Dask cluster.

The same content as Parquet (integer or decimal columns) and as CSV, in any row order and any split
into files and fragments, gives the same users and amounts; every malformed or malicious file is
refused with its file, line (CSV) or row (Parquet) and column.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import unicodedata
from decimal import Decimal
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.formats import csv_snapshot
from pipeline.formats.columns import signed_amount_words
from pipeline.liabilities import read as read_module
from pipeline.liabilities import snapshot as snapshot_module
from pipeline.liabilities.buckets import merge_part
from pipeline.liabilities.read import ReadSpec, read_fragment, user_id_at
from pipeline.liabilities.rows import Part
from pipeline.liabilities.shuffle import read_part
from pipeline.liabilities.snapshot import CSV, LONG, PARQUET, WIDE, plan_snapshot
from pipeline.protocol.keys import SecretKey
from pipeline.storage.bundle import Bundle
from pipeline.testing.synth import PRICES, synth_prices, whole_units_text, write_synth
from tests.support.snapshots import EXACT, SECRET_HEX

ASSETS = {"BTC": 8, "ETH": 18}
ORDER = ("BTC", "ETH")  # protocol order
LIMIT = 1 << 128
KEY = SecretKey(bytes.fromhex(SECRET_HEX))


# ---------------------------------------------------------------------------------------------- helpers


def write_assets(d: str, assets: dict[str, int] = ASSETS) -> None:
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "assets.json"), "w") as f:
        json.dump(assets, f)


def write_bytes(path: str, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def csv_snap(d: str, text: str | bytes, name: str = "p.csv", assets: dict[str, int] = ASSETS) -> str:
    write_assets(d, assets)
    write_bytes(os.path.join(d, name), text.encode() if isinstance(text, str) else text)
    return d


def pq_snap(d: str, table: pa.Table, name: str = "p.parquet", assets: dict[str, int] = ASSETS) -> str:
    write_assets(d, assets)
    os.makedirs(d, exist_ok=True)
    pq.write_table(table, os.path.join(d, name), row_group_size=3)
    return d


def units_text(value: int, decimals: int) -> str:
    """Smallest units as the whole-unit text a CSV cell holds (trailing fraction zeros dropped)."""
    sign, value = ("-", -value) if value < 0 else ("", value)
    whole, frac = divmod(value, 10**decimals)
    digits = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    return sign + str(whole) + (f".{digits}" if digits else "")


def decimal_column(values: list[int], decimals: int, wide: bool = True) -> pa.Array:
    scaled = [Decimal(v).scaleb(-decimals, EXACT) for v in values]
    return pa.array(scaled, pa.decimal256(76, decimals) if wide else pa.decimal128(38, decimals))


def read_snapshot(url: str, equity_debt: bool = False, fragment_rows: int = 1 << 20, group_bits: int = 1) -> Any:
    """Plan ``url`` and read it as the build does, in this process: every fragment through
    ``read_fragment`` into shuffle files, every group merged by ``buckets.merge_part``. Returns
    ``(plan, uk, sums)`` with the users sorted by ``uk``, or ``(plan, problem_text)``."""
    plan = plan_snapshot(url, fragment_rows=fragment_rows)
    scratch_dir = os.path.join(os.path.dirname(url.rstrip("/")), f".scratch-{os.path.basename(url)}-{random.random()}")
    os.makedirs(scratch_dir)
    scratch = Bundle(fsspec.filesystem("file"), scratch_dir, scratch_dir, all_private=True)
    spec = ReadSpec(plan, "2026-11", KEY, group_bits, scratch, equity_debt=equity_debt)
    for i, fragment in enumerate(plan.fragments):
        result = read_fragment(fragment, i, spec)
        if result.problem is not None:
            return plan, result.problem.render()
    m = len(plan.assets) * (2 if equity_debt else 1)
    uks, sums = [], []
    for g in range(1 << group_bits):
        parts = [read_part(scratch, i, g, 0 if plan.layout == LONG else m) for i in range(len(plan.fragments))]
        prepared, problem = merge_part(Part.concat(parts), plan.layout, m, plan)
        if problem is not None:
            return plan, problem.render()
        uks.append(prepared.uk)
        sums.append(prepared.sums)
    return plan, np.concatenate(uks), np.concatenate(sums)


def as_ints(sums: np.ndarray) -> list[list[int]]:
    return [[(int(hi) << 64) | int(lo) for hi, lo in row] for row in sums.tolist()]


def problem(url: str, equity_debt: bool = False, **kw: Any) -> str:
    """The error reading ``url`` gives: from planning (``InputError``) or from reading."""
    try:
        out = read_snapshot(url, equity_debt, **kw)
    except InputError as exc:
        return str(exc)
    assert len(out) == 2, "expected the snapshot to be refused"
    return out[1]


def same(a: Any, b: Any) -> bool:
    return len(a) == 3 and len(b) == 3 and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])


def lanes(users: dict[str, dict[str, int]], equity_debt: bool) -> dict[str, list[int]]:
    """Expected lanes per user: ``users[id][symbol]`` signed smallest units."""
    out = {}
    for uid, held in users.items():
        row = []
        for s in ORDER:
            v = held.get(s, 0)
            row += [max(v, 0), max(-v, 0)] if equity_debt else [v]
        out[uid] = row
    return out


# ------------------------------------------------------------------ the same content, every way


AMOUNT = st.sampled_from([0, 0, 1, -1, (1 << 63) - 1, -(1 << 63), 1 << 64, -(1 << 64), LIMIT - 1, -(LIMIT - 1),
                          10**38 - 1, -(10**38 - 1)]) | st.integers(-(LIMIT - 1), LIMIT - 1)


@st.composite
def holdings(draw: st.DrawFn) -> dict[str, dict[str, int]]:
    n = draw(st.integers(1, 9))
    ids = draw(st.lists(st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1,
                                max_size=6), min_size=n, max_size=n, unique=True))
    ids = list(dict.fromkeys(unicodedata.normalize("NFC", i) for i in ids))  # valid ids, some with spaces and quotes
    return {uid: {"BTC": draw(AMOUNT), "ETH": draw(AMOUNT)} for uid in ids}


def csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text


def write_wide_files(d: str, users: dict[str, dict[str, int]], kind: str, rnd: random.Random, files: int,
                     crlf: bool = False) -> str:
    """``users`` as a wide snapshot of ``files`` files in a random row order: ``kind`` is ``csv``,
    ``int64`` (BTC as int64, where it fits), ``dec256`` or ``dec128`` (where it fits)."""
    write_assets(d)
    ids = list(users)
    rnd.shuffle(ids)
    cuts = sorted(rnd.randint(0, len(ids)) for _ in range(files - 1))
    for f, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(ids)], strict=True)):
        chunk = ids[a:b]
        if kind == "csv":
            end = "\r\n" if crlf else "\n"
            lines = ["user_id,BTC,ETH"] + [
                f"{csv_field(u)},{units_text(users[u]['BTC'], 8)},{units_text(users[u]['ETH'], 18)}" for u in chunk]
            write_bytes(os.path.join(d, f"f{f}.csv"), (end.join(lines) + end).encode())
            continue
        btc = [users[u]["BTC"] for u in chunk]
        eth = [users[u]["ETH"] for u in chunk]
        if kind == "int64":
            btc_col = pa.array(btc, pa.int64())
        else:
            btc_col = decimal_column(btc, 8, wide=kind == "dec256")
        table = pa.table({"user_id": pa.array(chunk, pa.string()), "BTC": btc_col,
                          "ETH": decimal_column(eth, 18, wide=True)})
        pq.write_table(table, os.path.join(d, f"f{f}.parquet"), row_group_size=2)
    return d


def fits(users: dict[str, dict[str, int]], kind: str) -> bool:
    if kind == "int64":
        return all(-(1 << 63) <= h["BTC"] < 1 << 63 for h in users.values())
    if kind == "dec128":
        return all(abs(h["BTC"]) < 10**38 for h in users.values())
    return True


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(holdings(), st.randoms(use_true_random=False), st.integers(1, 3), st.integers(1, 4))
def test_the_same_content_as_csv_and_as_parquet_gives_the_same_users_and_amounts(tmp_path_factory, users, rnd, files,
                                                                                 fragment_rows):
    d = str(tmp_path_factory.mktemp("same"))
    expected = lanes(users, equity_debt=True)
    results = {}
    for kind in ("csv", "int64", "dec256", "dec128"):
        if not fits(users, kind):
            continue
        url = write_wide_files(os.path.join(d, kind), users, kind, rnd, files, crlf=rnd.random() < 0.5)
        results[kind] = read_snapshot(url, equity_debt=True, fragment_rows=fragment_rows)
        assert len(results[kind]) == 3, results[kind][1]
    first = results["csv"]
    for kind, result in results.items():
        assert same(first, result), kind
    # and the amounts are the users' amounts, exactly: equity lane 2j, debt lane 2j + 1
    assert sorted(as_ints(first[2])) == sorted(expected.values())
    # without debt: the same snapshot with magnitudes only, one lane per asset, is read as before
    positive = {u: {s: abs(v) for s, v in h.items()} for u, h in users.items()}
    url = write_wide_files(os.path.join(d, "positive"), positive, "csv", rnd, files)
    plan, uk, sums = read_snapshot(url, equity_debt=False, fragment_rows=fragment_rows)
    assert sorted(as_ints(sums)) == sorted(lanes(positive, equity_debt=False).values())


def long_tables(users: dict[str, dict[str, int]], explicit: bool) -> tuple[pa.Table, str]:
    """``users`` in the long layout, as a Parquet table and as CSV text (every (user, asset) once; a
    user holding nothing gets a zero row)."""
    rows = []
    for uid, held in users.items():
        items = [(s, v) for s, v in held.items() if v] or [("BTC", 0)]
        rows += [(uid, s, v) for s, v in items]
    ids = [r[0] for r in rows]
    symbols = [r[1] for r in rows]
    values = [r[2] * 10 ** (18 - ASSETS[r[1]]) for r in rows]  # decimal(…, 18) whole units
    if explicit:
        table = pa.table({"user_id": ids, "asset": symbols,
                          "equity": decimal_column([max(v, 0) for v in values], 18),
                          "debt": decimal_column([max(-v, 0) for v in values], 18)})
        lines = ["user_id,asset,equity,debt"] + [
            f"{csv_field(u)},{s},{units_text(max(v, 0), ASSETS[s])},{units_text(max(-v, 0), ASSETS[s])}"
            for u, s, v in rows]
    else:
        table = pa.table({"user_id": ids, "asset": symbols, "amount": decimal_column(values, 18)})
        lines = ["user_id,asset,amount"] + [f"{csv_field(u)},{s},{units_text(v, ASSETS[s])}" for u, s, v in rows]
    return table, "\n".join(lines) + "\n"


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(holdings(), st.randoms(use_true_random=False), st.integers(1, 5))
def test_long_layouts_signed_or_explicit_give_what_the_wide_layout_gives(tmp_path_factory, users, rnd, fragment_rows):
    d = str(tmp_path_factory.mktemp("long"))
    wide = read_snapshot(write_wide_files(os.path.join(d, "wide"), users, "csv", rnd, 1), True, fragment_rows)
    for explicit in (False, True):
        table, text = long_tables(users, explicit)
        order = list(range(table.num_rows))
        rnd.shuffle(order)
        table = table.take(pa.array(order, pa.int64()))
        lines = text.splitlines()
        text = "\n".join([lines[0]] + [lines[1 + i] for i in order]) + "\n"
        name = "explicit" if explicit else "signed"
        for url in (pq_snap(os.path.join(d, name + "-pq"), table), csv_snap(os.path.join(d, name + "-csv"), text)):
            result = read_snapshot(url, True, fragment_rows)
            assert same(wide, result), (url, result[1] if len(result) == 2 else "")


def test_a_debt_column_and_a_negative_amount_are_the_same_debt(tmp_path):
    """``BTC: -5`` and ``BTC: 0, BTC:debt: 5`` are one content; a zero ``:debt`` column is no debt."""
    a = csv_snap(str(tmp_path / "a"), "user_id,BTC,ETH\nu,-0.00000005,1\nv,2,0\n")
    b = csv_snap(str(tmp_path / "b"), "user_id,BTC,ETH,BTC:debt\nu,0,1,0.00000005\nv,2,0,0\n")
    c = pq_snap(str(tmp_path / "c"), pa.table({"user_id": ["v", "u"], "BTC": pa.array([200000000, 0]),
                                                "BTC:debt": pa.array([0, 5], pa.uint64()),
                                                "ETH": decimal_column([0, 10**18], 18)}))
    results = [read_snapshot(u, equity_debt=True) for u in (a, b, c)]
    assert same(results[0], results[1]) and same(results[0], results[2])
    assert plan_snapshot(b).debt_columns == ("BTC:debt",) and plan_snapshot(a).debt_columns == ()
    assert plan_snapshot(c).debt_columns == ("BTC:debt",)
    # without por-v3 a zero debt column reads as no debt at all; a non-zero one is refused below
    zero = csv_snap(str(tmp_path / "zero"), "user_id,BTC,ETH,ETH:debt\nu,0,1,0\nv,2,0,0\n")
    plain = csv_snap(str(tmp_path / "plain"), "user_id,BTC,ETH\nu,0,1\nv,2,0\n")
    assert same(read_snapshot(zero), read_snapshot(plain))


def test_the_plan_says_which_columns_hold_debt(tmp_path):
    long_explicit = csv_snap(str(tmp_path / "l"), "user_id,asset,equity,debt\nu,BTC,1,0\nu,ETH,0,1\n")
    long_signed = csv_snap(str(tmp_path / "s"), "user_id,asset,amount\nu,BTC,1\nu,ETH,-1\n")
    wide = csv_snap(str(tmp_path / "w"), "user_id,ETH:debt,BTC,ETH,BTC:debt\nu,0,0,0,0\n")
    plans = [plan_snapshot(u) for u in (long_explicit, long_signed, wide)]
    assert [(p.layout, p.debt_columns, p.long_amounts) for p in plans] == [
        (LONG, ("debt",), False), (LONG, (), True), (WIDE, ("BTC:debt", "ETH:debt"), False)]
    assert {p.file_format for p in plans} == {CSV}
    assert plans[2].columns == ("user_id", "ETH:debt", "BTC", "ETH", "BTC:debt")


def test_a_long_user_asset_twice_is_a_duplicate_even_as_equity_once_and_debt_once(tmp_path):
    for name, text in [("signed", "user_id,asset,amount\nu,BTC,5\nv,ETH,1\nu,BTC,-3\n"),
                       ("explicit", "user_id,asset,equity,debt\nu,BTC,5,0\nv,ETH,1,0\nu,BTC,0,3\n")]:
        url = csv_snap(str(tmp_path / name), text)
        for equity_debt in (True, False):
            if name == "signed" and not equity_debt:
                continue  # refused earlier: the negative amount needs por-v3
            if name == "explicit" and not equity_debt:
                continue  # idem: the non-zero debt
            message = problem(url, equity_debt)
            assert "duplicate (user_id, asset) rows" in message and "'u'" in message, message
            assert "p.csv line 2" in message and "p.csv line 4" in message, message  # the file's own line numbers
    # distinct assets of one user are no duplicate
    ok = csv_snap(str(tmp_path / "ok"), "user_id,asset,amount\nu,BTC,5\nu,ETH,-3\n")
    plan, uk, sums = read_snapshot(ok, equity_debt=True)
    assert as_ints(sums) == [[500000000, 0, 0, 3 * 10**18]]


def test_a_csv_duplicate_user_is_named_by_its_id(tmp_path):
    url = csv_snap(str(tmp_path / "d"), '\ufeffuser_id,BTC,ETH\r\n"x,1",1,1\r\nbob,2,2\r\n"x,1",3,3', name="a.csv")
    message = problem(url)
    assert "1 duplicate user_id" in message and "'x,1'" in message and "a.csv line 2" in message and "a.csv line 4" in message, message


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 20])
def test_user_id_at_reads_every_row_of_a_csv_file(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(read_module, "CSV_CHUNK", chunk)
    ids = ["a", 'q"uo,te', "é", "x" * 40, "last"]
    body = "".join(f"{csv_field(u)},{i},0\r\n" for i, u in enumerate(ids[:-1])) + f"{ids[-1]},9,9"
    url = csv_snap(str(tmp_path / "u"), "\ufeffuser_id,BTC,ETH\r\n" + body)
    plan = plan_snapshot(url, fragment_rows=2)
    assert [user_id_at(plan, 0, r) for r in range(len(ids))] == ids
    with pytest.raises(IndexError):
        user_id_at(plan, 0, len(ids))


# ------------------------------------------------------------------------ fragments of CSV files


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(1, 30), min_size=0, max_size=40), st.integers(1, 9), st.booleans(),
       st.lists(st.integers(1, 50), min_size=1, max_size=10))
def test_row_counter_cuts_at_every_nth_line_end_whatever_the_chunks(lengths, every, newline_at_end, chunk_sizes):
    body = b"\n".join(b"x" * n for n in lengths) + (b"\n" if newline_at_end and lengths else b"")
    counter = csv_snapshot.RowCounter(every, 100)
    at, k = 0, 0
    while at < len(body):
        size = chunk_sizes[k % len(chunk_sizes)]
        counter.feed(body[at : at + size])
        at, k = at + size, k + 1
    counter.finish()
    assert counter.rows == len(lengths)
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + n + 1)
    expected = [100 + starts[i] for i in range(every, len(lengths), every)]
    assert counter.cuts == expected and counter.end == 100 + len(body)


def test_csv_fragments_are_whole_lines_and_every_split_reads_the_same(tmp_path):
    users = {f"u{i}": {"BTC": (i * 7919) % 1000 - 300, "ETH": i * 10**17} for i in range(23)}
    rnd = random.Random(3)
    url = write_wide_files(str(tmp_path / "s"), users, "csv", rnd, 1, crlf=True)
    reference = read_snapshot(url, True, fragment_rows=1 << 20)
    for fragment_rows in (1, 2, 5, 22, 23, 24):
        plan = plan_snapshot(url, fragment_rows=fragment_rows)
        data = open(plan.files[0], "rb").read()
        assert sum(f.rows for f in plan.fragments) == plan.total_rows == 23
        for f in plan.fragments:
            assert data[f.start - 1 : f.start] == b"\n" and (f.end == len(data) or data[f.end - 1 : f.end] == b"\n")
            assert data[f.start : f.end].count(b"\n") == f.rows
        assert [f.first_row for f in plan.fragments] == list(range(0, 23, fragment_rows))
        assert same(reference, read_snapshot(url, True, fragment_rows=fragment_rows))


# -------------------------------------------------------------------- the attacker's CSV files

# (name, file content, expected fragments of the error); equity_debt=True unless the name says v2
BAD_CSV = [
    ("amount 2^128", f"user_id,BTC,ETH\na,1,0\nb,{units_text(LIMIT, 8)},0\n",
     ["p.csv line 3", "'BTC'", "is not below 2^128 smallest units"]),
    ("amount -2^128", f"user_id,BTC,ETH\na,1,0\nb,0,{units_text(-LIMIT, 18)}\n",
     ["p.csv line 3", "'ETH'", "magnitude that is not below 2^128"]),
    ("100 digits", "user_id,BTC,ETH\na," + "9" * 100 + ",0\n", ["p.csv line 2", "'BTC'", "not below 2^128"]),
    ("fraction digits", "user_id,BTC,ETH\na,0.123456789,0\n",
     ["p.csv line 2", "'BTC'", "9 fractional digits, more than the asset's 8"]),
    ("trailing zeros count", "user_id,BTC,ETH\na,0.100000000,0\n", ["line 2", "'BTC'", "9 fractional digits"]),
    ("exponent", "user_id,BTC,ETH\na,1e3,0\n", ["p.csv line 2", "'BTC'", "'1e3'", "exponent notation"]),
    ("plus", "user_id,BTC,ETH\na,0,+1\n", ["p.csv line 2", "'ETH'", "leading '+'"]),
    ("empty cell", "user_id,BTC,ETH\na,,1\n", ["p.csv line 2", "'BTC'", "empty amount"]),
    ("space", "user_id,BTC,ETH\na, 1,1\n", ["p.csv line 2", "'BTC'", "spaces are not allowed"]),
    ("quoted space", 'user_id,BTC,ETH\na,"1 ",1\n', ["p.csv line 2", "'BTC'", "spaces are not allowed"]),
    ("arabic-indic digits", "user_id,BTC,ETH\na,\u0661\u0662,1\n", ["p.csv line 2", "'BTC'", "ASCII digits"]),
    ("fullwidth digit", "user_id,BTC,ETH\na,1,\uff11\n", ["p.csv line 2", "'ETH'", "ASCII digits"]),
    ("leading zero", "user_id,BTC,ETH\na,01,1\n", ["p.csv line 2", "'BTC'", "leading zeros"]),
    ("bare dot", "user_id,BTC,ETH\na,1.,1\n", ["p.csv line 2", "'BTC'", "not a decimal number"]),
    ("dot first", "user_id,BTC,ETH\na,.5,1\n", ["p.csv line 2", "'BTC'", "not a decimal number"]),
    ("double minus", "user_id,BTC,ETH\na,--1,1\n", ["p.csv line 2", "'BTC'", "not a decimal number"]),
    ("nan", "user_id,BTC,ETH\na,NaN,1\n", ["p.csv line 2", "'BTC'", "not a decimal number"]),
    ("NUL in id", "user_id,BTC,ETH\na,1,1\nb\x00c,1,1\n", ["p.csv line 3", "'user_id'", "NUL"]),
    ("control in id", "user_id,BTC,ETH\na\x07,1,1\n", ["p.csv line 2", "'user_id'", "control character U+0007"]),
    ("invisible id", "user_id,BTC,ETH\na\u200b,1,1\n", ["p.csv line 2", "'user_id'", "U+200B"]),
    ("BOM inside an id", "user_id,BTC,ETH\n\ufeffa,1,1\n", ["p.csv line 2", "'user_id'", "U+FEFF"]),
    ("empty id", "user_id,BTC,ETH\n,1,1\n", ["p.csv line 2", "'user_id'", "empty user_id"]),
    ("not UTF-8 id", b"user_id,BTC,ETH\na,1,1\n\xff\xfe,1,1\n", ["p.csv line 3", "'user_id'", "not valid UTF-8"]),
    ("quoted newline", 'user_id,BTC,ETH\na,1,1\n"b\nc",1,1\n', ["p.csv line 3", "quoted field does not end on its line"]),
    ("quoted CRLF", 'user_id,BTC,ETH\n"b\r\nc",1,1\n', ["p.csv line 2", "quoted field does not end on its line"]),
    ("stray quote", 'user_id,BTC,ETH\na"b,1,1\n', ["p.csv line 2", "malformed quoting"]),
    ("text after a quote", 'user_id,BTC,ETH\n"a"b,1,1\n', ["p.csv line 2", "malformed quoting"]),
    ("lone CR", "user_id,BTC,ETH\na,1,1\rb,1,1\n", ["p.csv line 2", "carriage return inside the line"]),
    ("blank line", "user_id,BTC,ETH\na,1,1\n\nb,1,1\n", ["p.csv line 3", "blank line"]),
    ("blank CRLF line", "user_id,BTC,ETH\r\na,1,1\r\n\r\nb,1,1\r\n", ["p.csv line 3", "blank line"]),
    ("blank last line", "user_id,BTC,ETH\na,1,1\n\n", ["p.csv line 3", "blank line"]),
    ("extra field", "user_id,BTC,ETH\na,1,1\nb,1,1,1\n", ["p.csv line 3", "4 fields, but the header has 3"]),
    ("missing field", "user_id,BTC,ETH\na,1\n", ["p.csv line 2", "2 fields, but the header has 3"]),
    ("duplicated column", "user_id,BTC,ETH,BTC\na,1,1,1\n", ["p.csv line 1", "'BTC' appears twice"]),
    ("missing column", "user_id,BTC\na,1\n", ["p.csv", "['ETH']", "no column"]),
    ("extra column", "user_id,BTC,ETH,DOGE\na,1,1,1\n", ["p.csv", "['DOGE']", "not declared"]),
    ("padded column name", "user_id,BTC, ETH\na,1,1\n", ["p.csv", "[' ETH']", "not declared"]),
    ("no user_id", "id,BTC,ETH\na,1,1\n", ["p.csv", "no 'user_id' column"]),
    ("empty file", "", ["p.csv", "empty file"]),
    ("only a BOM", "\ufeff", ["p.csv", "empty file"]),
    ("header only", "user_id,BTC,ETH\n", ["no rows", "empty snapshot"]),
    ("bad header quoting", 'user_id,"BTC,ETH\na,1,1\n', ["p.csv line 1", "quote"]),
    ("debt column of an undeclared asset", "user_id,BTC,ETH,DOGE:debt\na,1,1,1\n",
     ["p.csv", "['DOGE:debt']", "no asset declared"]),
    ("negative debt column", "user_id,BTC,ETH,BTC:debt\na,1,1,0\nb,0,0,-1\n",
     ["p.csv line 3", "'BTC:debt'", "negative amount -1 in a debt column"]),
    ("negative equity beside a debt column", "user_id,BTC,ETH,ETH:debt\na,1,-1,1\n",
     ["p.csv line 2", "'ETH'", "negative amount -1", "one representation of debt per asset"]),
    ("long undeclared asset", "user_id,asset,amount\na,BTC,1\na,DOGE,1\n",
     ["p.csv line 3", "'asset'", "'DOGE' is not declared"]),
    ("long asset not UTF-8", b"user_id,asset,amount\na,BTC,1\na,\xffTC,1\n", ["p.csv line 3", "'asset'", "not declared"]),
    ("long negative equity", "user_id,asset,equity,debt\na,BTC,1,0\na,ETH,-1,0\n",
     ["p.csv line 3", "'equity'", "negative amount -1", "non-negative"]),
    ("long negative debt", "user_id,asset,equity,debt\na,BTC,1,-2\n", ["p.csv line 2", "'debt'", "negative amount -2"]),
    ("long bad amount", "user_id,asset,amount\na,BTC,1\na,ETH,0x10\n", ["p.csv line 3", "'amount'", "not a decimal"]),
    ("long fraction digits per asset", "user_id,asset,amount\na,ETH,0.000000000000000001\na,BTC,0.000000001\n",
     ["p.csv line 3", "'amount'", "more than the asset's 8"]),
    # without por-v3 every debt is refused where it is
    ("v2 negative", "user_id,BTC,ETH\na,1,1\nb,-1.5,1\n",
     ["p.csv line 3", "'BTC'", "negative amount -1.5", "debt needs protocol por-v3"]),
    ("v2 debt column", "user_id,BTC,ETH,ETH:debt\na,1,1,0\nb,1,1,0.25\n",
     ["p.csv line 3", "'ETH:debt'", "debt 0.25", "debt needs protocol por-v3"]),
    ("v2 long negative", "user_id,asset,amount\na,BTC,1\na,ETH,-2\n",
     ["p.csv line 3", "'amount'", "negative amount -2", "por-v3"]),
    ("v2 long debt", "user_id,asset,equity,debt\na,BTC,1,0\na,ETH,0,2\n",
     ["p.csv line 3", "'debt'", "debt 2", "por-v3"]),
]


@pytest.mark.parametrize("name, content, expected", BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_a_malformed_or_malicious_csv_file_is_refused_naming_file_line_and_column(tmp_path, name, content, expected):
    url = csv_snap(str(tmp_path / "snap"), content)
    message = problem(url, equity_debt=not name.startswith("v2"), fragment_rows=1)
    for fragment in expected:
        assert fragment in message, (fragment, message)


GOOD_CSV = [
    ("BOM", "\ufeffuser_id,BTC,ETH\na,1,-2\nb,0.5,0\n"),
    ("CRLF", "user_id,BTC,ETH\r\na,1,-2\r\nb,0.5,0\r\n"),
    ("no newline at the end", "user_id,BTC,ETH\na,1,-2\nb,0.5,0"),
    ("BOM, CRLF, no newline at the end", "\ufeffuser_id,BTC,ETH\r\na,1,-2\r\nb,0.5,0"),
    ("columns in another order", "ETH,user_id,BTC\n-2,a,1\n0,b,0.5\n"),
    ("quoted cells", '"user_id","BTC","ETH"\n"a","1","-2"\n"b","0.50000000","-0"\n'),
    ("trailing zeros within the decimals", "user_id,BTC,ETH\na,1.00000000,-2.000000000000000000\nb,0.50,0.0\n"),
    ("debt columns", "user_id,BTC,ETH,ETH:debt\na,1,0,2\nb,0.5,0,0\n"),
]


@pytest.mark.parametrize("name, content", GOOD_CSV, ids=[c[0] for c in GOOD_CSV])
def test_bom_crlf_and_a_last_line_without_newline_read_the_same(tmp_path, name, content):
    reference = read_snapshot(csv_snap(str(tmp_path / "ref"), "user_id,BTC,ETH\na,1,-2\nb,0.5,0\n"), True)
    for fragment_rows in (1, 2, 3):
        result = read_snapshot(csv_snap(str(tmp_path / f"s{fragment_rows}"), content), True, fragment_rows)
        assert same(reference, result), (name, result[1] if len(result) == 2 else "")
    assert as_ints(reference[2]) in ([[100000000, 0, 0, 2 * 10**18], [50000000, 0, 0, 0]],
                                     [[50000000, 0, 0, 0], [100000000, 0, 0, 2 * 10**18]])


def test_boundary_amounts_are_exact(tmp_path):
    top = LIMIT - 1
    url = csv_snap(str(tmp_path / "b"), f"user_id,BTC,ETH\na,{units_text(top, 8)},{units_text(-top, 18)}\n"
                                        f"b,{units_text(-(1 << 63), 8)},{units_text(1, 18)}\n")
    plan, uk, sums = read_snapshot(url, True)
    assert sorted(as_ints(sums)) == sorted([[top, 0, 0, top], [0, 1 << 63, 1, 0]])


# ----------------------------------------------------------------- the attacker's Parquet files


def test_parquet_negative_magnitudes_are_exact_at_every_width(tmp_path):
    int64_min = -(1 << 63)
    columns = {
        "int8": pa.array([-128, 5], pa.int8()), "int32": pa.array([-(1 << 31), 0], pa.int32()),
        "int64": pa.array([int64_min, (1 << 63) - 1], pa.int64()),
        "dec128": decimal_column([-(10**38 - 1), 10**38 - 1], 8, wide=False),
        "dec256": decimal_column([-(LIMIT - 1), LIMIT - 1], 8),
        "dec128 scale 2": pa.array([Decimal("-1.5"), Decimal("0.01")], pa.decimal128(10, 2)),
    }
    expected = {"int8": [128, 5], "int32": [1 << 31, 0], "int64": [1 << 63, (1 << 63) - 1],
                "dec128": [10**38 - 1, 10**38 - 1], "dec256": [LIMIT - 1, LIMIT - 1], "dec128 scale 2": [150000000, 1000000]}
    for kind, column in columns.items():
        url = pq_snap(str(tmp_path / kind.replace(" ", "")), pa.table({
            "user_id": ["neg", "pos"], "BTC": column, "ETH": pa.array([0, 0], pa.int64())}))
        plan, uk, sums = read_snapshot(url, True)
        got = {row[1] or row[0] for row in as_ints(sums)}
        assert got == set(expected[kind]), kind
        message = problem(url, equity_debt=False)
        assert "row 0" in message and "'BTC'" in message and "debt needs protocol por-v3" in message, message


BAD_PARQUET = [
    ("-2^128", {"BTC": decimal_column([-LIMIT], 8)}, ["row 0", "'BTC'", "magnitude that is not below 2^128"]),
    ("2^128", {"BTC": decimal_column([LIMIT], 8)}, ["row 0", "'BTC'", "is not below 2^128"]),
    ("-2^128 rescaled", {"BTC": pa.array([Decimal(-LIMIT).scaleb(-2)], pa.decimal256(76, 2))},
     ["'BTC'", "magnitude that is not below 2^128"]),
    ("negative debt column", {"BTC:debt": pa.array([-1], pa.int64())}, ["'BTC:debt'", "negative amount -1 in a debt column"]),
    ("negative equity beside a debt column", {"BTC": pa.array([-1], pa.int64()), "BTC:debt": pa.array([1], pa.int64())},
     ["'BTC'", "one representation"]),
    ("float debt column", {"BTC:debt": pa.array([1.0])}, ["'BTC:debt'", "floating-point"]),
    ("debt column of an undeclared asset", {"XRP:debt": pa.array([1], pa.int64())}, ["['XRP:debt']", "no asset declared"]),
    ("v2 negative", {"BTC": pa.array([-7], pa.int64())}, ["p.parquet", "row 0", "'BTC'", "negative amount -7", "por-v3"]),
    ("v2 debt column", {"BTC:debt": pa.array([7], pa.int64())}, ["row 0", "'BTC:debt'", "debt 7", "por-v3"]),
    ("v2 decimal negative", {"ETH": decimal_column([-10**17], 18, wide=False)}, ["'ETH'", "negative amount -0.1", "por-v3"]),
]


@pytest.mark.parametrize("name, columns, expected", BAD_PARQUET, ids=[c[0] for c in BAD_PARQUET])
def test_a_malicious_parquet_file_is_refused_naming_file_row_and_column(tmp_path, name, columns, expected):
    base = {"user_id": pa.array(["a"]), "BTC": pa.array([0], pa.int64()), "ETH": pa.array([0], pa.int64())}
    url = pq_snap(str(tmp_path / "snap"), pa.table({**base, **columns}))
    message = problem(url, equity_debt=not name.startswith("v2"))
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_a_snapshot_is_all_parquet_or_all_csv_and_no_file_is_skipped(tmp_path):
    d = str(tmp_path / "mixed")
    csv_snap(d, "user_id,BTC,ETH\na,1,1\n", name="a.csv")
    pq_snap(d, pa.table({"user_id": ["b"], "BTC": [1], "ETH": [1]}), name="b.parquet")
    with pytest.raises(InputError, match=r"mixes Parquet and CSV files \(e.g. b.parquet, a.csv\)"):
        plan_snapshot(d)
    d = csv_snap(str(tmp_path / "other"), "user_id,BTC,ETH\na,1,1\n")
    for name in ("x.CSV", "y.tsv", "z.csv.gz"):
        write_bytes(os.path.join(d, name), b"user_id,BTC,ETH\nq,1,1\n")
    with pytest.raises(InputError, match=r"neither \*.parquet or \*.csv data nor hidden: \['x.CSV', 'y.tsv', 'z.csv.gz'\]"):
        plan_snapshot(d)
    one = write_bytes(str(tmp_path / "single" / "snap.txt"), b"user_id,BTC,ETH\n")
    with pytest.raises(InputError, match=r"not a \*.parquet or \*.csv file"):
        plan_snapshot(one)
    d = csv_snap(str(tmp_path / "hidden"), "user_id,BTC,ETH\na,1,1\n")
    write_bytes(os.path.join(d, "_SUCCESS"), b"")
    write_bytes(os.path.join(d, "sub", "b.csv"), b"user_id,BTC,ETH\nb,2,2\n")
    plan = plan_snapshot(d)
    assert plan.ignored == ("_SUCCESS",) and len(plan.files) == 2 and plan.total_rows == 2


def test_csv_headers_must_agree_across_files(tmp_path):
    d = csv_snap(str(tmp_path / "h"), "user_id,BTC,ETH\na,1,1\n", name="a.csv")
    write_bytes(os.path.join(d, "b.csv"), b"user_id,BTC,ETH,ETH:debt\nb,1,1,0\n")
    with pytest.raises(InputError, match=r"headers disagree: .*b.csv and .*a.csv differ in columns \(ETH:debt\)"):
        plan_snapshot(d)
    # the same columns in another order agree
    write_bytes(os.path.join(d, "b.csv"), b"ETH,user_id,BTC\n1,b,1\n")
    assert plan_snapshot(d).total_rows == 2


def test_a_single_csv_file_with_assets_json_beside_it(tmp_path):
    d = str(tmp_path / "one")
    url = write_bytes(os.path.join(d, "snap.csv"), b"user_id,BTC,ETH\na,1,1\n")
    write_assets(d)
    plan, uk, sums = read_snapshot(url)
    assert as_ints(sums) == [[100000000, 10**18]]


# ------------------------------------------------------------------------------------------ synth


def content_digest(root: str) -> str:
    """The content of a synthetic snapshot directory, independent of the Parquet writer's version."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(root)):
        h.update(name.encode() + b"\0")
        path = os.path.join(root, name)
        if name.endswith(".parquet"):
            t = pq.read_table(path)
            h.update(repr([(f.name, str(f.type)) for f in t.schema]).encode())
            h.update(repr(t.to_pylist()).encode())
        else:
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


@pytest.mark.parametrize("layout, digest", [
    ("wide", "085fc00f5c36329c778f7a33e5052f2fdc7ee53b71db749fd6ab45a4aa8ad6e3"),
    ("long", "5b582f970642e75a52efa11e033c2da3a4a73e75cb0853842c7817b7b7e1601b"),
])
def test_synth_without_debt_writes_what_it_wrote_before_debt_existed(tmp_path, layout, digest):
    """Digests of the synth of 3000 users, 5 assets, 2 files, seed 4, taken before debt and CSV existed."""
    write_synth(str(tmp_path / "s"), 3000, asset_count=5, files=2, seed=4, layout=layout)
    assert content_digest(str(tmp_path / "s")) == digest
    write_synth(str(tmp_path / "t"), 3000, asset_count=5, files=2, seed=4, layout=layout, debt_per_mille=0)
    assert content_digest(str(tmp_path / "t")) == digest


def _signed_table(root: str) -> dict[str, dict[str, int]]:
    """Every user's signed amounts (smallest units) in a synthetic Parquet snapshot, wide layout."""
    plan = plan_snapshot(root)
    out: dict[str, dict[str, int]] = {}
    for index in range(len(plan.files)):
        table = read_module.whole_file(plan, index)
        ids = table.column("user_id").to_pylist()
        for a in plan.assets:
            lo, hi, neg = signed_amount_words(read_module.amount_array(plan, table.column(a.symbol).combine_chunks(),
                                                                       a.decimals), a.decimals)
            for uid, low, high, n in zip(ids, lo.tolist(), hi.tolist(), neg.tolist(), strict=True):
                v = (high << 64) | low
                out.setdefault(uid if isinstance(uid, str) else uid.decode(), {})[a.symbol] = -v if n else v
    return out


def test_synth_debt_is_a_share_of_users_well_covered_by_another_asset(tmp_path):
    """About ``debt_per_mille`` users owe one asset they do not hold, worth at most a tenth of their
    most valuable holding at the synthetic prices and at every month's prices: a per-user collateral
    check passes with haircuts of 0.5 and of 0.9."""
    from pipeline.testing.synth import synth_assets

    write_synth(str(tmp_path / "s"), 20_000, asset_count=6, files=2, seed=9, debt_per_mille=50)
    users = _signed_table(str(tmp_path / "s"))
    decimals = {a.symbol: a.decimals for a in synth_assets(6)}
    debtors = {u: h for u, h in users.items() if any(v < 0 for v in h.values())}
    assert 0.035 < len(debtors) / len(users) < 0.065  # about 50 in 1000
    price_sets = [PRICES] + [synth_prices(synth_assets(6), p)["prices"] for p in ("2026-01", "2026-06", "2027-03")]
    for uid, held in debtors.items():
        debts = [s for s, v in held.items() if v < 0]
        assert len(debts) == 1, held  # one asset, which the user does not hold
        for prices in price_sets:
            def worth(symbol: str, units: int, prices: dict[str, str] = prices) -> Decimal:
                return Decimal(prices[symbol]) * Decimal(units).scaleb(-decimals[symbol])
            collateral = max(worth(s, v) for s, v in held.items() if v > 0)
            debt = worth(debts[0], -held[debts[0]])
            for haircut in (Decimal("0.5"), Decimal("0.9")):
                assert debt <= collateral * (1 - haircut) and debt <= collateral * haircut, (uid, held)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_synth_csv_is_the_same_content_as_synth_parquet(tmp_path, layout):
    for debt in (0, 80):
        p = str(tmp_path / f"p{debt}")
        c = str(tmp_path / f"c{debt}")
        write_synth(p, 2_000, asset_count=5, files=3, seed=6, layout=layout, debt_per_mille=debt)
        write_synth(c, 2_000, asset_count=5, files=2, seed=6, layout=layout, debt_per_mille=debt, file_format="csv")
        assert plan_snapshot(c).file_format == CSV and plan_snapshot(p).file_format == PARQUET
        assert sorted(os.listdir(c)) == ["assets.json", "part-00000.csv", "part-00001.csv"]
        a, b = read_snapshot(p, True, 700), read_snapshot(c, True, 500)
        assert same(a, b)
        assert bool((a[2][:, 1::2] != 0).any()) == bool(debt)
        if not debt:
            assert same(read_snapshot(p, False, 700), read_snapshot(c, False, 300))
        with open(os.path.join(c, "part-00000.csv")) as f:
            header = f.readline()
        assert header == ("user_id,BTC,ETH,USDT,USDC,BNB\n" if layout == "wide" else "user_id,asset,amount\n")


def test_synth_snapshot_totals_count_equity_only_whatever_the_format(tmp_path):
    from pipeline.testing.synth import snapshot_totals
    write_synth(str(tmp_path / "p"), 3_000, asset_count=4, seed=1, debt_per_mille=100)
    write_synth(str(tmp_path / "c"), 3_000, asset_count=4, seed=1, debt_per_mille=100, file_format="csv")
    users = _signed_table(str(tmp_path / "p"))
    expected = {s: sum(max(h[s], 0) for h in users.values()) for s in ("BTC", "ETH", "USDT", "USDC")}
    assert snapshot_totals(str(tmp_path / "p")) == snapshot_totals(str(tmp_path / "c")) == expected


def test_synth_refuses_debt_without_a_second_asset_and_unknown_formats(tmp_path):
    with pytest.raises(InputError, match="at least 2 assets"):
        write_synth(str(tmp_path / "a"), 10, asset_count=1, debt_per_mille=10)
    with pytest.raises(InputError, match="'parquet' or 'csv'"):
        write_synth(str(tmp_path / "b"), 10, file_format="xlsx")


def test_whole_units_text_is_exact():
    values = [0, 1, -1, 10**8, -(10**8) - 1, (1 << 64) - 1, 1 << 64, -(LIMIT - 1), 123456789012345678901234567890]
    for decimals in (0, 6, 8, 18, 19, 20, 38):
        lo = np.array([abs(v) & ((1 << 64) - 1) for v in values], np.uint64)
        hi = np.array([abs(v) >> 64 for v in values], np.uint64)
        negative = np.array([v < 0 for v in values])
        assert whole_units_text(lo, hi, negative, decimals).to_pylist() == [units_text(v, decimals) for v in values]


def test_synth_cli_writes_csv_with_debt(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "s"), "--users", "400", "--assets", "3",
                                      "--format", "csv", "--debt-per-mille", "100", "--files", "2"])
    assert result.exit_code == 0, result.output
    assert "csv, 100/1000 with debt" in result.output
    assert sorted(os.listdir(tmp_path / "s")) == ["assets.json", "part-00000.csv", "part-00001.csv"]
    assert "-" in (tmp_path / "s" / "part-00000.csv").read_text()
    bad = CliRunner().invoke(app, ["synth", str(tmp_path / "t"), "--users", "4", "--format", "xml"])
    assert bad.exit_code == 2


# -------------------------------------------------------------------- a real build on a cluster


@pytest.mark.integration
def test_a_csv_snapshot_and_a_parquet_snapshot_of_one_content_build_the_same_root(tmp_path, client2):
    from pipeline.liabilities.build import build_bundle

    write_synth(str(tmp_path / "p"), 3_000, asset_count=4, files=3, seed=7)
    write_synth(str(tmp_path / "c"), 3_000, asset_count=4, files=2, seed=7, file_format="csv")
    # a hand-made CSV with a BOM, CRLF, quoted ids and no final newline, beside its Parquet twin
    rows = [("a,1", 5, 10**18), ('b"2', 0, 0), ("c", 123456789, 1)]
    write_assets(str(tmp_path / "hp"))
    pq.write_table(pa.table({"user_id": [r[0] for r in reversed(rows)],
                             "BTC": pa.array([r[1] for r in reversed(rows)], pa.int64()),
                             "ETH": decimal_column([r[2] for r in reversed(rows)], 18)}), str(tmp_path / "hp" / "x.parquet"))
    csv_snap(str(tmp_path / "hc"), "\ufeffuser_id,ETH,BTC\r\n" + "\r\n".join(
        f"{csv_field(u)},{units_text(e, 18)},{units_text(b, 8)}" for u, b, e in rows))
    roots = {}
    for name in ("p", "c", "hp", "hc"):
        plan = plan_snapshot(str(tmp_path / name), fragment_rows=1000 if name in ("p", "c") else 1)
        result = build_bundle(client2, plan, "2026-11", KEY, str(tmp_path / f"out-{name}"), protocol="por-v2",
                              verifier_page=False)
        roots[name] = result.manifest["root"]
    assert roots["p"] == roots["c"] and roots["hp"] == roots["hc"]


@pytest.mark.integration
def test_a_por_v2_build_refuses_csv_debt_and_names_a_duplicate(tmp_path, client2):
    from pipeline.errors import BadInputData
    from pipeline.liabilities.build import build_bundle

    debt = csv_snap(str(tmp_path / "debt"), "user_id,BTC,ETH\na,1,1\nb,1,-0.5\n")
    with pytest.raises(BadInputData, match=r"p.csv line 3: column 'ETH': negative amount -0.5: debt needs protocol por-v3"):
        build_bundle(client2, plan_snapshot(debt), "2026-11", KEY, str(tmp_path / "o1"), protocol="por-v2",
                     verifier_page=False)
    dup = csv_snap(str(tmp_path / "dup"), "user_id,BTC,ETH\nzed,1,1\nb,1,1\nzed,2,2\n")
    with pytest.raises(BadInputData, match=r"1 duplicate user_id; e.g. 'zed' \(.*p.csv line 2 and .*p.csv line 4\)"):
        build_bundle(client2, plan_snapshot(dup, fragment_rows=1), "2026-11", KEY, str(tmp_path / "o2"),
                     protocol="por-v2", verifier_page=False)
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_snapshot_module_reads_csv_in_chunks(tmp_path, monkeypatch):
    """Planning scans a CSV file chunk by chunk: tiny chunks cut the same fragments."""
    users = {f"u{i}": {"BTC": i, "ETH": -i} for i in range(17)}
    url = write_wide_files(str(tmp_path / "s"), users, "csv", random.Random(1), 1)
    whole = plan_snapshot(url, fragment_rows=4).fragments
    monkeypatch.setattr(snapshot_module, "CSV_CHUNK", 3)
    assert plan_snapshot(url, fragment_rows=4).fragments == whole


def test_a_csv_file_that_changes_after_planning_or_has_a_huge_header_is_refused(tmp_path):
    url = csv_snap(str(tmp_path / "c"), "user_id,BTC,ETH\na,1,1\nb,2,2\n")
    plan = plan_snapshot(url)
    write_bytes(plan.files[0], b"user_id,BTC,ETH\na,1,1\nb,2,2\nc,3,3\n")
    scratch = Bundle(fsspec.filesystem("file"), str(tmp_path / "s"), "s", all_private=True)
    result = read_fragment(plan.fragments[0], 0, ReadSpec(plan, "2026-11", KEY, 0, scratch))
    assert result.problem is not None and "the file changed" in result.problem.render()
    long_name = "x" * (csv_snapshot.MAX_HEADER_BYTES + 10)
    huge = csv_snap(str(tmp_path / "h"), f"user_id,BTC,ETH,{long_name}\na,1,1,1\n")
    with pytest.raises(InputError, match=r"p.csv line 1: the header line does not end within 1048576 bytes"):
        plan_snapshot(huge)
