"""Instants as integer epoch milliseconds, and back to the wire format."""

from __future__ import annotations

import datetime as dt

from common.timestamps import format_ts, parse_ts

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def _micros(moment: dt.datetime) -> int:
    if moment.tzinfo is None:  # naive means UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - EPOCH) // _ONE_US


def to_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of ``moment``, rounded down: a millisecond timestamp ``ts`` is
    ``<= moment`` exactly when ``ts <= to_ms(moment)``."""
    return _micros(moment) // 1000


def ceil_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of ``moment``, rounded up: a millisecond timestamp ``ts`` is
    ``>= moment`` exactly when ``ts >= ceil_ms(moment)``."""
    return -(-_micros(moment) // 1000)


def from_ms(ms: int) -> dt.datetime:
    """The aware UTC datetime of epoch milliseconds (exact: no float on the way)."""
    return EPOCH + dt.timedelta(milliseconds=ms)


def wire(ms: int) -> str:
    """Wire timestamp (``2026-11-21T09:41:00.123Z``) of epoch milliseconds."""
    return format_ts(from_ms(ms))


def wire_ms(text: str) -> int:
    """Epoch milliseconds of a wire timestamp; ``ValueError`` unless it is one."""
    return to_ms(parse_ts(text))
