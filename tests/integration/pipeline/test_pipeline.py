"""The whole pipeline with real processes: feed → Redis → subscriber → Celery → store/cache/publish.

Each run offers 500 messages/s for 10 s (about 900 chains); afterwards every
chain seq published is in the store exactly once, including after the store was
unavailable for seconds, under backpressure and beside hostile messages. The
kills of a subscriber or a worker mid-run are in ``test_pipeline_kills.py``.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from common.latest import LatestReader
from common.names import (
    ENRICH_QUEUE,
    Channel,
    deadletter_key,
)
from common.rawfeed import publish_raw
from common.redis_client import make_redis, redis_db_url
from store import Store
from tests.integration.pipeline.support import (
    ENRICHED,
    assert_cache_newest,
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

# Points of the run, counted in feed messages (500 a second), not in seconds of a machine
# whose pace a loaded CI changes.
OUTAGE_FROM = 1500
OUTAGE_FOR = 2000


def test_every_chain_stored_once_cached_and_broadcast(
    procs: ProcessSet, redis_url: str, redis_client: redis.Redis, store: Store
) -> None:
    procs.worker()
    procs.subscriber()
    market, enriched = Collector(redis_url), Collector(redis_url, ENRICHED)
    run_feed(procs, redis_url)
    assert procs.wait("feed", 60) == 0
    raw = market.stop()
    assert len(raw) >= 4500, len(raw)
    published = published_chains(raw)
    assert sum(map(len, published.values())) > 500

    assert wait_stored(store, published, 90), procs.log("worker")[-3000:]
    assert_exactly_once(store, published)
    assert_cache_newest(redis_client, published)

    ticks = ticks_of(raw)
    chain_ids = {(p, s) for (p, _), seqs in published.items() for s in seqs}
    assert wait_until(lambda: len(enriched.raw) >= len(ticks) + len(chain_ids), 60)
    got = enriched.stop()
    assert set(enriched_by_seq(got, Channel.ENRICHED_OPTION_CHAIN)) == chain_ids
    assert set(enriched_by_seq(got, Channel.ENRICHED_UNDERLYING)) == ticks
    # The cache holds the very bytes that were broadcast for the newest chain.
    for (product, expiry), seqs in published.items():
        newest = enriched_by_seq(got, Channel.ENRICHED_OPTION_CHAIN)[product, max(seqs)]
        assert LatestReader(redis_client).chain(product, expiry) == newest
    assert not redis_client.keys("deadletter:*")


def test_two_subscriber_instances_share_the_streams_without_double_processing(
    procs: ProcessSet, redis_url: str, store: Store
) -> None:
    procs.worker()
    for instance in ("0", "1"):  # no partition setting: one consumer group shares the entries
        procs.subscriber(f"subscriber-{instance}")
    market = Collector(redis_url)
    enriched = Collector(redis_url, [Channel.ENRICHED_OPTION_CHAIN])
    run_feed(procs, redis_url)
    assert procs.wait("feed", 60) == 0
    raw = market.stop()
    published = published_chains(raw)
    assert wait_stored(store, published, 90), procs.log("worker")[-3000:]
    assert_exactly_once(store, published)
    expected = sum(map(len, published.values()))
    assert wait_until(lambda: len(enriched.raw) >= expected, 30)
    for instance in ("0", "1"):  # stopped, they dispatch nothing more
        procs.kill(f"subscriber-{instance}", signal.SIGTERM)
        assert procs.wait(f"subscriber-{instance}", 30) == 0
    stats = [final_stats(procs.log(f"subscriber-{instance}")) for instance in ("0", "1")]
    assert all(s["dispatched"] > 0 for s in stats)  # each took its share
    assert sum(s["dispatched"] for s in stats) == len(raw)  # and no message went to both
    assert sum(s["acked"] for s in stats) == len(raw)
    assert [s["missing"] for s in stats] == [0, 0]  # interleaved reads: no false gap
    broker = make_redis(redis_db_url(redis_url, BROKER_DB))
    assert wait_drained(broker, 60)  # every batch has run: a second broadcast would be out
    broker.close()
    broadcast = Counter(  # stop() waits for its marker: everything broadcast has arrived
        (m["product"], m["seq"]) for _, d in enriched.stop() for m in [json.loads(d)]
    )
    assert len(broadcast) == expected
    assert set(broadcast.values()) == {1}


def _lock_store(
    path: Path, locked: threading.Event, until: Callable[[], bool], held: list[bool]
) -> None:
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    locked.set()
    held.append(wait_until(until, 60))
    lock.execute("ROLLBACK")
    lock.close()


def _run_with_store_outage(
    procs: ProcessSet, redis_url: str, store_url: str
) -> list[tuple[str, str]]:
    """Run the feed with the store locked (writes fail) from some 3 s into the run until the
    worker has failed to write and 4 s more of the feed have passed; the market stream."""
    procs.env["STORE_URL"] = f"{store_url}?busy_timeout_ms=100"
    procs.worker()
    procs.subscriber()
    market = Collector(redis_url)
    run_feed(procs, redis_url)
    assert wait_until(lambda: len(market.raw) >= OUTAGE_FROM, 30)
    locked, held = threading.Event(), []
    failed = len(procs.log("worker").split("StoreUnavailable"))

    def over() -> bool:
        past = len(market.raw) >= OUTAGE_FROM + OUTAGE_FOR
        return past and len(procs.log("worker").split("StoreUnavailable")) > failed

    outage = threading.Thread(
        target=_lock_store, args=(Path(store_url.removeprefix("sqlite:///")), locked, over, held)
    )
    outage.start()
    assert locked.wait(10)
    outage.join(90)
    assert held == [True], "the worker never met the locked store"
    assert procs.wait("feed", 60) == 0
    return market.stop()


def test_store_outage_is_retried_until_nothing_is_lost(
    procs: ProcessSet, redis_url: str, store: Store, store_url: str
) -> None:
    procs.env["QUEUE_HIGH_WATER"] = "1000000"  # no coalescing: every chain must be stored
    published = published_chains(_run_with_store_outage(procs, redis_url, store_url))

    assert wait_stored(store, published, 120), procs.log("worker")[-3000:]
    assert_exactly_once(store, published)
    assert "StoreUnavailable" in procs.log("worker")  # the writes did fail, and were retried


def test_backpressure_supersedes_chains_and_counts_them_and_keeps_every_tick(
    procs: ProcessSet, redis_url: str, redis_client: redis.Redis, store: Store, store_url: str
) -> None:
    procs.env["QUEUE_HIGH_WATER"] = "5"  # the outage backs the queue up past this at once
    enriched = Collector(redis_url, [Channel.ENRICHED_UNDERLYING])
    raw = _run_with_store_outage(procs, redis_url, store_url)
    published = published_chains(raw)
    ticks = ticks_of(raw)
    assert wait_until(lambda: len(enriched.raw) >= len(ticks), 120)
    broker = make_redis(redis_db_url(redis_url, BROKER_DB))
    assert wait_until(lambda: broker.llen(ENRICH_QUEUE) == 0, 120)
    broker.close()
    procs.kill("subscriber", signal.SIGTERM)  # it sends what it holds, then its final stats
    procs.wait("subscriber", 30)
    stats = final_stats(procs.log("subscriber"))

    assert stats["superseded"] > 0
    total_published = sum(len(seqs) for seqs in published.values())

    def stored_count() -> int:  # batches retried with a backoff may still be on their way
        return sum(len(store.chain_seqs(*key)) for key in published)

    assert wait_until(lambda: stored_count() + stats["superseded"] >= total_published, 60)
    stored = {key: store.chain_seqs(*key) for key in published}
    assert sum(map(len, stored.values())) + stats["superseded"] == total_published
    assert all(set(stored[k]) <= set(seqs) for k, seqs in published.items())
    assert all(len(set(seqs)) == len(seqs) for seqs in stored.values())
    # The newest chain of every (product, expiry) is never the one superseded.
    assert all(max(seqs) in stored[k] for k, seqs in published.items())
    # Ticks are never coalesced: every one is enriched (a retried batch, here after the
    # store outage, publishes its ticks again: broadcast is at least once).
    assert set(enriched_by_seq(enriched.stop(), Channel.ENRICHED_UNDERLYING)) == ticks


HOSTILE: list[tuple[Channel, bytes, str]] = [
    (Channel.MARKET_UNDERLYING, b"not json at all", "subscriber"),
    (Channel.MARKET_OPTION_QUOTE, b"[1, 2, 3]", "subscriber"),
    (Channel.MARKET_OPTION_CHAIN, b'{"product": "ZZZ", "seq": 1}', "subscriber"),  # no expiry
    (Channel.MARKET_UNDERLYING, b'{"product": "ZZZ", "seq": true}', "subscriber"),
    (Channel.MARKET_UNDERLYING, b'{"product": "ZZZ", "seq": 1, "price": NaN}', "subscriber"),
    (Channel.MARKET_OPTION_QUOTE, b"\xff\xfe\x00garbage", "subscriber"),
    (Channel.MARKET_OPTION_CHAIN, b"[" * 100_000 + b"]" * 100_000, "subscriber"),
    (Channel.MARKET_OPTION_CHAIN, b'{"x": "' + b"A" * (3 << 20) + b'"}', "subscriber"),
    (
        Channel.MARKET_UNDERLYING,
        b'{"type": "underlying", "product": "ZZZ", "price": -5, "volume": 1,'
        b' "timestamp": "2026-11-20T04:00:00.000Z", "seq": 3}',
        "worker",
    ),
    (
        Channel.MARKET_OPTION_QUOTE,
        b'{"symbol": "Z", "product": "ZZZ", "expiry": "2026-12-31", "strike": 100,'
        b' "option_type": "STRADDLE", "bid": 1, "ask": 2, "last": 1, "volume": 0, "oi": 0,'
        b' "timestamp": "2026-11-20T04:00:00.000Z", "seq": 4}',
        "worker",
    ),
    (
        Channel.MARKET_OPTION_CHAIN,
        b'{"product": "ZZZ", "expiry": "2026-12-31", "spot_price": "high", "strikes": [100],'
        b' "calls": [], "puts": [], "timestamp": "2026-11-20T04:00:00.000Z", "seq": 5}',
        "worker",
    ),
]


def _from_feed(data: str) -> bool:
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):  # the hostile ones: garbage, 100,000 nested arrays
        return False
    return isinstance(message, dict) and message.get("product") not in (None, "ZZZ")


def test_malformed_and_hostile_messages_are_dead_lettered_and_the_rest_flows(
    procs: ProcessSet, redis_url: str, redis_client: redis.Redis, store: Store
) -> None:
    procs.worker()
    procs.subscriber()
    market = Collector(redis_url)
    run_feed(procs, redis_url)
    rounds = 5
    for round_ in range(rounds):  # spread over the run, a round every 800 feed messages
        publish_raw(redis_client, [(channel.value, payload) for channel, payload, _ in HOSTILE])
        assert wait_until(lambda n=round_: len(market.raw) >= (n + 1) * 800, 30)
    assert procs.wait("feed", 60) == 0
    published = published_chains([(c, d) for c, d in market.stop() if _from_feed(d)])
    assert wait_stored(store, published, 60), procs.log("worker")[-3000:]
    assert_exactly_once(store, published)

    for channel in (Channel.MARKET_UNDERLYING, Channel.MARKET_OPTION_QUOTE,
                    Channel.MARKET_OPTION_CHAIN):  # fmt: skip
        expected = [stage for c, _, stage in HOSTILE if c is channel] * rounds
        key = deadletter_key(channel)
        count = len(expected)
        assert wait_until(lambda key=key, n=count: redis_client.llen(key) >= n, 30)
        entries = [json.loads(e) for e in redis_client.lrange(key, 0, -1)]
        assert sorted(e["stage"] for e in entries) == sorted(expected), channel
        assert all(e["reason"] and e["channel"] == channel.value for e in entries)
        assert all(len(e["payload"]) <= 4096 for e in entries)
    chain_dead = [json.loads(e) for e in redis_client.lrange(deadletter_key(
        Channel.MARKET_OPTION_CHAIN), 0, -1)]  # fmt: skip
    huge = [e for e in chain_dead if e["size"] > 3 << 20]
    assert len(huge) == rounds
    assert all(e["truncated"] and "exceeds" in e["reason"] for e in huge)
    procs.kill("subscriber", signal.SIGTERM)
    assert procs.wait("subscriber", 30) == 0
    subscriber_stage = sum(stage == "subscriber" for _, _, stage in HOSTILE) * rounds
    assert final_stats(procs.log("subscriber"))["deadlettered"] == subscriber_stage
    spot = [e for e in chain_dead if e["stage"] == "worker"]
    assert all("spot_price" in e["reason"] for e in spot)
