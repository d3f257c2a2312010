"""What the pipeline tests check after a run: every chain once in the store, cache, broadcast."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import redis

from common.latest import LatestReader
from common.names import ENRICH_QUEUE, Channel
from store import Store
from tests.support.processes import ProcessSet, wait_until

Key = tuple[str, str]
ENRICHED = (Channel.ENRICHED_OPTION_CHAIN, Channel.ENRICHED_UNDERLYING)
FEED = ("--load", "500", "--duration", "10", "--seed", "11")


def pipeline_environment(redis_url: str, store_url: str, tmp: Path) -> dict[str, str]:
    """The environment of the pipeline's processes: this Redis and store, fast recovery."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "SUBSCRIBER_"))}
    env.update(
        REDIS_URL=redis_url,
        STORE_URL=store_url,
        VAR_DIR=str(tmp / "var"),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        CELERY_VISIBILITY_TIMEOUT_S="5",  # a killed worker's batches come back within seconds
        SUBSCRIBER_CLAIM_IDLE_MS="1000",  # and a killed subscriber's entries within a second
        # No coalescing: these tests check that every published chain is stored, and a slow
        # machine backs the queue past the default 200 (the backpressure test sets its own).
        QUEUE_HIGH_WATER="1000000",
    )
    return env


def run_feed(procs: ProcessSet, redis_url: str, *extra: str) -> None:
    procs.feed(*FEED, "--redis-url", redis_url, *extra)


def ticks_of(raw: list[tuple[str, str]]) -> set[tuple[str, int]]:
    """(product, seq) of every tick in the market stream ``raw``."""
    return {
        (m["product"], m["seq"])
        for c, d in raw
        if c == Channel.MARKET_UNDERLYING
        for m in [json.loads(d)]
    }


def final_stats(log: str) -> dict[str, int]:
    """The last ``subscriber stats`` line of a subscriber's log."""
    lines = [json.loads(line) for line in log.splitlines() if '"subscriber stats"' in line]
    return lines[-1]


def published_chains(raw: list[tuple[str, str]]) -> dict[Key, list[int]]:
    """(product, expiry) → seqs of the chains the feed published."""
    out: dict[Key, list[int]] = defaultdict(list)
    for channel, data in raw:
        if channel == Channel.MARKET_OPTION_CHAIN:
            message = json.loads(data)
            out[message["product"], message["expiry"]].append(message["seq"])
    return out


def stored_chains(store: Store, keys: list[Key]) -> dict[Key, list[int]]:
    return {key: store.chain_seqs(*key) for key in keys}


def wait_stored(store: Store, published: dict[Key, list[int]], timeout: float) -> bool:
    """Wait until every published chain seq is in the store."""

    def complete() -> bool:
        stored = stored_chains(store, list(published))
        return all(set(stored[k]) >= set(seqs) for k, seqs in published.items())

    return wait_until(complete, timeout, interval=0.5)


def wait_drained(broker: redis.Redis, timeout: float) -> bool:
    """Wait until no batch is queued or taken: every task dispatched has run to its end.

    Tasks are acknowledged late (after their writes and broadcasts), and until then
    kombu keeps a taken one, prefetched or running, in its ``unacked`` hash.
    """
    return wait_until(lambda: broker.llen(ENRICH_QUEUE) == 0 == broker.hlen("unacked"), timeout)


def assert_exactly_once(store: Store, published: dict[Key, list[int]]) -> None:
    stored = stored_chains(store, list(published))
    for key, seqs in published.items():
        counts = Counter(stored[key])
        assert [s for s, n in counts.items() if n > 1] == [], f"duplicated in {key}"
        assert sorted(counts) == sorted(seqs), f"missing in {key}: {set(seqs) - set(counts)}"


def assert_cache_newest(client: redis.Redis, published: dict[Key, list[int]]) -> None:
    for (product, expiry), seqs in published.items():
        cached = LatestReader(client).chain(product, expiry)
        assert cached is not None, (product, expiry)
        assert json.loads(cached)["seq"] == max(seqs), (product, expiry)
        assert expiry in LatestReader(client).expiries(product), (product, expiry)


def enriched_by_seq(raw: list[tuple[str, str]], channel: Channel) -> dict[tuple[str, int], bytes]:
    """(product, seq) → the payload received on ``channel``, as bytes."""
    return {
        (m["product"], m["seq"]): data.encode()
        for c, data in raw
        if c == channel
        for m in [json.loads(data)]
    }
