"""Periods: ``YYYY-MM`` with a month 01..12, the month before and after, and the snapshot time (its end)."""

from __future__ import annotations

import datetime as dt
import re

_PERIOD_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def is_valid_period(period: str) -> bool:
    """True when ``period`` is exactly ``YYYY-MM`` with a month 01..12."""
    return isinstance(period, str) and _PERIOD_RE.fullmatch(period) is not None


def month_before(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def month_after(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + 1}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def snapshot_time(period: str) -> dt.datetime:
    """The period's snapshot time: its end, the first instant of the next month, UTC."""
    after = month_after(period)
    return dt.datetime(int(after[:4]), int(after[5:7]), 1, tzinfo=dt.timezone.utc)
