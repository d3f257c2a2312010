"""The Deribit simulator as a test process, and the settings that point a feed at it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

from feed_generator.venues.deribit.instruments import EXPIRY_TIME_UTC
from tests.support.processes import PYTHON, ProcessSet, free_port

SMALL_UNIVERSE = ("--interval", "0.5", "--expiries", "2", "--strikes-per-side", "4")
"""BTC and ETH, 2 expiries of 9 strikes, calls and puts, 2 updates a second: enough to
check values and recoveries, not throughput."""


def start_deribit_sim(
    procs: ProcessSet, args: Sequence[str] = SMALL_UNIVERSE, name: str = "sim"
) -> int:
    """Start ``feed_generator.venues.deribit.sim`` on a free port as ``name``; once it says
    it is ready, its port."""
    port = free_port()
    argv = [PYTHON, "-m", "feed_generator.venues.deribit.sim", "--port", str(port), *args]
    procs.start(name, argv, ready="deribit simulator ready")
    return port


def deribit_settings(port: int, currencies: str = "BTC,ETH") -> dict[str, str]:
    """The ``DERIBIT_*`` settings of a feed on the simulator at ``port``."""
    return {
        "DERIBIT_WS_URL": f"ws://127.0.0.1:{port}/ws/api/v2",
        "DERIBIT_REST_URL": f"http://127.0.0.1:{port}/api/v2",
        "DERIBIT_CURRENCIES": currencies,
    }


SIM_CLOCKS = ("now", "50 min before an expiry")
"""The clocks an IV test runs the simulator on (``sim_clock``), as ``parametrize`` ids."""


def sim_clock(name: str) -> Callable[[], float]:
    """The clock of :data:`SIM_CLOCKS` named ``name``: the wall clock, or one 50 minutes
    before the simulator's next expiry."""
    if name not in SIM_CLOCKS:
        raise ValueError(f"unknown simulator clock {name!r}")
    return time.time if name == "now" else clock_before_expiry(50.0)


def clock_before_expiry(minutes: float) -> Callable[[], float]:
    """A clock (Unix seconds) that reads ``minutes`` before the simulator's next expiry
    instant, then runs on: a simulator on it lists an option in its last hour whatever the
    time of day the test runs at."""
    now = dt.datetime.now(dt.UTC)
    target = dt.datetime.combine(now.date(), EXPIRY_TIME_UTC, dt.UTC)
    target -= dt.timedelta(minutes=minutes)
    if target <= now:
        target += dt.timedelta(days=1)
    offset = (target - now).total_seconds()
    return lambda: time.time() + offset
