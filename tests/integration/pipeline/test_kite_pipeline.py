"""Kite through the whole pipeline: simulator → feed → subscriber → Celery → ``latest:*``.

Real processes and a real Redis: the Kite simulator serves its ticker and REST on a free
port from the test's process (on a clock between two expiries, ``tests/support/kite_sim.py``),
``python -m feed_generator --venue kite-sim`` connects to it (``KITE_SIM_PORT``, the
simulator's own key and token), and the enriched NIFTY and BANKNIFTY chains must reach the
cache in rupees, with OI, bid ≤ ask from the depth, the 15:30 IST expiry and sane IVs.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from common.latest import LatestReader
from common.names import Channel, feed_health_key
from feed_generator.venues.kite.sim import KiteSim
from feed_generator.venues.kite.sim.market import KiteMarket
from tests.support.kite_sim import clock_between_expiries
from tests.support.processes import PYTHON, ProcessSet, wait_until
from tests.support.pubsub import Collector

pytestmark = [pytest.mark.redis, pytest.mark.slow]

UNDERLYINGS = ("NIFTY", "BANKNIFTY")


@pytest.fixture
def sim() -> Iterator[KiteSim]:
    """The simulator on a free port, on a clock between two expiries (close to one the far
    strikes have no bid, and the test asserts a bid of every quote and row). A small
    universe ticking twice a second: the test checks values, not throughput."""
    clock = clock_between_expiries()
    now = dt.datetime.fromtimestamp(clock(), dt.UTC)
    market = KiteMarket(now, expiries=2, strikes_per_side=4)
    server = KiteSim(market, interval=0.5, clock=clock).start_in_thread()
    yield server
    server.stop_thread()


def _start_feed(procs: ProcessSet, redis_url: str, port: int) -> None:
    env = {"KITE_SIM_PORT": str(port), "KITE_STRIKES_AROUND": "4", "FEED_VENUES": "synthetic"}
    feed = [PYTHON, "-m", "feed_generator", "--venue", "kite-sim", "--redis-url", redis_url]
    procs.start("feed", feed, env=env)


def _on_tick(price: float) -> bool:
    """A multiple of 5 paise, Kite's option tick."""
    return abs(price * 20 - round(price * 20)) < 1e-6


def _check_quotes(raw: list[tuple[str, str]]) -> int:
    """Every raw option quote in rupees on the tick, bid ≤ ask, OI; returns how many."""
    checked = 0
    for channel, data in raw:
        if channel != Channel.MARKET_OPTION_QUOTE:
            continue
        q = json.loads(data)
        assert (q["venue"], q["currency"]) == ("kite", "INR"), q
        assert 0 < q["bid"] <= q["ask"], q
        assert all(_on_tick(q[k]) for k in ("bid", "ask", "last")), q
        assert q["oi"] > 0, q
        checked += 1
    return checked


def _check_chain(chain: dict[str, Any]) -> list[float]:
    """The Kite fields of one enriched chain; returns the IVs of its rows near the money."""
    assert (chain["venue"], chain["currency"]) == ("kite", "INR")
    assert chain["expiry_ts"] == f"{chain['expiry']}T10:00:00.000Z"  # 15:30 IST
    spot = chain["spot_price"]
    assert chain["strikes"][0] < spot < chain["strikes"][-1]  # strikes around the money
    assert len(chain["strikes"]) == 9  # the nearest and 4 either side
    ivs = []
    for rows in (chain["calls"], chain["puts"]):
        for row in rows:
            assert 0 < row["bid"] <= row["ask"], row
            assert row["oi"] > 0, row
            if abs(row["strike"] / spot - 1) < 0.02 and row["iv"] is not None:
                ivs.append(row["iv"])
    return ivs


@pytest.mark.timeout(120)
def test_kite_chains_reach_the_cache_in_rupees_with_oi_depth_and_sane_iv(
    procs: ProcessSet, redis_url: str, redis_client: redis.Redis, sim: KiteSim
) -> None:
    procs.worker()
    procs.subscriber()
    market = Collector(redis_url, (Channel.MARKET_OPTION_QUOTE,))
    _start_feed(procs, redis_url, sim.port)
    latest = LatestReader(redis_client)

    def both_cached() -> bool:
        return all(len(latest.expiries(u)) == 2 for u in UNDERLYINGS)

    assert wait_until(both_cached, 60, interval=0.2), procs.log("feed")[-3000:]
    procs.kill("feed", signal.SIGTERM)
    assert procs.wait("feed", 30) == 0, procs.log("feed")[-3000:]
    assert _check_quotes(market.stop()) >= 72  # 2 underlyings × 2 expiries × 9 strikes × 2
    health = json.loads(redis_client.get(feed_health_key("kite-sim")) or "{}")
    assert health["state"] == "down"  # the last snapshot of a clean stop
    assert {p["product"] for p in health["products"]} >= set(UNDERLYINGS)
    ivs = []
    for underlying in UNDERLYINGS:
        tick = json.loads(latest.underlying(underlying) or "{}")
        assert (tick["venue"], tick["currency"]) == ("kite", "INR")
        for expiry in latest.expiries(underlying):
            chain = json.loads(latest.chain(underlying, expiry) or "{}")
            assert chain["spot_price"] == pytest.approx(tick["price"], rel=0.02)
            ivs += _check_chain(chain)
    assert len(ivs) >= 8
    # The simulator prices on the synthetic market's index smile (10-25 % near the money).
    assert all(0.05 < iv < 0.6 for iv in ivs), sorted(ivs)
    assert not redis_client.keys("deadletter:*")
