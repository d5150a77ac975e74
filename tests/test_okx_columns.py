"""The published CSV layout (``--format okx-csv``) verified by spans on the workers: the client reads
the file's head and cuts the address rows into byte spans between records (``plan_okx_csv``), each
worker reads and checks its span. Against the row-by-row reading it replaced (``read_okx_csv``, the
whole file on the client, then ``totals_disagreements`` and ``okx_declared``), on generated files with
every awkward thing a file can hold (quoted fields with commas, quotes and new lines, CRLF line ends,
a byte order mark, the ``type`` column) and every fault the reading refuses (a blank line, a wrong
number of fields, an empty coin, a bad amount or height, a height other than the coin's, bytes that
are not UTF-8, a totals height that is not a block number): the same records, totals disagreements
and held heights, or the same refusal, whatever the span size; tasks carry no rows."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import pickle
import random

import pytest
from coincurve import PrivateKey

from jobs.bench_reserves import CHALLENGE
from pipeline.errors import InputError
from pipeline.mapping import local_mapper
from pipeline.reserves import ownership as own
from pipeline.reserves.heights import okx_declared
from pipeline.reserves.okx_csv import ADDRESS_HEADER, TOTALS_HEADER, read_okx_csv, totals_disagreements
from pipeline.testing import sign


def _key(n: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(f"okx-columns-{n}".encode()).digest())


AWKWARD = ['Proof, "quoted"\nsecond line', "caf\u00e9 \u2713", "a,b", '"', "", "x\r\ny"]


def _file(rng: random.Random, fault: str | None) -> bytes:
    """A layout file of a few coins and rows; ``fault`` ways of getting it wrong, comma-separated (None: none)."""
    faults = set(fault.split(",")) if fault else set()
    typed = rng.random() < 0.3
    coins = {"BTC": "bitcoin", "ETH": "ethereum", "USDT-ERC20": "ethereum", "XLM": "stellar"}
    heights = {c: str(800_000 + k) for k, c in enumerate(coins)}
    if "conflict" not in faults:  # else every coin has a height, so the row given another one conflicts
        heights["XLM"] = "-"
    rows = []
    for _ in range(rng.randint(1, 12)):
        coin = rng.choice(list(coins))
        k = _key(rng.randrange(6))
        address = sign.evm_address(k) if coins[coin] == "ethereum" else f"addr-{rng.randrange(4)}"
        message = rng.choice(["", "", CHALLENGE, rng.choice(AWKWARD)])
        signature = sign.sign_evm(k, message or CHALLENGE) if coins[coin] == "ethereum" and rng.random() < 0.7 else \
            rng.choice(["", "not-a-signature"])
        height = rng.choice(["", heights[coin] if heights[coin] != "-" else "", "7"]) if coin == "XLM" else \
            rng.choice(["", heights[coin]])
        amount = f"{rng.randrange(10**6)}.{rng.randrange(10**4):04d}"
        rows.append([coin] + (["cold"] if typed else []) + [coins[coin], height, address, amount, message, signature,
                                                              "", rng.choice(["", "ab"]), "", ""])
    sums: dict[str, int] = {}
    for r in rows:
        a = r[5 if typed else 4]
        whole, frac = a.split(".")
        sums[r[0]] = sums.get(r[0], 0) + int(whole) * 10**4 + int(frac)
    out = io.StringIO()
    w = csv.writer(out, lineterminator=rng.choice(["\n", "\r\n"]))
    w.writerow(TOTALS_HEADER)
    for coin in sorted(sums):
        total = sums[coin] + (1 if "disagree" in faults and coin == rows[0][0] else 0)
        w.writerow([coin, "12x" if "totals height" in faults else heights[coin], f"{total // 10**4}.{total % 10**4:04d}"])
    w.writerow([])
    w.writerow(ADDRESS_HEADER[:1] + (["type"] if typed else []) + ADDRESS_HEADER[1:] + (["extra"] if "header" in faults else []))
    at, other = rng.randrange(len(rows)), rng.randrange(len(rows))
    for n, r in enumerate(rows):
        if n == at and "fields" in faults:
            r = r[:-1]
        if n == at and "coin" in faults:
            r = [" "] + r[1:]
        if n == at and "amount" in faults:
            r = r[:5 if typed else 4] + ["1e5"] + r[6 if typed else 5:]
        if n == at and "height" in faults:
            r = r[:3 if typed else 2] + ["12a"] + r[4 if typed else 3:]
        if n == other and "conflict" in faults:  # another row (maybe before): the row that does not read still comes first
            r = r[:3 if typed else 2] + ["5"] + r[4 if typed else 3:]
        if n == at and "blank" in faults:
            w.writerow([])
        w.writerow(r)
    data = out.getvalue().encode("utf-8")
    if "csv" in faults:  # a carriage return inside an unquoted field: the csv module cannot read the record
        data += b"BTC," + (b"cold," if typed else b"") + b"bitcoin,,a\rb,1,,,,,,\n"
    if rng.random() < 0.3:
        data = b"\xef\xbb\xbf" + data
    if "utf8" in faults:
        cut = rng.randrange(len(data) // 2, len(data))
        data = data[:cut] + b"\xff" + data[cut:]
    return data


def _reference(url: str) -> tuple[object, ...]:
    """What the row-by-row reading gave: the records, totals disagreements and held heights, or the refusal."""
    try:
        with open(url, "rb") as f:
            okx = read_okx_csv(f.read(), url)
        disagreements = totals_disagreements(okx)
        for r, h in zip(okx.rows, okx_declared(okx.totals, okx.rows, url), strict=True):
            r["height"] = h
    except InputError as exc:
        return ("refused", str(exc))
    table = own._okx_chunk(okx.rows, CHALLENGE, True) if okx.rows else own._empty(True)
    result = own._settle(local_mapper, table, table.column("height"), disagreements, (), None, True, [], None,
                         "the rows", url, {})
    return ("verified", result.records, result.totals_disagreements, result.table.column("height").to_pylist())


def _columns(url: str, chunk_rows: int | None, mapper=local_mapper) -> tuple[object, ...]:
    try:
        result = own.verify_reserves(mapper, url, CHALLENGE, "okx-csv", chunk_rows=chunk_rows)
    except InputError as exc:
        return ("refused", str(exc))
    return ("verified", result.records, result.totals_disagreements, result.table.column("height").to_pylist())


FAULTS = [None, None, None, "disagree", "fields", "coin", "amount", "height", "conflict", "blank", "utf8",
          "totals height", "totals height,fields", "conflict,amount", "utf8,coin", "totals height,conflict", "csv",
          "header", "header,csv", "csv,fields"]
"""Each way of getting the file wrong, and some together: which refusal comes first is the old reading's."""


@pytest.mark.parametrize("seed", range(95))
def test_spans_on_the_workers_read_and_refuse_as_the_whole_file_did(tmp_path, seed):
    rng = random.Random(seed)
    fault = FAULTS[seed % len(FAULTS)]
    url = str(tmp_path / "reserves.csv")
    with open(url, "wb") as f:
        f.write(_file(rng, fault))
    want = _reference(url)
    if fault not in (None, "disagree"):
        assert want[0] == "refused", (fault, want)
    for chunk_rows in (1, 2, 5, None):
        assert _columns(url, chunk_rows) == want, (fault, chunk_rows)


def test_a_csv_layout_on_the_cluster_sends_no_rows_in_its_tasks(tmp_path, client2):
    """On a real 2-worker cluster: the same verdicts as the whole-file reading, and every task is a
    span of the file (a few hundred bytes of graph), not its rows."""
    from pipeline.cluster import client_mapper

    rng = random.Random(7)
    url = str(tmp_path / "big.csv")
    body = _file(rng, None)
    with open(url, "wb") as f:
        f.write(body)
    tasks: list[bytes] = []

    def mapper(fn, items):
        tasks.extend(pickle.dumps(t) for t in items)
        return client_mapper(client2)(fn, items)

    assert _columns(url, 2, mapper) == _reference(url)
    assert tasks and max(map(len, tasks)) < 4_000, max(map(len, tasks))


def test_the_utf8_check_reads_in_blocks_and_names_the_byte_as_the_whole_file_did(tmp_path, monkeypatch):
    """A bad byte on either side of a block's end, inside a multi-byte character or after one, with and
    without a byte order mark: the same byte named as decoding the whole file names it."""
    from pipeline.reserves import okx_csv

    monkeypatch.setattr(okx_csv, "_BLOCK", 16)
    for bom in (b"", b"\xef\xbb\xbf"):
        for at in range(10, 40):
            for bad in (b"\xff", b"\xe2\x82", b"\xc3"):
                text = ("coin,snapshot height,amount\u2713\u00e9" * 3).encode()
                data = bom + text[:at] + bad + text[at:]
                path = os.path.join(str(tmp_path), "f.csv")
                with open(path, "wb") as f:
                    f.write(data)
                try:
                    data.decode("utf-8-sig")
                    want = None
                except UnicodeDecodeError as exc:
                    want = f"{path}: not UTF-8 text (byte {exc.start})"
                with open(path, "rb") as f:
                    try:
                        okx_csv.check_utf8(f, path)
                        got = None
                    except InputError as exc:
                        got = str(exc)
                assert got == want, (bom, at, bad)


def _layout(totals: list[str], rows: list[str]) -> bytes:
    return ("coin,snapshot height,amount\n" + "".join(t + "\n" for t in totals) + "\n" + ",".join(ADDRESS_HEADER)
            + "\n" + "".join(r + "\n" for r in rows)).encode()


def test_totals_are_compared_with_exact_sums_whatever_the_spans(tmp_path):
    """Sums past 28 significant digits (the default decimal context's) are exact, in every span size: a
    totals figure 1e-18 off is a disagreement (it was rounded away, or not, depending on the spans), and a
    figure of 30 digits is compared rather than crashing ``quantize``."""
    rows = ["BTC,bitcoin,,addr-0,10000000000,,,,,,"] + [f"BTC,bitcoin,,addr-{i},0.000000000000000004,,,,,,"
                                                         for i in range(1, 1001)]
    url = str(tmp_path / "r.csv")
    with open(url, "wb") as f:
        f.write(_layout(["BTC,-,10000000000.0000000000000050", "ETH,-,12345678901.123456789012345678"], rows
                        + ["ETH,ethereum,,addr-e,12345678901.123456789012345678,,,,,,"]))
    for chunk_rows in (1, 2, 500, None):
        got = own.verify_reserves(local_mapper, url, CHALLENGE, "okx-csv", chunk_rows=chunk_rows).totals_disagreements
        assert got == ["totals block line 2: BTC is 10000000000.0000000000000050, the rows add up to "
                       "10000000000.000000000000004000"], (chunk_rows, got)


def test_a_file_changed_after_its_plan_is_refused_by_the_workers(tmp_path):
    """The plan's spans carry the blake3 of their bytes: a file rewritten between the client's reading and
    the workers' (same length, same records, other addresses and amounts) is refused, naming the span,
    rather than verified against the totals block the client read."""
    from pipeline.reserves.okx_csv import plan_okx_csv

    url = str(tmp_path / "r.csv")
    a = _layout(["BTC,-,3"], ["BTC,bitcoin,,addr-1,1,,,,,,", "BTC,bitcoin,,addr-2,2,,,,,,"])
    b = _layout(["BTC,-,3"], ["BTC,bitcoin,,addr-7,5,,,,,,", "BTC,bitcoin,,addr-8,9,,,,,,"])
    assert len(a) == len(b)
    with open(url, "wb") as f:
        f.write(a)
    with open(url, "rb") as f:
        head, spans = plan_okx_csv(f, url, 1)
    with open(url, "wb") as f:
        f.write(b)
    task = own.OkxTask(url, {}, spans[1], head, {}, CHALLENGE)
    part = own._okx_span(task)
    assert part.table is None and "the file changed while it was read" in part.refused and "line 6" in part.refused
    assert own._okx_span(own.OkxTask(url, {}, spans[0], head, {}, CHALLENGE)).refused  # every span is checked


def test_the_reviewers_straddling_bytes_are_named_as_the_whole_file_names_them(tmp_path, monkeypatch):
    from pipeline.reserves import okx_csv

    monkeypatch.setattr(okx_csv, "_BLOCK", 16)
    data = b"a" * 14 + "\u20ac".encode() + b"\x80\x80" + b"b" * 20
    path = str(tmp_path / "f.csv")
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(UnicodeDecodeError) as whole:
        data.decode("utf-8-sig")
    with open(path, "rb") as f, pytest.raises(InputError) as exc:
        okx_csv.check_utf8(f, path)
    assert str(exc.value) == f"{path}: not UTF-8 text (byte {whole.value.start})" and whole.value.start == 17
