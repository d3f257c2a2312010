"""Weekly and monthly expiry calendars and how they roll."""

from __future__ import annotations

import datetime as dt

import pytest

from feed_generator.expiries import (
    ExpiryCalendar,
    ExpiryRule,
    Weekday,
    last_weekday_of_month,
    listed_expiries,
    monthly_expiries,
    weekly_expiries,
)

TEN = dt.time(10, 0)
INDEX = ExpiryRule(Weekday.TUESDAY, 2, Weekday.WEDNESDAY, 2)


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("year", "month", "weekday", "expected"),
    [
        (2026, 11, Weekday.TUESDAY, dt.date(2026, 11, 24)),
        (2026, 12, Weekday.TUESDAY, dt.date(2026, 12, 29)),
        (2027, 2, Weekday.TUESDAY, dt.date(2027, 2, 23)),
        (2026, 3, Weekday.TUESDAY, dt.date(2026, 3, 31)),  # the month's last day itself
        (2026, 11, Weekday.THURSDAY, dt.date(2026, 11, 26)),
    ],
)
def test_last_weekday_of_month(year: int, month: int, weekday: int, expected: dt.date) -> None:
    assert last_weekday_of_month(year, month, weekday) == expected


def test_monthlies_skip_the_current_month_once_it_has_expired() -> None:
    before = _utc(2026, 11, 24, 9, 59, 59)
    after = _utc(2026, 11, 24, 10, 0, 0)
    assert monthly_expiries(before, 2, Weekday.TUESDAY, TEN) == [
        dt.date(2026, 11, 24),
        dt.date(2026, 12, 29),
    ]
    assert monthly_expiries(after, 2, Weekday.TUESDAY, TEN) == [
        dt.date(2026, 12, 29),
        dt.date(2027, 1, 26),
    ]


def test_monthlies_cross_the_year_end() -> None:
    assert monthly_expiries(_utc(2026, 12, 30), 3, Weekday.TUESDAY, TEN) == [
        dt.date(2027, 1, 26),
        dt.date(2027, 2, 23),
        dt.date(2027, 3, 30),
    ]


def test_weeklies_include_today_until_the_expiry_time() -> None:
    wednesday = dt.date(2026, 11, 25)
    assert weekly_expiries(_utc(2026, 11, 25, 9), 2, Weekday.WEDNESDAY, TEN) == [
        wednesday,
        wednesday + dt.timedelta(days=7),
    ]
    assert weekly_expiries(_utc(2026, 11, 25, 11), 2, Weekday.WEDNESDAY, TEN) == [
        wednesday + dt.timedelta(days=7),
        wednesday + dt.timedelta(days=14),
    ]
    assert all(
        d.weekday() == Weekday.WEDNESDAY for d in weekly_expiries(_utc(2026, 11, 21), 5, 2, TEN)
    )


def test_listed_expiries_merge_weeklies_and_monthlies_without_duplicates() -> None:
    rule = ExpiryRule(Weekday.TUESDAY, 2, Weekday.TUESDAY, 2)  # the last weekly is a monthly
    listed = listed_expiries(rule, _utc(2026, 11, 23, 4), TEN)
    assert listed == [dt.date(2026, 11, 24), dt.date(2026, 12, 1), dt.date(2026, 12, 29)]


def test_every_listed_expiry_is_in_the_future() -> None:
    moment = _utc(2026, 11, 1)
    while moment < _utc(2027, 2, 1):
        listed = listed_expiries(INDEX, moment, TEN)
        assert listed == sorted(set(listed))
        assert all(dt.datetime.combine(d, TEN, tzinfo=dt.UTC) > moment for d in listed)
        assert len(listed) >= 3
        moment += dt.timedelta(hours=5)


def test_calendar_cache_agrees_with_the_rule_as_time_passes() -> None:
    calendar = ExpiryCalendar(INDEX, TEN)
    moment = _utc(2026, 11, 20)
    seen: set[dt.date] = set()
    while moment < _utc(2027, 1, 10):
        assert calendar.at(moment) == listed_expiries(INDEX, moment, TEN)
        seen.update(calendar.at(moment))
        moment += dt.timedelta(minutes=97)
    assert dt.date(2026, 11, 25) in seen  # it rolled through several weeklies
    assert dt.date(2027, 1, 13) in seen


def test_rules_need_at_least_one_expiry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ExpiryRule(monthlies=0)
    with pytest.raises(ValueError, match="weekly_weekday"):
        ExpiryRule(weeklies=2)
