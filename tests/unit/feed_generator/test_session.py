"""The trading session: Monday to Friday, 09:15–15:30 IST; trading days start at midnight IST."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from feed_generator.session import (
    IST,
    SESSION_SECONDS,
    SessionMode,
    day_start,
    in_exchange_session,
    session_day,
    session_elapsed,
    session_seconds,
    trading_seconds,
)


def _ist(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """November 2026 in Mumbai: the 23rd is a Monday, the 28th a Saturday."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=IST).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("utc", "day", "elapsed"),
    [
        ((2026, 11, 23, 3, 45), dt.date(2026, 11, 23), 0.0),  # 09:15 IST: the open
        ((2026, 11, 23, 10, 0), dt.date(2026, 11, 23), 22_500.0),  # 15:30 IST: the close
        ((2026, 11, 23, 18, 29), dt.date(2026, 11, 23), 22_500.0),
        ((2026, 11, 23, 18, 30), dt.date(2026, 11, 24), 0.0),  # midnight IST
        ((2026, 11, 28, 6, 0), dt.date(2026, 11, 28), 0.0),  # Saturday 11:30 IST: closed
        ((2026, 11, 29, 12, 0), dt.date(2026, 11, 29), 0.0),  # Sunday 17:30 IST
    ],
)
def test_trading_days_are_indian_calendar_days(
    utc: tuple[int, ...], day: dt.date, elapsed: float
) -> None:
    moment = dt.datetime(*utc, tzinfo=dt.UTC)
    assert session_day(moment) == day
    assert session_elapsed(moment) == elapsed


def test_day_start_is_midnight_ist() -> None:
    assert day_start(dt.date(2026, 11, 24)) == dt.datetime(2026, 11, 23, 18, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        (_ist(23, 9, 30), _ist(23, 10, 30), 3600.0),  # inside one session
        (_ist(23, 8), _ist(23, 9, 15), 0.0),  # before the open
        (_ist(23, 15, 30), _ist(24, 9, 15), 0.0),  # the night
        (_ist(23, 15), _ist(24, 10, 15), 1800.0 + 3600.0),  # over a night
        (_ist(27, 15), _ist(30, 9, 45), 1800.0 + 1800.0),  # Friday to Monday
        (_ist(28, 0), _ist(30, 0), 0.0),  # the weekend
        (_ist(23), _ist(30), 5 * SESSION_SECONDS),  # a week
        (_ist(25, 12), _ist(25, 12) + dt.timedelta(weeks=3), 15 * SESSION_SECONDS),
        (_ist(23, 11), _ist(23, 10), 0.0),  # backwards
    ],
)
def test_session_seconds_counts_only_weekday_sessions(
    start: dt.datetime, end: dt.datetime, seconds: float
) -> None:
    assert session_seconds(start, end) == pytest.approx(seconds)


def _minutes_in_session(start: dt.datetime, end: dt.datetime) -> int:
    """Brute force: minutes ``[m, m + 1)`` inside a session, for whole-minute bounds."""
    count, moment = 0, start
    while moment < end:
        local = moment.astimezone(IST)
        open_ = local.replace(hour=9, minute=15)
        count += local.weekday() < 5 and open_ <= local < local.replace(hour=15, minute=30)
        moment += dt.timedelta(minutes=1)
    return count


def test_session_seconds_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(1)
    origin = _ist(20)  # a Friday
    for _ in range(30):
        a, b = sorted(int(m) for m in rng.integers(0, 12 * 24 * 60, size=2))
        start = origin + dt.timedelta(minutes=a)
        end = origin + dt.timedelta(minutes=b)
        assert session_seconds(start, end) == 60.0 * _minutes_in_session(start, end)


@pytest.mark.parametrize(
    ("start", "end", "exchange", "simulated"),
    [
        (_ist(23, 9, 30), _ist(23, 10, 30), 3600.0, 3600.0),  # inside the session: alike
        (_ist(23, 15, 30), _ist(23, 21, 30), 0.0, 6 * 3600.0),  # an evening
        (_ist(28, 0), _ist(30, 0), 0.0, 2 * 86_400.0),  # the weekend
        (_ist(23, 11), _ist(23, 10), 0.0, 0.0),  # backwards
    ],
)
def test_trading_seconds_by_mode(
    start: dt.datetime, end: dt.datetime, exchange: float, simulated: float
) -> None:
    assert trading_seconds(start, end, SessionMode.EXCHANGE) == exchange
    assert trading_seconds(start, end, SessionMode.SIMULATED) == simulated


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (_ist(23, 9, 15), True),  # the open
        (_ist(23, 15, 29), True),
        (_ist(23, 15, 30), False),  # the close
        (_ist(23, 9, 14), False),
        (_ist(28, 11), False),  # Saturday
    ],
)
def test_in_exchange_session(moment: dt.datetime, inside: bool) -> None:
    assert in_exchange_session(moment) is inside
