"""Time buckets aligned to the UTC epoch, and one snapshot per bucket.

A bucket of width ``w`` starts at a multiple of ``w`` since 1970-01-01T00:00Z,
so a 1-hour bucket starts on the hour and a 5-minute one at :00, :05… whatever
range was asked. A bucket keeps the newest snapshot inside it (and inside the
asked range): the one :meth:`Store.chain_at` finds at the bucket's last
millisecond, when it is not older than the bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from analytics_service.calc.times import DAY_MS, HOUR_MS, MINUTE_MS, wire_ms

MAX_POINTS = 1500
"""Buckets (points, candles, samples) one request may ask for."""


class Interval(StrEnum):
    """Widths of series buckets and candles in the API."""

    ONE_MINUTE = "1m"
    FIVE_MINUTES = "5m"
    FIFTEEN_MINUTES = "15m"
    ONE_HOUR = "1h"

    @property
    def ms(self) -> int:
        """Width in milliseconds."""
        return _WIDTH_MS[self]

    @property
    def minutes(self) -> int:
        return self.ms // MINUTE_MS


_WIDTH_MS = {
    Interval.ONE_MINUTE: MINUTE_MS,
    Interval.FIVE_MINUTES: 5 * MINUTE_MS,
    Interval.FIFTEEN_MINUTES: 15 * MINUTE_MS,
    Interval.ONE_HOUR: HOUR_MS,
}


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket starting at ``start`` and the part of it inside the range, ``[lo, hi)`` (ms)."""

    start: int
    lo: int
    hi: int


def floor_to(ms: int, width: int) -> int:
    """The start of the epoch-aligned bucket of ``width`` ms holding ``ms``."""
    return ms - ms % width


def ceil_to(ms: int, width: int) -> int:
    """The first multiple of ``width`` at or after ``ms``."""
    return -(-ms // width) * width


def bucket_count(start: int, end: int, width: int) -> int:
    """How many buckets of ``width`` ms meet ``[start, end)`` (0 for an empty range)."""
    if end <= start:
        return 0
    return (floor_to(end - 1, width) - floor_to(start, width)) // width + 1


def buckets(start: int, end: int, width: int) -> list[Bucket]:
    """The epoch-aligned buckets meeting ``[start, end)``, each clipped to it, ascending."""
    first = floor_to(start, width)
    return [
        Bucket(b, max(b, start), min(b + width, end))
        for b in range(first, first + bucket_count(start, end, width) * width, width)
    ]


def _day_boundary(j: int, per_day: int) -> int:
    """Offset in the day of the start of period ``j``: round(j · DAY_MS / per_day), in integers."""
    return (2 * j * DAY_MS + per_day) // (2 * per_day)


def day_periods(start: int, end: int, per_day: int) -> list[Bucket]:
    """Each UTC day split into ``per_day`` periods, those meeting ``[start, end)``, clipped.

    Period ``j`` of a day starts round(j · DAY_MS / per_day) ms after midnight, so every
    day starts a period whatever ``per_day`` is (a fixed width of DAY_MS // per_day would
    drift off midnight when it does not divide the day).
    """
    if end <= start:
        return []
    day = floor_to(start, DAY_MS)
    offset = start - day
    j = offset * per_day // DAY_MS  # within one of the period holding start
    while _day_boundary(j + 1, per_day) <= offset:
        j += 1
    while _day_boundary(j, per_day) > offset:
        j -= 1
    periods = []
    while (lo := day + _day_boundary(j, per_day)) < end:
        hi = day + _day_boundary(j + 1, per_day)
        periods.append(Bucket(lo, max(lo, start), min(hi, end)))
        j += 1
        if j == per_day:
            day, j = day + DAY_MS, 0
    return periods


Snapshot = Mapping[str, Any]
NewestAt = Callable[[int], Snapshot | None]
"""The newest snapshot with ``timestamp <= ms``, or ``None`` (``Store.chain_at``)."""


def last_in_bucket(bucket: Bucket, newest_at: NewestAt) -> Snapshot | None:
    """The newest snapshot with ``lo <= timestamp < hi``, or ``None`` if the bucket is empty."""
    snapshot = newest_at(bucket.hi - 1)
    if snapshot is None or wire_ms(snapshot["timestamp"]) < bucket.lo:
        return None
    return snapshot


def resample(bucket_list: list[Bucket], newest_at: NewestAt) -> list[tuple[Bucket, Snapshot]]:
    """The last snapshot of each non-empty bucket, with its bucket, ascending."""
    picked = ((b, last_in_bucket(b, newest_at)) for b in bucket_list)
    return [(b, s) for b, s in picked if s is not None]
