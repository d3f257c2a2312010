"""Expiry calendars: weekly expiries on a product's weekday, monthlies on the month's last one.

Dates are computed from the simulated clock, so the listed expiries roll as
time passes: an expiry leaves the list at its expiry instant (the date at
``expiry_time_utc``, see :func:`common.timestamps.expiry_datetime`). Exchange
holidays are not modelled.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from common.timestamps import expiry_datetime


class Weekday(IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4


@dataclass(frozen=True, slots=True)
class ExpiryRule:
    """Which expiries a product lists at any moment."""

    monthly_weekday: Weekday = Weekday.TUESDAY
    monthlies: int = 3
    weekly_weekday: Weekday | None = None
    """``None``: the product has no weekly expiries."""
    weeklies: int = 0

    def __post_init__(self) -> None:
        if self.monthlies < 0 or self.weeklies < 0 or self.monthlies + self.weeklies == 0:
            raise ValueError("an expiry rule lists at least one expiry")
        if self.weeklies and self.weekly_weekday is None:
            raise ValueError("weeklies need a weekly_weekday")


def last_weekday_of_month(year: int, month: int, weekday: int) -> dt.date:
    """The last ``weekday`` (Monday = 0) of the month."""
    last_day = calendar.monthrange(year, month)[1]
    last = dt.date(year, month, last_day)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def monthly_expiries(
    moment: dt.datetime, count: int, weekday: int, expiry_time: dt.time
) -> list[dt.date]:
    """The next ``count`` monthly expiries whose instant is after ``moment`` (aware UTC)."""
    year, month = moment.year, moment.month
    found: list[dt.date] = []
    while len(found) < count:
        date = last_weekday_of_month(year, month, weekday)
        if expiry_datetime(date, expiry_time) > moment:
            found.append(date)
        year, month = _next_month(year, month)
    return found


def weekly_expiries(
    moment: dt.datetime, count: int, weekday: int, expiry_time: dt.time
) -> list[dt.date]:
    """The next ``count`` dates on ``weekday`` whose expiry instant is after ``moment``."""
    date = moment.date() + dt.timedelta(days=(weekday - moment.weekday()) % 7)
    if expiry_datetime(date, expiry_time) <= moment:
        date += dt.timedelta(days=7)
    return [date + dt.timedelta(days=7 * i) for i in range(count)]


def listed_expiries(rule: ExpiryRule, moment: dt.datetime, expiry_time: dt.time) -> list[dt.date]:
    """Sorted, distinct expiries listed at ``moment``; a weekly on a monthly date counts once."""
    dates = set(monthly_expiries(moment, rule.monthlies, rule.monthly_weekday, expiry_time))
    if rule.weekly_weekday is not None and rule.weeklies:
        dates.update(weekly_expiries(moment, rule.weeklies, rule.weekly_weekday, expiry_time))
    return sorted(dates)


class ExpiryCalendar:
    """:func:`listed_expiries` with a cache that stays valid until the next roll."""

    def __init__(self, rule: ExpiryRule, expiry_time: dt.time) -> None:
        self.rule = rule
        self.expiry_time = expiry_time
        self._dates: list[dt.date] = []
        self._valid_from = dt.datetime.max.replace(tzinfo=dt.UTC)
        self._valid_until = dt.datetime.min.replace(tzinfo=dt.UTC)

    def at(self, moment: dt.datetime) -> list[dt.date]:
        """Expiries listed at ``moment`` (aware UTC), nearest first."""
        if not self._valid_from <= moment < self._valid_until:
            self._dates = listed_expiries(self.rule, moment, self.expiry_time)
            # Each list (weekly, monthly) changes only when its own first expiry passes,
            # and the earlier of the two is the union's first.
            self._valid_from = moment
            self._valid_until = expiry_datetime(self._dates[0], self.expiry_time)
        return self._dates
