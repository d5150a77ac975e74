"""CSV snapshot files (``schemas/snapshot.md``, "CSV files"): the header, the lines, the cells.

Pure functions on bytes, no storage access: ``liabilities.snapshot`` feeds the planner's scan
(``parse_header``, ``RowCounter``) and ``liabilities.read`` a fragment's bytes (``parse_rows``,
``decimal_from_text``).

A file is UTF-8, one header line, then one line per row; lines end in LF or CRLF (the last line
may lack it). One UTF-8 byte-order mark at the very start is skipped. A field is either plain
(no ``"``, ``,``, CR or LF) or quoted (``"…"``, inner quotes doubled, no CR or LF): a quoted field
never spans lines, so a line is a row and a fragment can be cut at any line end. Blank lines,
a carriage return inside a line and every other quoting are refused naming the line (1-based,
the header is line 1, data row ``r`` of a file is line ``r + 2``).

Amounts are whole units written ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?``, ASCII digits only, at most the
asset's decimals of fractional digits; ``decimal_from_text`` checks them with one vectorised
pattern and casts them to ``decimal256(76, decimals)`` exactly (never through a float), so they
then take the very conversion a Parquet decimal column takes (``columns.signed_amount_words``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import BadValue, InputError

SUFFIX = ".csv"
BOM = b"\xef\xbb\xbf"
MAX_HEADER_BYTES = 1 << 20
"""The header line must end within this many bytes."""
_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
LINE_PATTERN = rf"^{_FIELD}(?:,{_FIELD})*\r?\n?$"
"""One line (with its terminator) of well-formed fields."""
_QUOTED = r'"(?:[^"]|"")*"'
_BLANK = r"^\r?\n?$"
AMOUNT_PATTERN = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$"
DECIMAL_DIGITS = 76
"""The precision of the decimal every amount is cast to: ``decimal256``'s largest."""


class BadLine(Exception):
    """Line ``line`` (1-based in the file) is malformed: ``reason``."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True)
class Header:
    names: tuple[str, ...]
    body_start: int
    """Byte offset of the first data line (after the BOM, if any, and the header's terminator)."""
    size: int = 0
    """The file's size in bytes when it was planned (a file that changed since is refused)."""


def parse_header(head: bytes, where: str, complete: bool) -> Header:
    """The header of a CSV file from its first bytes ``head`` (``complete``: ``head`` is the whole
    file). Raises ``InputError`` naming ``where`` for an empty file, a header line that does not end
    within ``MAX_HEADER_BYTES``, bad quoting, a name that is not UTF-8, an empty or repeated name."""
    start = len(BOM) if head.startswith(BOM) else 0
    if complete and len(head) == start:
        raise InputError(f"{where}: empty file (no header line)")
    end = head.find(b"\n", start)
    if end < 0:
        if not complete:
            raise InputError(f"{where} line 1: the header line does not end within {MAX_HEADER_BYTES} bytes")
        end = len(head)
    line = head[start : end + 1]
    if re.fullmatch(_BLANK.encode(), line):
        raise InputError(f"{where} line 1: blank header line")
    if not re.fullmatch(LINE_PATTERN.encode(), line):
        raise InputError(f"{where} line 1: {_line_problem(line)}")
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(f"{where} line 1: the header is not valid UTF-8") from None
    names = tuple(next(csv.reader([text], strict=True)))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"{where} line 1: column {name!r} appears twice in the header")
        if name == "":
            raise InputError(f"{where} line 1: an empty column name in the header")
        seen.add(name)
    return Header(names, start + len(line))


@dataclass
class RowCounter:
    """Counts the data rows of a file fed chunk by chunk (the bytes after the header), and where
    every ``fragment_rows``-th row ends: the planner's one pass over a CSV file, in numpy."""

    fragment_rows: int
    start: int
    """Byte offset (in the file) of the first byte fed."""
    rows: int = 0
    cuts: list[int] = field(default_factory=list)
    """Byte offsets (in the file) where fragments after the first begin."""
    _size: int = 0
    _last_newline: int = -1

    def feed(self, chunk: bytes) -> None:
        newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
        if len(newlines):
            ends = self.rows + 1 + np.arange(len(newlines))
            at = newlines[ends % self.fragment_rows == 0]
            self.cuts.extend((self.start + self._size + at + 1).tolist())
            self.rows += len(newlines)
            self._last_newline = self._size + int(newlines[-1])
        self._size += len(chunk)

    @property
    def end(self) -> int:
        """Byte offset (in the file) just past the last byte fed."""
        return self.start + self._size

    def finish(self) -> None:
        """The last line counts as a row when it has no terminator."""
        if self._size > self._last_newline + 1:
            self.rows += 1
        elif self.cuts and self.cuts[-1] == self.start + self._size:
            self.cuts.pop()  # no fragment begins at the very end


def _lines(data: bytes) -> pa.Array:
    """Every line of ``data`` with its terminator, as a ``large_binary`` array over ``data`` (no copy)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    starts = np.flatnonzero(buf == 10) + 1
    offsets = np.concatenate([[0], starts[starts < len(data)], [len(data)]]).astype(np.int64)
    if len(data) == 0:
        offsets = np.zeros(1, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_binary(), len(offsets) - 1,
                                 [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)])


def _line_problem(line: bytes) -> str:
    """Why ``line`` (with its terminator) is not a line of well-formed fields."""
    body = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
    if b"\r" in body:
        return "a carriage return inside the line (lines end in LF or CRLF)"
    if body.count(b'"') % 2 and (body.startswith(b'"') or b',"' in body):
        return "a quoted field does not end on its line (a quoted field may not hold a line break)"
    return "malformed quoting: a field holding '\"' must be wholly quoted, its inner quotes doubled"


def check_lines(data: bytes, first_line: int, fields: int) -> int:
    """Check the lines of ``data`` (whole lines; line ``first_line`` first) and return how many there
    are. Raises ``BadLine`` at the first blank line, carriage return inside a line, badly quoted
    field or line with another number of fields than ``fields``."""
    lines = _lines(data)
    n = len(lines)
    if n == 0:
        return 0
    bad = pc.match_substring_regex(lines, _BLANK)
    well_formed = pc.match_substring_regex(lines, LINE_PATTERN)
    plain = pc.replace_substring_regex(lines, _QUOTED, "") if b'"' in data else lines
    counts = pc.add(pc.count_substring(plain, ","), 1)
    wrong = pc.or_(pc.or_(bad, pc.invert(well_formed)), pc.not_equal(counts, fields))
    if not pc.any(wrong).as_py():
        return n
    i = int(np.flatnonzero(wrong.to_numpy(zero_copy_only=False))[0])
    line = lines[i].as_py()
    if bad[i].as_py():
        raise BadLine(first_line + i, "blank line")
    if not well_formed[i].as_py():
        raise BadLine(first_line + i, _line_problem(line))
    raise BadLine(first_line + i, f"{counts[i].as_py()} fields, but the header has {fields}")


def parse_rows(data: bytes, names: tuple[str, ...], first_line: int) -> pa.Table:
    """The rows of ``data`` (whole lines, line ``first_line`` first) as a table of ``binary`` columns
    named ``names``, quotes removed. Raises ``BadLine`` (see ``check_lines``)."""
    n = check_lines(data, first_line, len(names))
    if n == 0:
        return pa.table({name: pa.array([], pa.binary()) for name in names})
    # Arrow's reader drops a byte-order mark at the start of its input: behind a line it skips, a BOM
    # that begins a fragment stays part of the cell (and is refused in an id, as everywhere else)
    table = pacsv.read_csv(
        io.BytesIO(b"\n" + data),
        read_options=pacsv.ReadOptions(column_names=list(names), skip_rows=1, use_threads=False,
                                       block_size=len(data) + 2),
        parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={name: pa.binary() for name in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False,
                                             check_utf8=False),
    )
    if table.num_rows != n:  # cannot happen after check_lines; never trust a count twice
        raise BadLine(first_line, f"{table.num_rows} rows parsed from {n} lines")
    return table.combine_chunks()


def text(column: pa.Array) -> pa.Array:
    """A ``binary`` column as ``string`` without validating it (``liabilities.read`` validates ids,
    and amounts are ASCII once ``decimal_from_text`` accepts them)."""
    return column.cast(pa.string(), safe=False) if pa.types.is_binary(column.type) else column


def _amount_problem(value: bytes) -> str:
    """Why ``value`` is not an amount (the pattern refused it)."""
    shown = value[:40].decode("utf-8", errors="replace") + ("…" if len(value) > 40 else "")
    if value == b"":
        return "empty amount (write 0 for nothing)"
    if value.strip() != value or b" " in value or b"\t" in value:
        return f"amount {shown!r}: spaces are not allowed"
    if value.startswith(b"+"):
        return f"amount {shown!r}: a leading '+' is not allowed"
    if re.fullmatch(rb"-?[0-9.]+[eE][-+]?[0-9]+", value):
        return f"amount {shown!r}: exponent notation is not allowed"
    if any(b >= 0x80 for b in value):
        return f"amount {shown!r}: only the ASCII digits 0-9 are digits"
    if re.fullmatch(rb"-?0[0-9]+(\.[0-9]+)?", value):
        return f"amount {shown!r}: leading zeros are not allowed"
    return f"amount {shown!r} is not a decimal number of whole units (digits, an optional '-' and '.' and fraction)"


def decimal_from_text(column: pa.Array, decimals: int) -> pa.Array:
    """Whole-unit amounts written as text, as an exact ``decimal256(76, decimals)`` column.

    Raises ``BadValue`` (index in ``column``) at the first value that is not
    ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?`` (empty, spaces, ``+``, exponents, non-ASCII digits, leading
    zeros), has more fractional digits than ``decimals`` (trailing zeros count: never rounded) or is
    too large for ``2^128`` smallest units."""
    if len(column) == 0:
        return pa.array([], pa.decimal256(DECIMAL_DIGITS, decimals))
    ok = pc.match_substring_regex(column, AMOUNT_PATTERN)
    if not pc.all(ok).as_py():
        i = int(np.flatnonzero(pc.invert(ok).to_numpy(zero_copy_only=False))[0])
        value = column[i].as_py()
        raise BadValue(i, _amount_problem(value if isinstance(value, bytes) else value.encode()))
    length = pc.binary_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
    dot = pc.find_substring(column, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    sign = pc.starts_with(column, "-").to_numpy(zero_copy_only=False).astype(np.int64)
    fraction = np.where(dot >= 0, length - dot - 1, 0)
    over = fraction > decimals
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise BadValue(i, f"amount {_shown(column, i)} has {fraction[i]} fractional digits, more than the "
                          f"asset's {decimals}")
    whole = np.where(dot >= 0, dot, length) - sign
    # no leading zeros: w whole digits are at least 10^(w-1) whole units, so w + decimals > 76 is
    # at least 10^76 smallest units, far above 2^128; the rest fits decimal256(76) exactly
    huge = whole + decimals > DECIMAL_DIGITS
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        raise BadValue(i, f"amount {_shown(column, i)} has a magnitude that is not below 2^128 smallest units")
    return pc.cast(text(column), pa.decimal256(DECIMAL_DIGITS, decimals))


def _shown(column: pa.Array, i: int) -> str:
    """Cell ``i`` for an error message: text (invalid UTF-8 replaced), at most 40 characters."""
    value = column[i].as_py()
    shown = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
    return shown[:40] + ("…" if len(shown) > 40 else "")
