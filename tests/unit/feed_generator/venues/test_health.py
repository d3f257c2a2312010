"""Feed health on a fake clock: states, ages, the sliding message rate, counters, the snapshot."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from feed_generator.venues.health import FeedHealth, FeedState, VenueHealth, health_key
from tests.support.clock import FakeClock

WALL = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def _health(clock: FakeClock, window_s: float = 10.0) -> FeedHealth:
    return FeedHealth("deribit", window_s=window_s, clock=clock, wall=lambda: WALL)


def test_a_new_feed_is_connecting_with_nothing_heard() -> None:
    clock = FakeClock()
    snap = _health(clock).snapshot()
    assert snap.state is FeedState.CONNECTING
    assert snap.last_message_age_s is None
    assert snap.messages_per_s == 0.0
    assert snap.products == []
    assert snap.at == "2026-12-05T12:00:00.000Z"


def test_state_age_restarts_only_on_a_change() -> None:
    clock = FakeClock()
    health = _health(clock)
    clock.advance(2.0)
    health.set_state(FeedState.LIVE)
    clock.advance(3.0)
    health.set_state(FeedState.LIVE)
    assert health.snapshot().state_age_s == pytest.approx(3.0)
    health.set_state(FeedState.DEGRADED)
    assert health.snapshot().state is FeedState.DEGRADED
    assert health.snapshot().state_age_s == 0.0


def test_rates_over_a_sliding_window_and_ages_per_product() -> None:
    clock = FakeClock()
    health = _health(clock, window_s=10.0)
    for _ in range(200):  # 20 s at 10 BTC messages/s, then ETH for the last 5 s
        health.on_message("BTC")
        if clock.elapsed >= 15.0:
            health.on_message("ETH", count=2)
        clock.advance(0.1)
    snap = health.snapshot()
    btc, eth = snap.products
    assert (btc.product, eth.product) == ("BTC", "ETH")
    assert btc.messages == 200
    assert btc.messages_per_s == pytest.approx(10.0, abs=1.0)
    assert eth.messages_per_s == pytest.approx(10.0, abs=1.0)  # 100 messages in the window
    assert btc.last_message_age_s == pytest.approx(0.1)
    assert snap.messages_per_s == pytest.approx(btc.messages_per_s + eth.messages_per_s)
    clock.advance(30.0)  # silence: the window empties, the ages grow
    snap = health.snapshot()
    assert snap.messages_per_s == 0.0
    assert snap.last_message_age_s == pytest.approx(30.1)


def test_the_rate_before_a_full_window_is_over_the_time_elapsed() -> None:
    clock = FakeClock()
    health = _health(clock, window_s=10.0)
    clock.advance(2.0)
    health.on_message("BTC", count=40)
    assert health.snapshot().messages_per_s == pytest.approx(20.0)


def test_counters_and_dead_letters() -> None:
    clock = FakeClock()
    health = _health(clock)
    health.on_reconnect()
    health.on_reconnect()
    health.on_resync()
    health.on_dead_letter()
    health.on_dead_letter("ETH")
    snap = health.snapshot()
    assert (snap.reconnects, snap.resyncs, snap.dead_letters) == (2, 1, 2)
    assert [(p.product, p.dead_letters, p.last_message_age_s) for p in snap.products] == [
        ("ETH", 1, None)
    ]


def test_the_snapshot_round_trips_as_json_for_redis() -> None:
    clock = FakeClock()
    health = _health(clock)
    health.session = "simulated"
    health.set_state(FeedState.LIVE)
    health.on_message("NIFTY")
    snap = health.snapshot()
    raw = msgspec.json.encode(snap)
    assert msgspec.json.decode(raw, type=VenueHealth) == snap
    assert msgspec.json.decode(raw)["state"] == "live"
    assert msgspec.json.decode(raw)["session"] == "simulated"
    assert health_key("deribit") == "feed:health:deribit"


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_s"):
        FeedHealth("x", window_s=0.0)
