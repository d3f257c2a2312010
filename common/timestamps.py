"""ISO-8601 UTC timestamps with milliseconds, the format every message carries."""

from __future__ import annotations

import datetime as dt
import re

_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", re.ASCII)
_EXPIRY_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def format_ts(moment: dt.datetime) -> str:
    """``2026-11-21T09:41:00.123Z`` for an aware (or naive UTC) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> dt.datetime:
    """Parse a message timestamp; raises ``ValueError`` unless it is exactly the wire format."""
    if not isinstance(text, str) or not _TS_RE.fullmatch(text):
        raise ValueError(f"timestamp must look like 2026-01-31T09:15:00.000Z, got {text!r}")
    if text < "1970":  # epoch milliseconds are non-negative everywhere downstream
        raise ValueError(f"timestamp before 1970: {text!r}")
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)


def now_ts() -> str:
    """The current time in the wire format."""
    return format_ts(dt.datetime.now(dt.UTC))


def parse_expiry(text: str) -> dt.date:
    """Parse ``YYYY-MM-DD``; raises ``ValueError`` otherwise."""
    if not isinstance(text, str) or not _EXPIRY_RE.fullmatch(text):  # no week dates
        raise ValueError(f"expiry must look like 2026-01-29, got {text!r}")
    return dt.date.fromisoformat(text)


SECONDS_PER_YEAR = 365.0 * 86400.0
"""ACT/365: the year of the options math."""


def expiry_datetime(expiry: dt.date, expiry_time_utc: dt.time) -> dt.datetime:
    """The aware UTC instant at which options on ``expiry`` expire."""
    return dt.datetime.combine(expiry, expiry_time_utc, tzinfo=dt.UTC)


def years_to_expiry(moment: dt.datetime, expiry: dt.date, expiry_time_utc: dt.time) -> float:
    """ACT/365 year fraction from ``moment`` to the expiry instant (negative once expired)."""
    delta = expiry_datetime(expiry, expiry_time_utc) - moment
    return delta.total_seconds() / SECONDS_PER_YEAR
