"""Epoch milliseconds, request ranges and expiries in time."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics_service.calc.expiries import days_to_expiry, live_expiries, nearest_expiry
from analytics_service.calc.ranges import RangeError, resolve_range
from analytics_service.calc.times import DAY_MS, HOUR_MS, ceil_ms, from_ms, to_ms, wire, wire_ms
from common.products import DERIBIT, ProductConventions

T0 = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
T0_MS = 1_795_233_600_000
TEN_UTC = ProductConventions(expiry_time=dt.time(10, 0))
"""The NSE products' conventions: options expire at 10:00 UTC."""


def test_milliseconds_round_trip_and_round() -> None:
    assert to_ms(T0) == T0_MS
    assert to_ms(T0.replace(tzinfo=None)) == T0_MS  # naive means UTC
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert to_ms(T0.astimezone(ist)) == T0_MS
    half = T0 + dt.timedelta(microseconds=1500)
    assert (to_ms(half), ceil_ms(half)) == (T0_MS + 1, T0_MS + 2)
    assert ceil_ms(T0) == T0_MS
    assert from_ms(T0_MS + 123) == T0 + dt.timedelta(milliseconds=123)
    assert wire(T0_MS + 123) == "2026-11-21T04:00:00.123Z"
    assert wire_ms("2026-11-21T04:00:00.123Z") == T0_MS + 123


def test_range_defaults_to_the_last_hour() -> None:
    now = T0_MS
    assert resolve_range(None, None, now) == (now - HOUR_MS, now)
    assert resolve_range(now - 5 * HOUR_MS, None, now) == (now - 5 * HOUR_MS, now)
    assert resolve_range(None, now - DAY_MS, now) == (now - DAY_MS - HOUR_MS, now - DAY_MS)
    assert resolve_range(now - 31 * DAY_MS, now, now) == (now - 31 * DAY_MS, now)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (T0_MS, T0_MS, "end"),  # empty
        (T0_MS + 1, T0_MS, "end"),
        (T0_MS - 31 * DAY_MS - 1, T0_MS, "start"),  # one millisecond over 31 days
        (T0_MS + 1, None, "end"),  # start after now: the default end is named, as storage does
        (T0_MS, None, "end"),
    ],
)
def test_range_errors_name_the_field(start: int, end: int | None, field: str) -> None:
    with pytest.raises(RangeError) as err:
        resolve_range(start, end, T0_MS)
    assert err.value.field == field


def test_range_names_and_unbounded_span() -> None:
    far = T0_MS - 400 * DAY_MS
    assert resolve_range(far, T0_MS, T0_MS, max_span=None) == (far, T0_MS)
    with pytest.raises(RangeError) as err:
        resolve_range(T0_MS, T0_MS - 1, T0_MS, names=("from", "to"), max_span=None)
    assert err.value.field == "to"


def test_days_to_expiry_are_calendar_days() -> None:
    # 2026-11-21T04:00Z → 2026-11-26T10:00Z: 5 days 6 hours = 5.25 days (T = 5.25/365 years)
    assert days_to_expiry("2026-11-26", T0_MS, TEN_UTC) == 5.25
    # 2026-11-21T04:00Z → 2026-12-31T10:00Z: 10 days to Dec 1, then 30, then 6 hours
    assert days_to_expiry("2026-12-31", T0_MS, TEN_UTC) == 40.25
    assert days_to_expiry("2026-11-21", T0_MS, TEN_UTC) == 0.25
    assert days_to_expiry("2026-11-20", T0_MS, TEN_UTC) == -0.75


def test_nearest_expiry_is_the_first_still_alive() -> None:
    expiries = ["2026-12-31", "2026-11-20", "2026-11-21", "2026-11-26"]
    assert live_expiries(expiries, T0_MS, TEN_UTC) == ["2026-11-21", "2026-11-26", "2026-12-31"]
    assert nearest_expiry(expiries, T0_MS, TEN_UTC) == "2026-11-21"
    ten = T0_MS + 6 * HOUR_MS  # 10:00 exactly: the 21st has expired
    assert nearest_expiry(expiries, ten, TEN_UTC) == "2026-11-26"
    assert nearest_expiry(expiries, ten - 1, TEN_UTC) == "2026-11-21"
    assert nearest_expiry(["2026-11-20"], T0_MS, TEN_UTC) is None


def test_btc_expires_at_0800_utc_or_at_the_venues_instant() -> None:
    # 2026-11-21T04:00Z → 2026-11-26T08:00Z: 5 days 4 hours (NSE: 10:00, 5.25 days)
    assert days_to_expiry("2026-11-26", T0_MS, DERIBIT) == 5 + 4 / 24
    assert days_to_expiry("2026-11-26", T0_MS, DERIBIT, "2026-11-26T08:30:00.000Z") == 5 + 4.5 / 24
    eight = T0_MS + 4 * HOUR_MS  # 08:00 exactly: BTC's 21st has expired, NIFTY's has not
    expiries = ["2026-11-21", "2026-11-26"]
    assert nearest_expiry(expiries, eight - 1, DERIBIT) == "2026-11-21"
    assert nearest_expiry(expiries, eight, DERIBIT) == "2026-11-26"
    assert live_expiries(expiries, eight, TEN_UTC) == expiries
