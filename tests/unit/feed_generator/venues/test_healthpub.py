"""feed_generator/venues/healthpub.py on a real redis-server: the snapshot and its index, read
back through common/feeds.py; the TTL; the run loop's last snapshot; a Redis outage."""

from __future__ import annotations

import datetime as dt
import threading

import msgspec
import pytest
import redis

from common.feeds import FeedReader, FeedState, VenueHealth
from common.names import FEED_VENUES_KEY, feed_health_key
from common.redis_client import make_redis
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.healthpub import HealthPublisher, publishing_health
from tests.support.processes import wait_until

pytestmark = pytest.mark.redis

WALL = dt.datetime(2026, 12, 5, 10, 0, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _health(venue: str, clock: Clock) -> FeedHealth:
    return FeedHealth(venue, clock=clock, wall=lambda: WALL)


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_snapshots_land_with_their_index_and_read_back(redis_client: redis.Redis) -> None:
    clock = Clock()
    deribit, synthetic = _health("deribit", clock), _health("synthetic", clock)
    deribit.set_state(FeedState.LIVE)
    deribit.on_message("BTC", 30)
    deribit.on_reconnect()
    deribit.on_dead_letter("BTC")
    clock.now += 2.0
    publisher = HealthPublisher(redis_client, [deribit, synthetic], interval_s=1.0, ttl_s=5.0)

    assert publisher.publish_once()
    raw = redis_client.get(feed_health_key("deribit"))
    assert isinstance(raw, bytes)
    assert msgspec.json.decode(raw, type=VenueHealth) == deribit.snapshot()
    ttl_ms = redis_client.pttl(feed_health_key("deribit"))
    assert 4000 < ttl_ms <= 5000
    scores: dict[bytes, float] = dict(redis_client.zrange(FEED_VENUES_KEY, 0, -1, withscores=True))  # type: ignore[arg-type]
    assert set(scores) == {b"deribit", b"synthetic"}
    assert 4000 < scores[b"deribit"] - _server_ms(redis_client) <= 5000
    assert redis_client.pttl(FEED_VENUES_KEY) > 4000  # the index expires with its members

    feeds = FeedReader(redis_client, clock=lambda: WALL + dt.timedelta(seconds=1)).statuses()
    btc = feeds.feeds[0].products[0]
    assert [(f.venue, f.state, f.reconnects) for f in feeds.feeds] == [
        ("deribit", FeedState.LIVE, 1), ("synthetic", FeedState.CONNECTING, 0),
    ]  # fmt: skip
    assert (btc.product, btc.messages, btc.dead_letters, btc.last_message_age_s) == (
        "BTC", 30, 1, 3.0,
    )  # fmt: skip


def test_an_expired_venue_leaves_the_index_at_the_next_write(redis_client: redis.Redis) -> None:
    clock = Clock()
    HealthPublisher(
        redis_client, [_health("old", clock)], interval_s=0.01, ttl_s=0.02
    ).publish_once()
    HealthPublisher(redis_client, [_health("new", clock)]).publish_once()
    reader = FeedReader(redis_client)
    # "old" leaves the reader's view once Redis's clock passes its instant (its key expires
    # then too), and the set at the next write after that
    assert wait_until(lambda: redis_client.get(feed_health_key("old")) is None, 2.0, 0.01)
    assert reader.venues() == ["new"]
    assert redis_client.zrange(FEED_VENUES_KEY, 0, -1) == [b"old", b"new"]  # by instant
    HealthPublisher(redis_client, [_health("new", clock)]).publish_once()
    assert redis_client.zrange(FEED_VENUES_KEY, 0, -1) == [b"new"]


def test_the_run_writes_at_once_and_a_last_snapshot_at_stop(redis_client: redis.Redis) -> None:
    clock = Clock()
    health = _health("synthetic", clock)
    health.set_state(FeedState.LIVE)
    publisher = HealthPublisher(redis_client, [health], interval_s=3600.0, ttl_s=7200.0)
    with publishing_health(publisher):
        health.set_state(FeedState.DOWN)  # the venue's run ended
    assert publisher.published == 2  # at the start, and at the stop (not the hourly period)
    raw = redis_client.get(feed_health_key("synthetic"))
    assert isinstance(raw, bytes)
    assert msgspec.json.decode(raw, type=VenueHealth).state is FeedState.DOWN


def test_a_redis_outage_is_counted_and_the_loop_goes_on() -> None:
    dead = make_redis("redis://127.0.0.1:9/0", socket_timeout=0.2, retries=0)
    publisher = HealthPublisher(dead, [_health("deribit", Clock())], interval_s=0.01, ttl_s=1.0)
    stop = threading.Event()
    stop.set()
    publisher.run(stop)  # never raises
    assert (publisher.published, publisher.failures) == (0, 2)


@pytest.mark.parametrize(("interval", "ttl"), [(0.0, 1.0), (2.0, 2.0)])
def test_a_ttl_must_outlive_the_period(
    redis_client: redis.Redis, interval: float, ttl: float
) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        HealthPublisher(redis_client, [], interval_s=interval, ttl_s=ttl)
