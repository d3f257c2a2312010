"""The trading session of the products' home market: Monday to Friday, 09:15–15:30 IST.

Options trade only inside the session (``book``); the underlying ticks around
the clock (see the package docstring). Exchange holidays are not modelled.
A trading day is an Indian calendar day: it starts at midnight IST.

:class:`SessionMode` chooses the calendar the options trade on. ``exchange``
keeps the real one above. ``simulated`` (the default of ``FEED_SESSION``) runs a
simulated session outside it too — evenings, nights and weekends — so a feed
started at any hour shows volume, OI changes and buildups: options then trade
around the clock at the session's intensity. Inside the real session the two
modes trade alike; trading days still start at midnight IST, so a simulated
day's volume reaches about 24 / 6.25 ≈ 3.8 times an exchange day's by midnight.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

SESSION_UTC_OFFSET = dt.timedelta(hours=5, minutes=30)
"""Trading days are Indian calendar days (IST, UTC+05:30)."""
IST = dt.timezone(SESSION_UTC_OFFSET, "IST")
SESSION_OPEN = dt.time(9, 15)
SESSION_SECONDS = 6.25 * 3600.0
"""Length of a weekday's session, 09:15–15:30 IST."""
_WEEKDAYS = 5


class SessionMode(StrEnum):
    """Which calendar options trade on: see the module docstring."""

    SIMULATED = "simulated"
    """Around the clock, every day: a simulated session outside the real one."""
    EXCHANGE = "exchange"
    """The real session only: Monday to Friday, 09:15–15:30 IST."""


def session_day(moment: dt.datetime) -> dt.date:
    """The trading day the aware ``moment`` belongs to."""
    return moment.astimezone(IST).date()


def day_start(day: dt.date) -> dt.datetime:
    """Midnight IST that opens the trading day ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=IST).astimezone(dt.UTC)


def _day_session(day: dt.date) -> float:
    """Session seconds of a whole trading day: none on Saturdays and Sundays."""
    return SESSION_SECONDS if day.weekday() < _WEEKDAYS else 0.0


def session_elapsed(moment: dt.datetime) -> float:
    """Seconds of its day's session traded at ``moment``, in ``[0, SESSION_SECONDS]``.

    0 all day on Saturdays and Sundays.
    """
    local = moment.astimezone(IST)
    if local.weekday() >= _WEEKDAYS:
        return 0.0
    opened = dt.datetime.combine(local.date(), SESSION_OPEN, tzinfo=local.tzinfo)
    return min(max((local - opened).total_seconds(), 0.0), SESSION_SECONDS)


def _weekdays_between(first: dt.date, last: dt.date) -> int:
    """Monday-to-Friday days strictly after ``first`` and strictly before ``last``."""
    days = (last - first).days - 1
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    after = (first.weekday() + 1) % 7
    return weeks * _WEEKDAYS + sum((after + i) % 7 < _WEEKDAYS for i in range(rest))


def session_seconds(start: dt.datetime, end: dt.datetime) -> float:
    """Seconds of trading session within ``(start, end]``; 0 when ``end ≤ start``."""
    if end <= start:
        return 0.0
    first, last = session_day(start), session_day(end)
    if first == last:
        return session_elapsed(end) - session_elapsed(start)
    whole_days = _weekdays_between(first, last) * SESSION_SECONDS
    return _day_session(first) - session_elapsed(start) + whole_days + session_elapsed(end)


def trading_seconds(start: dt.datetime, end: dt.datetime, mode: SessionMode) -> float:
    """Seconds options trade within ``(start, end]`` under ``mode``; 0 when ``end ≤ start``."""
    if mode is SessionMode.EXCHANGE:
        return session_seconds(start, end)
    return max((end - start).total_seconds(), 0.0)


def in_exchange_session(moment: dt.datetime) -> bool:
    """Whether the aware ``moment`` lies inside the real session (open included, close not)."""
    local = moment.astimezone(IST)
    opened = dt.datetime.combine(local.date(), SESSION_OPEN, tzinfo=local.tzinfo)
    seconds = (local - opened).total_seconds()
    return local.weekday() < _WEEKDAYS and 0.0 <= seconds < SESSION_SECONDS
