"""The pipeline with real processes when one of them is killed with SIGKILL mid-run.

Each run offers 500 messages/s for 10 s (about 900 chains), as in
``test_pipeline.py``; afterwards every chain seq published is in the store
exactly once and every tick and chain was broadcast, although a subscriber or a
worker died holding entries or batches.
"""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest

from common.embedded_redis import free_port
from common.names import SUBSCRIBER_GROUP, Channel, raw_stream_key
from common.redis_client import make_redis, redis_db_url
from store import Store
from tests.integration.pipeline.support import (
    ENRICHED,
    assert_exactly_once,
    enriched_by_seq,
    final_stats,
    published_chains,
    run_feed,
    ticks_of,
    wait_drained,
    wait_stored,
)
from tests.support.processes import ProcessSet, wait_until
from tests.support.pubsub import Collector
from worker_enricher.celery_config import BROKER_DB

pytestmark = [pytest.mark.redis, pytest.mark.slow]

MID_RUN = 2000
"""Some 4 s into the run, counted in feed messages (500 a second), not in seconds of a
machine whose pace a loaded CI changes."""


def _after_kill(
    procs: ProcessSet, redis_url: str, store: Store, market: Collector, enriched: Collector,
    survivors: list[str],
) -> tuple[Counter[tuple[str, int]], list[dict[str, int]]]:  # fmt: skip
    """Once the feed is done: every chain stored once and every tick and chain broadcast;
    the broadcast counts of the chains and the surviving subscribers' final stats."""
    assert procs.wait("feed", 60) == 0
    raw = market.stop()
    published = published_chains(raw)
    assert wait_stored(store, published, 120), procs.log("worker")[-3000:]
    assert_exactly_once(store, published)  # the store is idempotent on (product, expiry, seq)
    chains = {(p, s) for (p, _), seqs in published.items() for s in seqs}
    ticks = ticks_of(raw)
    broker = make_redis(redis_db_url(redis_url, BROKER_DB))
    assert wait_until(lambda: _pending_total(redis_url) == 0, 60)  # all claimed and acked
    assert wait_drained(broker, 60)
    broker.close()
    for name in survivors:
        procs.kill(name, signal.SIGTERM)
        assert procs.wait(name, 30) == 0
    got = enriched.stop()
    assert set(enriched_by_seq(got, Channel.ENRICHED_UNDERLYING)) == ticks  # none missing
    broadcast = Counter(
        (m["product"], m["seq"]) for c, d in got if c == Channel.ENRICHED_OPTION_CHAIN
        for m in [json.loads(d)]
    )  # fmt: skip
    assert set(broadcast) == chains  # none missing
    return broadcast, [final_stats(procs.log(name)) for name in survivors]


def _pending_total(redis_url: str) -> int:
    client = make_redis(redis_url)
    try:
        return sum(
            int(client.xpending(raw_stream_key(c), SUBSCRIBER_GROUP)["pending"])
            for c in (Channel.MARKET_UNDERLYING, Channel.MARKET_OPTION_QUOTE,
                      Channel.MARKET_OPTION_CHAIN)
        )  # fmt: skip
    finally:
        client.close()


def _slow_subscriber(procs: ProcessSet, name: str) -> None:
    """A subscriber whose broker refuses connections: it reads its share of the entries and
    keeps every batch for a retry that never succeeds, so a kill never finds it with
    nothing pending. (Adaptive batching sends a healthy subscriber's batches at once, so a
    long BATCH_MS no longer keeps entries in hand.)"""
    saved = dict(procs.env)
    procs.env.update(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/{BROKER_DB}")
    procs.subscriber(name)
    procs.env = saved


def _kill_holding(procs: ProcessSet, redis_url: str, name: str) -> int:
    """SIGKILL ``name`` once it holds entries; how many it left pending."""
    assert wait_until(lambda: _pending_total(redis_url) > 0, 30)
    procs.kill(name)  # SIGKILL: batches held, entries pending
    return _pending_total(redis_url)  # nothing moves them now but a claim


def test_killed_subscriber_restarted_loses_nothing_and_stores_each_chain_once(
    procs: ProcessSet, redis_url: str, store: Store
) -> None:
    """SIGKILL at any instant: entries read and not acknowledged stay pending; the restarted
    process claims them after SUBSCRIBER_CLAIM_IDLE_MS. Those it had enqueued before dying
    are enqueued again (at least once): the store keeps each chain once, the broadcast may
    repeat them, and no more of them than were claimed."""
    procs.worker()
    _slow_subscriber(procs, "first")
    market = Collector(redis_url)
    enriched = Collector(redis_url, ENRICHED)
    run_feed(procs, redis_url)
    assert wait_until(lambda: len(market.raw) >= MID_RUN, 30)  # some 4 s into the run
    left = _kill_holding(procs, redis_url, "first")
    procs.subscriber("second")
    broadcast, (stats,) = _after_kill(procs, redis_url, store, market, enriched, ["second"])
    repeated = sum(n - 1 for n in broadcast.values())
    assert stats["claimed"] == left > 0  # the first one's pending entries, all taken over
    assert repeated <= stats["claimed"], (repeated, stats)
    assert stats["missing"] == 0  # the sequence check went on where the first one stopped


def test_two_subscribers_one_killed_the_other_takes_its_entries(
    procs: ProcessSet, redis_url: str, store: Store
) -> None:
    procs.worker()
    procs.subscriber("subscriber-0")
    _slow_subscriber(procs, "subscriber-1")
    market = Collector(redis_url)
    enriched = Collector(redis_url, ENRICHED)
    run_feed(procs, redis_url)
    assert wait_until(lambda: len(market.raw) >= MID_RUN, 30)
    # Not restarted. What is pending right after the kill is mostly the dead one's (the
    # other acknowledges as soon as it has enqueued): at least as much is claimed.
    left = _kill_holding(procs, redis_url, "subscriber-1")
    broadcast, (stats,) = _after_kill(procs, redis_url, store, market, enriched,
                                      ["subscriber-0"])  # fmt: skip
    repeated = sum(n - 1 for n in broadcast.values())
    assert 0 < stats["claimed"] <= left, (left, stats)
    assert repeated <= stats["claimed"], (repeated, stats)
    assert stats["missing"] == 0


def test_killed_worker_loses_and_duplicates_nothing(
    procs: ProcessSet, redis_url: str, store: Store
) -> None:
    procs.worker("first")
    procs.subscriber()
    market = Collector(redis_url)
    run_feed(procs, redis_url)
    assert wait_until(lambda: len(market.raw) >= MID_RUN, 30)  # some 4 s into the run
    procs.kill("first")  # SIGKILL to the worker and its pool, batches in flight
    procs.worker("second")
    assert procs.wait("feed", 60) == 0
    published = published_chains(market.stop())

    assert wait_stored(store, published, 120), procs.log("second")[-3000:]
    assert_exactly_once(store, published)
