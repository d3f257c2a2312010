"""The trading session of the products' home market: Monday to Friday, 09:15–15:30 IST.

Options trade only inside the session (``book``); the underlying ticks around
the clock (see the package docstring). Exchange holidays are not modelled.
A trading day is an Indian calendar day: it starts at midnight IST.
"""

from __future__ import annotations

import datetime as dt

SESSION_UTC_OFFSET = dt.timedelta(hours=5, minutes=30)
"""Trading days are Indian calendar days (IST, UTC+05:30)."""
IST = dt.timezone(SESSION_UTC_OFFSET, "IST")
SESSION_OPEN = dt.time(9, 15)
SESSION_SECONDS = 6.25 * 3600.0
"""Length of a weekday's session, 09:15–15:30 IST."""
_WEEKDAYS = 5


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
