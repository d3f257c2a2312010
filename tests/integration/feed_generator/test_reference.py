"""Two venue threads pricing BTC through ``run_venues`` and the reference router, into a real
Redis: one reference tick series with its sources on ``market:underlying``, and the
``reference`` feed health with each source's state (one falls silent and shows stale)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import redis

from common.feeds import FeedReader, FeedStatus
from common.messages import encode_message
from common.messages.market import UnderlyingTick
from common.settings import ReferenceSettings, load_settings
from common.timestamps import now_ts
from feed_generator.cli import run_venues
from feed_generator.publisher import RedisSink, Sink, publishing_client
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.healthpub import HealthPublisher, publishing_health
from feed_generator.venues.reference.wiring import reference_routing
from tests.support.processes import wait_until
from tests.support.pubsub import Collector

pytestmark = pytest.mark.redis

Checker = Callable[[list[tuple[str, str]]], dict[tuple[str, str], list[dict[str, Any]]]]


class SpotVenue:
    """Publishes a BTC tick every 50 ms as venue ``name`` for ``for_s`` seconds, then idles."""

    def __init__(self, name: str, price: float, for_s: float) -> None:
        self.name, self.price, self.for_s = name, price, for_s
        self.health = FeedHealth(name)
        self.products = ["BTC"]

    def run(self, sinks: Sequence[Sink], stop: threading.Event) -> None:
        self.health.set_state(FeedState.LIVE)
        seq, deadline = 1, time.monotonic() + self.for_s
        while not stop.wait(0.05) and time.monotonic() < deadline:
            tick = UnderlyingTick(
                type="underlying",
                product="BTC",
                price=self.price,
                volume=1,
                timestamp=now_ts(),
                seq=seq,
                venue=self.name,
                currency="USD",
            )
            data = encode_message(tick).decode()
            for sink in sinks:
                sink.send([(0.0, "market:underlying", data)])
            seq += 1
        stop.wait()  # silent from here on, still connected (a venue that returns ends the run)


def reference_of(reader: FeedReader) -> FeedStatus | None:
    return next((f for f in reader.statuses().feeds if f.venue == "reference"), None)


def test_two_venues_make_one_reference_series_with_its_sources_and_health(
    redis_url: str, redis_client: redis.Redis, collector: Collector, check_stream: Checker
) -> None:
    rules = ReferenceSettings(emit_interval_s=0.1, stale_after_s=0.5)
    settings = dataclasses.replace(load_settings(), reference=rules)
    venues = [SpotVenue("binance", 100_000.0, for_s=30.0), SpotVenue("coinbase", 100_020.0, 1.0)]
    sink = RedisSink(publishing_client(redis_url))
    routing = reference_routing(settings, venues, [sink])  # type: ignore[arg-type]
    publisher = HealthPublisher(sink.client, routing.healths, interval_s=0.2, ttl_s=2.0)
    reader, stop = FeedReader(redis_client), threading.Event()

    def stale_coinbase() -> bool:
        feed = reference_of(reader)
        sources = [s for p in feed.products for s in p.sources or []] if feed else []
        return {s.source: s.state.value for s in sources} == {
            "binance": "live",
            "coinbase": "stale",
        }

    with publishing_health(publisher), routing.running():
        runner = threading.Thread(target=run_venues, args=(venues, routing.sinks, stop))
        runner.start()
        try:
            assert wait_until(stale_coinbase, timeout=8.0), reference_of(reader)
        finally:
            stop.set()
            runner.join(5.0)
    feed = reference_of(reader)
    assert feed is not None
    assert feed.state.value == "down"  # the last snapshot, after the stop
    ticks = check_stream(collector.stop())[("market:underlying", "BTC")]  # seq contiguous
    assert ticks
    assert all(t["venue"] == "binance" and "sources" in t for t in ticks)  # the first seen
    both = [t for t in ticks if [s["state"] for s in t["sources"]] == ["live", "live"]]
    assert both
    assert both[-1]["price"] == pytest.approx(100_010.0)
    assert ticks[-1]["price"] == 100_000.0
    assert [s["state"] for s in ticks[-1]["sources"]] == ["live", "stale"]
    sink.close()
