"""Expiries in time: the instant they expire, days left (ACT/365 calendar time), the nearest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from analytics_service.calc.times import DAY_MS, to_ms
from common.timestamps import expiry_datetime, parse_expiry


def is_expiry(text: str) -> bool:
    """Whether ``text`` is a YYYY-MM-DD date (a Redis key may hold anything)."""
    try:
        parse_expiry(text)
    except ValueError:
        return False
    return True


def expiry_ms(expiry: str, expiry_time_utc: dt.time) -> int:
    """Epoch ms at which options on ``expiry`` (YYYY-MM-DD) expire."""
    return to_ms(expiry_datetime(parse_expiry(expiry), expiry_time_utc))


def days_to_expiry(expiry: str, moment_ms: int, expiry_time_utc: dt.time) -> float:
    """Calendar days from ``moment_ms`` to expiry (fractional; negative once expired).

    ACT/365: the options math's ``T`` in years is this over 365.
    """
    return (expiry_ms(expiry, expiry_time_utc) - moment_ms) / DAY_MS


def live_expiries(expiries: Iterable[str], moment_ms: int, expiry_time_utc: dt.time) -> list[str]:
    """The expiries not yet expired at ``moment_ms``, ascending."""
    return sorted(e for e in expiries if expiry_ms(e, expiry_time_utc) > moment_ms)


def nearest_expiry(expiries: Iterable[str], moment_ms: int, expiry_time_utc: dt.time) -> str | None:
    """The first expiry still alive at ``moment_ms``, or ``None``."""
    live = live_expiries(expiries, moment_ms, expiry_time_utc)
    return live[0] if live else None
