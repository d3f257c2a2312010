"""Epoch-aligned buckets and the last snapshot of each."""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import pytest

from analytics_service.calc.resample import (
    Bucket,
    Interval,
    bucket_count,
    buckets,
    ceil_to,
    day_periods,
    floor_to,
    last_in_bucket,
    resample,
)
from analytics_service.calc.times import wire, wire_ms

T0 = wire_ms("2026-11-21T04:00:00.000Z")  # 1_795_233_600_000 ms, a whole hour
M = 60_000


def newest_at_from(snapshots: list[dict[str, Any]]) -> Any:
    """An in-memory ``Store.chain_at``: the newest (timestamp, seq) at or before ``ms``."""
    ordered = sorted(snapshots, key=lambda s: (wire_ms(s["timestamp"]), s["seq"]))
    keys = [wire_ms(s["timestamp"]) for s in ordered]

    def newest_at(ms: int) -> dict[str, Any] | None:
        i = bisect.bisect_right(keys, ms)
        return ordered[i - 1] if i else None

    return newest_at


def snap(seq: int, offset_ms: int) -> dict[str, Any]:
    return {"seq": seq, "timestamp": wire(T0 + offset_ms)}


def test_interval_widths() -> None:
    assert [i.ms for i in Interval] == [60_000, 300_000, 900_000, 3_600_000]
    assert [i.minutes for i in Interval] == [1, 5, 15, 60]
    assert T0 % 3_600_000 == 0


def test_alignment_is_to_the_epoch() -> None:
    # 04:07:30.5 lies in the 5-minute bucket 04:05 and the hour 04:00
    ms = T0 + 7 * M + 30_500
    assert floor_to(ms, Interval.FIVE_MINUTES.ms) == T0 + 5 * M
    assert floor_to(ms, Interval.ONE_HOUR.ms) == T0
    assert ceil_to(ms, Interval.FIFTEEN_MINUTES.ms) == T0 + 15 * M
    assert ceil_to(T0, Interval.ONE_HOUR.ms) == T0


def test_buckets_meet_the_range_and_are_clipped() -> None:
    # [04:02:30, 04:12:00) at 5 minutes: 04:00 (from 04:02:30), 04:05, 04:10 (until 04:12)
    start, end = T0 + 2 * M + 30_000, T0 + 12 * M
    assert bucket_count(start, end, 5 * M) == 3
    assert buckets(start, end, 5 * M) == [
        Bucket(T0, start, T0 + 5 * M),
        Bucket(T0 + 5 * M, T0 + 5 * M, T0 + 10 * M),
        Bucket(T0 + 10 * M, T0 + 10 * M, end),
    ]
    assert bucket_count(T0, T0 + 60 * M, M) == 60  # end exclusive: 04:00 … 04:59
    assert bucket_count(T0, T0 + 1, M) == 1
    assert bucket_count(T0, T0, M) == 0
    assert buckets(T0 + M, T0, M) == []


def test_three_snapshots_in_two_minute_buckets_keep_the_last_of_each() -> None:
    # 04:00:10 and 04:00:50 share the 04:00 bucket; 04:01:30 is alone in 04:01
    snapshots = [snap(1, 10_000), snap(2, 50_000), snap(3, 90_000)]
    picked = resample(buckets(T0, T0 + 3 * M, M), newest_at_from(snapshots))
    assert [(b.start, s["seq"]) for b, s in picked] == [(T0, 2), (T0 + M, 3)]
    # the 04:02 bucket would find 04:01:30 at its end, which is older than it: left out


def test_same_millisecond_takes_the_highest_seq_and_edges_are_exact() -> None:
    snapshots = [snap(7, 59_999), snap(5, 59_999), snap(9, 60_000)]
    newest_at = newest_at_from(snapshots)
    first, second = buckets(T0, T0 + 2 * M, M)
    assert last_in_bucket(first, newest_at) == snap(7, 59_999)  # 04:00:59.999 < 04:01
    assert last_in_bucket(second, newest_at) == snap(9, 60_000)  # 04:01:00.000 opens 04:01


def test_a_clipped_bucket_ignores_snapshots_before_the_range() -> None:
    snapshots = [snap(1, 10_000), snap(2, 50_000)]
    # range starts 04:00:51: the 04:00 bucket is [04:00:51, 04:01) and holds nothing
    assert resample(buckets(T0 + 51_000, T0 + 2 * M, M), newest_at_from(snapshots)) == []
    # starting 04:00:30 it holds seq 2
    picked = resample(buckets(T0 + 30_000, T0 + M, M), newest_at_from(snapshots))
    assert [(b.start, s["seq"]) for b, s in picked] == [(T0, 2)]


@pytest.mark.parametrize(("interval", "expected"), [("1m", 1500), ("5m", 300), ("1h", 25)])
def test_bucket_counts_over_25_hours(interval: str, expected: int) -> None:
    assert bucket_count(T0, T0 + 1500 * M, Interval(interval).ms) == expected


DAY = 86_400_000


@pytest.mark.parametrize("per_day", [1, 5, 7, 24, 96, 11, 13])
def test_day_periods_start_every_day_at_midnight(per_day: int) -> None:
    start, end = T0 - 3 * DAY + 17, T0 + 5 * 60 * M  # 3 days back from 04:00 to 09:00
    periods = day_periods(start, end, per_day)
    # contiguous, clipped to the range, and each day's first period starts at midnight
    assert (periods[0].lo, periods[-1].hi) == (start, end)
    assert all(a.hi == b.lo == b.start for a, b in itertools.pairwise(periods))
    starts = {p.start for p in periods}
    midnights = range(floor_to(start, DAY) + DAY, end, DAY)
    assert set(midnights) <= starts
    # period j of a day starts round(j · day / per_day) after midnight: never drifts
    for p in periods[1:]:
        offset = p.start % DAY
        j = round(offset * per_day / DAY)
        assert offset == round(j * DAY / per_day)
    assert len(periods) == len(set(starts))
    widths = {p.hi - p.lo for p in periods[1:-1]}
    assert max(widths) - min(widths) <= 1  # the day split as evenly as milliseconds allow


@pytest.mark.parametrize("per_day", [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96])
def test_day_periods_of_a_divisor_are_the_epoch_buckets(per_day: int) -> None:
    start, end = T0 - 2 * DAY + 1, T0 + 1
    assert day_periods(start, end, per_day) == buckets(start, end, DAY // per_day)


def test_day_periods_of_an_empty_range() -> None:
    assert day_periods(T0, T0, 7) == []
    assert day_periods(T0 + 1, T0, 7) == []
    # 04:00 lies in the second seventh of the day: 03:25:42.857 to 06:51:25.714
    (period,) = day_periods(T0, T0 + 1, 7)
    assert (wire(period.start), period.lo, period.hi) == ("2026-11-21T03:25:42.857Z", T0, T0 + 1)
