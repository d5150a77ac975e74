"""The reserves file layout a major exchange publishes (``--format okx-csv``), read and written.

A totals block (header ``coin,snapshot height,amount``; rows such as ``BTC,763861,449.5140`` per
coin-network and ``ETH(ALL),-,6`` across networks), a blank line, then one row per address:

    coin[,type],network,snapshot height,address,amount,message,signature1,signature2,
    redeem script / public key,eoa1,eoa2

Amounts are decimals in whole units. Header names are matched without surrounding spaces and
letter case. The asset of a row is its coin up to the first ``-`` (``USDT-TRC20`` -> USDT); its
chain is its network (``chains.find_chain`` decides whether it is on the list).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from blake3 import blake3

from ..errors import InputError

ADDRESS_HEADER = ["coin", "network", "snapshot height", "address", "amount", "message", "signature1",
                  "signature2", "redeem script/ public key", "eoa1", "eoa2"]
TOTALS_HEADER = ["coin", "snapshot height", "amount"]


class OkxRow(TypedDict):
    """One address row of the layout, as read (the ownership proof columns as ``input.ReserveRow``
    names them, and where the row was)."""

    coin: str
    """The coin as written, spaces stripped (``USDT-TRC20``)."""
    chain: str
    """The network as written (``chains.find_chain`` decides whether it is on the list)."""
    address: str
    asset: str
    """The coin up to its first ``-`` (``USDT``)."""
    balance: str
    """The amount in whole units, a plain decimal string."""
    height: int | None
    """The row's snapshot height (None: the field is empty); the reader of the file puts the declared one
    here (``heights.okx_declared``)."""
    signatures: list[str]
    """signature1 and signature2, the non-empty ones."""
    message: str | None
    """The signed text (None: empty, this period's challenge)."""
    script: str | None
    """The redeem script or public key (hex), or None."""
    owners: list[str]
    """eoa1 and eoa2, the non-empty ones: a contract wallet's owners."""
    line: int
    """1-based line in the file."""


class OkxTotal(NamedTuple):
    """One figure of the totals block."""

    height: str
    """The snapshot height as written (a block number, ``-`` or empty)."""
    amount: Decimal
    line: int
    """1-based line in the file."""


class OkxOutRow(TypedDict):
    """One address row as ``write_okx_csv`` writes it (the published ``reserves.csv``)."""

    row: int
    """0-based, in input order (named when the row does not fit the layout)."""
    coin: str
    chain: str
    address: str
    balance: str
    """Whole units, exact."""
    height: int | None
    message: str | None
    signatures: list[str]
    """At most two."""
    script: str | None
    owners: list[str]
    """At most two."""


@dataclass
class OkxFile:
    rows: list[OkxRow]
    """The address rows, in file order."""
    totals: dict[str, OkxTotal]
    """coin -> its figure in the totals block."""


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().replace("/ ", "/").split())


def _decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(f"{where}: amount {text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0 or "e" in text.lower():
        raise InputError(f"{where}: amount {text!r} is not a non-negative plain decimal")
    return value


class OkxHead(NamedTuple):
    """The layout's head: the totals block, and how the address rows after it are laid out."""

    totals: dict[str, OkxTotal]
    typed: bool
    """The address header has the ``type`` column (read past)."""
    width: int
    """Fields of an address row."""
    first_line: int
    """The first address row's line (1-based, as the ``csv`` module counts records)."""


def read_okx_head(records: Iterator[list[str]], shown: str) -> OkxHead:
    """The head, from the file's records (the ``csv`` module's, from the first; the records of the head
    are consumed, the address header's included)."""
    first = next(records, None)
    if first is None or [_norm(c) for c in first] != TOTALS_HEADER:
        raise InputError(f"{shown}, line 1: expected the totals header {','.join(TOTALS_HEADER)}")
    totals: dict[str, OkxTotal] = {}
    at = 1
    record = next(records, None)
    while record is not None and any(c.strip() for c in record):
        where = f"{shown}, line {at + 1}"
        if len(record) != 3:
            raise InputError(f"{where}: a totals row has 3 fields, not {len(record)}")
        coin, height, amount = (c.strip() for c in record)
        if coin in totals:
            raise InputError(f"{where}: coin {coin!r} appears twice in the totals block")
        totals[coin] = OkxTotal(height, _decimal(amount, where), at + 1)
        at += 1
        record = next(records, None)
    at += 1
    record = next(records, None) if record is not None else None
    if record is None:
        raise InputError(f"{shown}: no address rows after the totals block and its blank line")
    header = [_norm(c) for c in record]
    typed = header[:2] == ["coin", "type"]
    expected = ADDRESS_HEADER[:1] + (["type"] if typed else []) + ADDRESS_HEADER[1:]
    if header != [_norm(c) for c in expected]:
        raise InputError(f"{shown}, line {at + 1}: expected the address header {','.join(expected)}")
    return OkxHead(totals, typed, len(expected), at + 2)


def read_okx_row(fields: list[str], n: int, head: OkxHead, shown: str) -> OkxRow:
    """Address row ``fields`` at line ``n``, checked."""
    where = f"{shown}, line {n}"
    if not any(c.strip() for c in fields):
        raise InputError(f"{where}: blank line inside the address rows")
    if len(fields) != head.width:
        raise InputError(f"{where}: {len(fields)} fields where the header has {head.width}")
    if head.typed:
        fields = fields[:1] + fields[2:]
    coin, network, height, address, amount, message, sig1, sig2, script, eoa1, eoa2 = fields
    if not coin.strip():
        raise InputError(f"{where}: empty coin")
    height_text = height.strip()
    if height_text and not (height_text.isascii() and height_text.isdigit()):
        raise InputError(f"{where}: snapshot height {height!r} is not a block number")
    return {
        "coin": coin.strip(), "chain": network, "address": address, "asset": coin.strip().split("-")[0],
        "balance": str(_decimal(amount, where)), "height": int(height_text) if height_text else None,
        "signatures": [s for s in (sig1.strip(), sig2.strip()) if s], "message": message if message else None,
        "script": script.strip() or None, "owners": [o.strip() for o in (eoa1, eoa2) if o.strip()], "line": n,
    }


def _text(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}: not UTF-8 text (byte {exc.start})") from None


def _records(reader: Any, shown: str) -> Iterator[list[str]]:
    """The ``csv`` module's records, a layout it cannot read refused as such (naming the physical line)."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InputError(f"{shown}, physical line {reader.line_num}: not CSV the csv module reads ({exc})") from None


def read_okx_csv(data: bytes, shown: str) -> OkxFile:
    """The whole layout from its bytes: every record read first (a file the ``csv`` module cannot read is
    refused before any row is looked at, as ``plan_okx_csv`` refuses it), then the head and the rows."""
    records = iter(list(_records(csv.reader(io.StringIO(_text(data, shown))), shown)))
    head = read_okx_head(records, shown)
    rows = [read_okx_row(fields, n, head, shown) for n, fields in enumerate(records, start=head.first_line)]
    return OkxFile(rows, head.totals)


class OkxSpan(NamedTuple):
    """Some address rows of the layout: bytes ``start:stop`` of the file, ``rows`` records from line
    ``first_line`` (cut between records, as the ``csv`` module reads them), whose bytes have the blake3
    ``digest`` (whoever reads the span checks it: the bytes are those the plan read)."""

    start: int
    stop: int
    first_line: int
    rows: int
    digest: str = ""


BOM = b"\xef\xbb\xbf"
_BLOCK = 1 << 24


def check_utf8(f: BinaryIO, shown: str) -> None:
    """The file is UTF-8 text, read a block at a time through an incremental decoder (the refusal names
    the byte as ``read_okx_csv`` does: counted after a byte order mark)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    fed = 0
    start = f.read(len(BOM))
    more = (b"" if start == BOM else start) + f.read(_BLOCK)
    while True:
        held = len(decoder.getstate()[0])  # bytes of a character begun in the last block, decoded with this one
        try:
            decoder.decode(more, final=not more)
        except UnicodeDecodeError as exc:
            raise InputError(f"{shown}: not UTF-8 text (byte {fed - held + exc.start})") from None
        if not more:
            return
        fed += len(more)
        more = f.read(_BLOCK)


def plan_okx_csv(f: BinaryIO, shown: str, rows_per_span: int | Callable[[int], int]) -> tuple[OkxHead, list[OkxSpan]]:
    """The head, and the address rows cut into spans (``rows_per_span`` rows each, or a function of the
    number of rows) at the byte where a record ends, as the ``csv`` module reads the file: the file is
    read three times, a block or a line at a time, never held whole (UTF-8 checked, then the records
    counted, then each span's blake3 taken, the whole file's compared with the second reading's). The
    rows themselves are checked by whoever reads a span (``read_okx_span``)."""
    check_utf8(f, shown)
    f.seek(0)
    bom = f.read(len(BOM)) == BOM
    f.seek(len(BOM) if bom else 0)
    at = [f.tell()]

    whole = blake3()

    def lines() -> Iterator[str]:
        for raw in f:
            at[0] += len(raw)
            whole.update(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{shown}: the file changed while it was read (no longer UTF-8 text)") from None

    records = _records(csv.reader(lines()), shown)
    try:
        head = read_okx_head(records, shown)
    except InputError:
        for _ in records:  # a record the csv module cannot read, further on, is named first (as read_okx_csv names it)
            pass
        raise
    body = at[0]
    ends: list[int] = []
    for _ in records:
        ends.append(at[0])
    n = len(ends)
    step = max(1, rows_per_span(n) if callable(rows_per_span) else rows_per_span)
    cuts = [(body if a == 0 else ends[a - 1], ends[min(a + step, n) - 1], head.first_line + a, min(a + step, n) - a)
            for a in range(0, n, step)]
    # once more, a span at a time: each span's digest, and the whole file's against the reading above
    f.seek(len(BOM) if bom else 0)
    again = blake3()
    prefix = f.read(body - f.tell())
    again.update(prefix)
    spans = []
    for start, stop, first_line, rows in cuts:
        digest = blake3()
        left = stop - start
        while left > 0:
            block = f.read(min(left, _BLOCK))
            if not block:
                break
            digest.update(block)
            again.update(block)
            left -= len(block)
        spans.append(OkxSpan(start, stop, first_line, rows, digest.hexdigest()))
    again.update(f.read())
    if again.digest() != whole.digest():
        raise InputError(f"{shown}: the file changed while it was read")
    return head, spans


def read_okx_span(data: bytes, span: OkxSpan, head: OkxHead, shown: str) -> list[OkxRow]:
    """The address rows of ``span`` (its bytes, whose digest must be the plan's), each checked as
    ``read_okx_csv`` checks it."""
    if span.digest and blake3(data).hexdigest() != span.digest:
        raise InputError(f"{shown}, line {span.first_line}: bytes {span.start}-{span.stop} are not those the plan "
                         "read: the file changed while it was read")
    records = list(_records(csv.reader(io.StringIO(data.decode("utf-8"))), shown))
    if len(records) != span.rows:
        raise InputError(f"{shown}, line {span.first_line}: {len(records)} records where the file's reading "
                         f"counted {span.rows} (the file changed while it was read?)")
    return [read_okx_row(fields, n, head, shown) for n, fields in enumerate(records, start=span.first_line)]


EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Decimal arithmetic that never rounds (the default context keeps 28 digits): sums of rows, and the
totals block's figures compared with them."""


def _summed(amounts: Iterable[tuple[str, str]]) -> dict[str, Decimal]:
    """Each coin's amounts (decimal text) added up, exactly (``EXACT``)."""
    sums: dict[str, Decimal] = {}
    for coin, amount in amounts:
        sums[coin] = EXACT.add(sums.get(coin, Decimal(0)), Decimal(amount))
    return sums


def coin_sums(rows: Sequence[OkxRow]) -> dict[str, Decimal]:
    """Each coin's rows added up, exactly: as ``totals_disagreements`` compares them."""
    return _summed((r["coin"], r["balance"]) for r in rows)


def merge_sums(parts: Iterable[Mapping[str, str]]) -> dict[str, Decimal]:
    """``coin_sums`` of several parts of the rows (each as text), added up exactly."""
    return _summed(pair for part in parts for pair in part.items())


def totals_disagreements(okx: OkxFile) -> list[str]:
    """Each totals-block figure that the address rows do not add up to (compared at the figure's
    own number of decimal places: the block rounds)."""
    return sums_disagreements(okx.totals, coin_sums(okx.rows))


def sums_disagreements(totals: Mapping[str, OkxTotal], sums: Mapping[str, Decimal]) -> list[str]:
    """``totals_disagreements`` from each coin's sum of its rows (``coin_sums``)."""
    out = []
    for coin, figure in totals.items():
        amount, line = figure.amount, figure.line
        if coin.endswith("(ALL)"):
            base = coin[:-5]
            total = Decimal(0)
            for c, v in sums.items():
                if c == base or c.startswith(base + "-"):
                    total = EXACT.add(total, v)
        else:
            total = sums.get(coin, Decimal(0))
        exponent = amount.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) else 0
        if total.quantize(Decimal(1).scaleb(-max(places, 0)), context=EXACT) != amount:
            out.append(f"totals block line {line}: {coin} is {amount}, the rows add up to {total}")
    return out


def write_okx_csv(rows: Sequence[OkxOutRow], totals: Mapping[str, str], heights: Mapping[str, str]) -> bytes:
    """The published layout: the totals block (exact, every digit), a blank line, the rows."""
    columns = {"coin": pa.array([r["coin"] for r in rows], pa.string()),
               "chain": pa.array([r["chain"] for r in rows], pa.string()),
               "height": pa.array([r["height"] for r in rows], pa.int64()),
               "address": pa.array([r["address"] for r in rows], pa.string()),
               "balance": pa.array([r["balance"] for r in rows], pa.string()),
               "message": pa.array([r["message"] for r in rows], pa.string()),
               "signatures": pa.array([list(r["signatures"]) for r in rows], pa.list_(pa.string())),
               "script": pa.array([r["script"] for r in rows], pa.string()),
               "owners": pa.array([list(r["owners"]) for r in rows], pa.list_(pa.string()))}
    return okx_csv_bytes(columns, totals, heights, [r["row"] for r in rows])


_QUOTED = r'[\x00\r\n"]'
"""A character the CSV writer may quote (or escape) a field for, looked for in a whole line (a comma too:
more commas than the separators); such a line is written by the ``csv`` module itself."""
OUT_COLUMNS = ("coin", "chain", "height", "address", "balance", "message", "signatures", "script", "owners")
"""What ``okx_csv_bytes`` writes of each row: ``OkxOutRow``'s fields, as columns."""


def _nth(lists: pa.Array, n: int) -> pa.Array:
    """The ``n``-th value of each list ("" where it has none, or a null)."""
    lists = lists.fill_null(pa.scalar([], lists.type))
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    offsets = lists.offsets.to_numpy(zero_copy_only=False)[:-1]
    values = pa.concat_arrays([lists.values.cast(pa.string()), pa.array([""], pa.string())])
    index = np.where(lengths > n, offsets + n, len(values) - 1)
    return values.take(pa.array(index)).fill_null("")


def okx_csv_bytes(columns: Mapping[str, pa.Array], totals: Mapping[str, str], heights: Mapping[str, str],
                  rows: Sequence[int] | None = None, step: int = 16_384) -> bytes:
    """``write_okx_csv`` from columns (``OUT_COLUMNS``; ``rows``: each row's number for messages, by
    default its position): ``okx_csv_parts`` end to end."""
    return b"".join(okx_csv_parts(columns, totals, heights, rows, step))


def okx_csv_parts(columns: Mapping[str, pa.Array | pa.ChunkedArray], totals: Mapping[str, str],
                  heights: Mapping[str, str], rows: Sequence[int] | None = None,
                  step: int = 16_384) -> Iterator[bytes | pa.Buffer]:
    """The published layout's bytes in parts (bytes, or Arrow buffers), as they are made (the header,
    then ``step`` rows at a time): a line without a character the CSV writer quotes is its fields joined by commas; the
    other lines are written by the ``csv`` module. A row that does not fit the layout is refused
    before the first part."""
    from .results import string_buffer

    n = len(columns["coin"])
    over = np.flatnonzero(np.logical_or(*(pc.list_value_length(columns[c]).fill_null(0).to_numpy(zero_copy_only=False) > 2
                                          for c in ("signatures", "owners"))))
    if len(over):
        first = int(over[0]) if rows is None else int(rows[int(over[0])])
        raise InputError(f"row {first}: the published CSV layout holds two signatures and two owners")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TOTALS_HEADER)
    for coin in sorted(totals):
        w.writerow([coin, heights.get(coin, "-"), totals[coin]])
    w.writerow([])
    w.writerow(ADDRESS_HEADER)
    yield out.getvalue().encode("utf-8")
    for a in range(0, n, step):
        take = {k: _whole(v.slice(a, step)) for k, v in columns.items()}
        fields = [take["coin"].cast(pa.string()), take["chain"].cast(pa.string()),
                  take["height"].cast(pa.string()).fill_null(""), take["address"].cast(pa.string()),
                  take["balance"].cast(pa.string()), take["message"].cast(pa.string()).fill_null(""),
                  _nth(take["signatures"], 0), _nth(take["signatures"], 1), take["script"].cast(pa.string()).fill_null(""),
                  _nth(take["owners"], 0), _nth(take["owners"], 1)]
        joined = pc.binary_join_element_wise(*fields, ",")  # null where a field is
        lines = pc.binary_join_element_wise(joined, "", "\n")
        data = string_buffer(lines)
        separators = len(fields) - 1
        if not joined.null_count and _plain_lines(data, len(lines), separators):
            yield data  # no field holds a character the CSV writer quotes: every line is its fields and commas
            continue
        # a field holds a character the CSV writer may quote exactly when its line does, or holds more commas
        special = pc.or_(pc.match_substring_regex(joined, _QUOTED),
                         pc.not_equal(pc.count_substring(joined, ","), separators))
        odd = np.flatnonzero(pc.fill_null(special, True).to_numpy(zero_copy_only=False))
        if len(odd):
            picked = [f.take(pa.array(odd)).to_pylist() for f in fields]
            written = []
            for values in zip(*picked, strict=True):
                one = io.StringIO()
                csv.writer(one, lineterminator="\n").writerow(values)
                written.append(one.getvalue())
            index = np.arange(len(lines))
            index[odd] = len(lines) + np.arange(len(odd))
            lines = pa.concat_arrays([lines, pa.array(written, pa.string())]).take(pa.array(index))
        yield string_buffer(lines)


def _plain_lines(data: pa.Buffer, lines: int, separators: int) -> bool:
    """Whether ``lines`` lines of ``separators`` commas each (``data``, every line ending in a new line)
    hold no other comma, new line, carriage return, double quote or NUL."""
    view = np.frombuffer(data, np.uint8)
    if np.count_nonzero(view == ord(",")) != separators * lines or np.count_nonzero(view == ord("\n")) != lines:
        return False
    return not any(np.count_nonzero(view == ord(c)) for c in '"\r\x00')


def _whole(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array (a slice of a chunked column put end to end: ``step`` rows, not the column)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
