"""common/feeds.py: judging a feed's snapshot on an injected clock, and the reader on a real
redis-server (snapshots written as the publisher writes them: its own script)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
import redis

from common.feeds import (
    FeedReader,
    FeedState,
    ProductHealth,
    VenueHealth,
    judge,
)
from common.names import FEED_VENUES_KEY, feed_health_key
from common.timestamps import format_ts

AT = dt.datetime(2026, 12, 5, 10, 0, 0, tzinfo=dt.UTC)


def _health(venue: str = "deribit", *, at: dt.datetime = AT) -> VenueHealth:
    return VenueHealth(
        venue=venue,
        state=FeedState.LIVE,
        state_age_s=30.0,
        at=format_ts(at),
        last_message_age_s=0.5,
        messages_per_s=120.0,
        messages=4000,
        reconnects=2,
        resyncs=3,
        dead_letters=1,
        products=[
            ProductHealth(
                product="BTC", last_message_age_s=0.5, messages_per_s=80.0, messages=3000,
                dead_letters=1,
            ),
            ProductHealth(
                product="ETH", last_message_age_s=9.0, messages_per_s=40.0, messages=1000,
                dead_letters=0,
            ),
            ProductHealth(
                product="SOL", last_message_age_s=None, messages_per_s=0.0, messages=0,
                dead_letters=0,
            ),
        ],
    )  # fmt: skip


def test_a_fresh_snapshot_keeps_its_state_and_ages_by_its_age() -> None:
    status = judge(_health(), AT + dt.timedelta(seconds=2), stale_after_s=6, product_stale_s=10)
    assert (status.state, status.reported_state, status.stale) == (FeedState.LIVE,) * 2 + (False,)
    assert status.snapshot_age_s == 2.0
    assert status.state_age_s == 32.0
    assert status.last_message_age_s == 2.5
    assert (status.messages, status.reconnects, status.resyncs, status.dead_letters) == (
        4000, 2, 3, 1,
    )  # fmt: skip
    ages = {p.product: (p.last_message_age_s, p.stale) for p in status.products}
    # ETH's 9 s grew to 11 s, past 10: stale; SOL never sent: stale
    assert ages == {"BTC": (2.5, False), "ETH": (11.0, True), "SOL": (None, True)}


def test_a_stale_snapshot_shows_its_feed_down_and_every_product_stale() -> None:
    status = judge(_health(), AT + dt.timedelta(seconds=6.5), stale_after_s=6, product_stale_s=10)
    assert (status.state, status.reported_state, status.stale) == (
        FeedState.DOWN, FeedState.LIVE, True,
    )  # fmt: skip
    assert status.snapshot_age_s == 6.5
    assert [p.stale for p in status.products] == [True, True, True]


def test_a_writer_clock_ahead_of_the_reader_never_makes_ages_shrink() -> None:
    status = judge(_health(), AT - dt.timedelta(seconds=1))
    assert status.snapshot_age_s == 0.0
    assert status.last_message_age_s == 0.5


def _put(client: redis.Redis, health: VenueHealth | bytes, venue: str, ttl_ms: int) -> None:
    """As the publisher writes: the snapshot with PXAT and the index scored alike."""
    raw = health if isinstance(health, bytes) else msgspec.json.encode(health)
    seconds, micros = client.time()
    deadline = int(seconds) * 1000 + int(micros) // 1000 + ttl_ms
    client.set(feed_health_key(venue), raw, pxat=deadline)
    client.zadd(FEED_VENUES_KEY, {venue: deadline})


@pytest.mark.redis
def test_the_reader_lists_live_venues_and_judges_them_on_its_clock(
    redis_client: redis.Redis,
) -> None:
    _put(redis_client, _health("synthetic"), "synthetic", 60_000)
    _put(redis_client, _health("deribit"), "deribit", 60_000)
    _put(redis_client, b"{not json", "broken", 60_000)
    _put(redis_client, _health("gone"), "gone", -1)  # its entry already expired
    now = AT + dt.timedelta(seconds=1)
    reader = FeedReader(redis_client, clock=lambda: now)

    assert reader.venues() == ["broken", "deribit", "synthetic"]
    answer = reader.statuses()
    assert [(f.venue, f.state, f.snapshot_age_s) for f in answer.feeds] == [
        ("deribit", FeedState.LIVE, 1.0), ("synthetic", FeedState.LIVE, 1.0),
    ]  # fmt: skip
    now = AT + dt.timedelta(seconds=60)
    assert [(f.venue, f.state, f.stale) for f in reader.statuses().feeds] == [
        ("deribit", FeedState.DOWN, True), ("synthetic", FeedState.DOWN, True),
    ]  # fmt: skip


@pytest.mark.redis
def test_a_snapshot_with_a_bad_instant_is_left_out(redis_client: redis.Redis) -> None:
    bad = msgspec.structs.replace(_health(), at="yesterday")
    _put(redis_client, bad, "deribit", 60_000)
    assert FeedReader(redis_client).statuses().feeds == []


@pytest.mark.redis
def test_nothing_published_reads_as_no_feeds(redis_client: redis.Redis) -> None:
    assert FeedReader(redis_client).statuses().feeds == []
