"""The clock a Kite simulator runs on in a test: a quiet point of the week, whatever the day.

:class:`~feed_generator.venues.kite.sim.KiteSim` lists and prices its options at its
clock's instant. NIFTY expires on Tuesdays and BANKNIFTY on Wednesdays (and both on the
month's last Tuesday) at 10:00 UTC; in the last day or so before an expiry the far strikes
are worth less than the 0.05 tick and are quoted with no bid, as the venue quotes them. A
test that asserts every quote has a bid runs the simulator on :func:`clock_between_expiries`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from feed_generator.expiries import Weekday

QUIET_WEEKDAY = Weekday.THURSDAY
QUIET_TIME_UTC = dt.time(4, 0)
"""Thursday 04:00 UTC: 18 h after BANKNIFTY's weekly expiry and at least 5 days 6 h before
the next expiry of either index. Every one of the 21 strikes of a chain (10 either side)
has a bid of several rupees then, and keeps one until Monday morning (NIFTY) at the
earliest."""


def clock_from(start: dt.datetime) -> Callable[[], float]:
    """A clock (Unix seconds) that reads ``start`` (aware) now and runs on at the wall
    clock's pace."""
    offset = start.timestamp() - time.time()
    return lambda: time.time() + offset


def next_quiet_instant(now: dt.datetime) -> dt.datetime:
    """The first Thursday 04:00 UTC after ``now`` (aware)."""
    now = now.astimezone(dt.UTC)
    days = (QUIET_WEEKDAY - now.weekday()) % 7
    instant = dt.datetime.combine(now.date() + dt.timedelta(days=days), QUIET_TIME_UTC, dt.UTC)
    return instant if instant > now else instant + dt.timedelta(days=7)


def clock_between_expiries() -> Callable[[], float]:
    """A clock that reads the coming Thursday 04:00 UTC now, then runs on: a simulator on it
    quotes every listed strike with a bid whatever the day the test runs.

    The clock only runs ahead of the wall clock, so the expiries the simulator lists are
    still to come for a connector that judges them by the wall clock. Every message is
    stamped with the simulator's exchange time, so time to expiry and IV agree with the
    simulator's pricing; the simulator's own waits (heartbeats, its ``/quote`` rate) take
    differences of this clock, which the offset leaves unchanged.
    """
    return clock_from(next_quiet_instant(dt.datetime.now(dt.UTC)))
