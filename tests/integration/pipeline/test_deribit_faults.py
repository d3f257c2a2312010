"""Deribit's faults through the whole pipeline: simulator → feed → subscriber → Celery → Redis.

One stack of real processes for the module, as issue 14 asks ("real processes, real
Redis"): the Deribit simulator process, ``python -m feed_generator`` with
``FEED_VENUES=deribit`` pointed at it through ``DERIBIT_WS_URL`` / ``DERIBIT_REST_URL``,
the subscriber and one Celery worker, on the session's embedded Redis. Each test injects
one fault through the simulator's ``POST /sim/control`` and waits (bounded) until the
pipeline has recovered: an enriched chain newer than the fault in ``latest:*`` for every
(product, expiry), the feed's health in Redis (read through ``common/feeds.py``) ``live``
again with the reconnection and resync the fault calls for, and nothing dead-lettered on
``market:*``: bad data is refused at the venue's edge, never published. Each fault's
recovery time (fault → first new chain, fault → live) is logged under the ``recovery``
logger, one line a fault (``--log-cli-level=INFO``), and never asserted.

The feed runs with its production timings, which no setting changes: the watchdog pings a
silent connection after 5 s and replaces it after 15 s, REST polls every 5 s while the
WebSocket is down, and a reconnection waits on the 0.5–30 s backoff.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import requests

from common.embedded_redis import EmbeddedRedis
from common.feeds import FeedReader, FeedState, VenueHealth
from common.latest import LatestReader
from common.messages import decode_message
from common.names import Channel, deadletter_key
from common.redis_client import make_redis
from common.timestamps import format_ts, parse_ts
from feed_generator.venues.deribit.parser import EXCERPT
from feed_generator.venues.deribit.sim import HOSTILE_FRAMES
from tests.integration.pipeline.support import pipeline_environment
from tests.support.deribit_sim import deribit_settings, start_deribit_sim
from tests.support.processes import PYTHON, ProcessSet, wait_until
from tests.support.pubsub import Collector

pytestmark = [pytest.mark.redis, pytest.mark.slow]

log = logging.getLogger("recovery")
VENUE = "deribit"
PRODUCTS = ("BTC", "ETH")
CHAINS = 4
"""Cached (product, expiry) pairs: the simulator lists 2 expiries of each coin."""
WAIT_S = 45.0
"""Longest wait for one condition; the slowest (a silent connection's replacement) needs
about 16 s on a healthy run."""
ENDED = "deribit connection ended"
"""The feed's log line when it ends a connection itself (silent, or refused with 10028)."""
VENUE_DEADLETTERS = deadletter_key(f"venue:{VENUE}")
HOSTILE_TS = format_ts(dt.datetime.fromtimestamp(1_796_472_000, dt.UTC))
"""The timestamp every hostile ticker and index frame carries (``sim/faults.py``)."""


@dataclass
class Stack:
    """The running processes, the simulator's control URL and a Redis client."""

    procs: ProcessSet
    control_url: str
    client: redis.Redis

    def control(self, action: str, **params: Any) -> dict[str, Any]:
        """``POST /sim/control``; the simulator's answer (its counts)."""
        response = requests.post(self.control_url, json={"action": action, **params}, timeout=10)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def health(self) -> VenueHealth | None:
        """The feed's last health snapshot of the venue in Redis (``None``: none yet)."""
        return next((h for h in FeedReader(self.client).snapshots() if h.venue == VENUE), None)

    def chain_times(self) -> dict[tuple[str, str], dt.datetime]:
        """(product, expiry) → the timestamp of its enriched chain in ``latest:*``."""
        latest, out = LatestReader(self.client), {}
        for product in PRODUCTS:
            for expiry in latest.expiries(product):
                raw = latest.chain(product, expiry)
                if raw is not None:
                    out[product, expiry] = parse_ts(json.loads(raw)["timestamp"])
        return out

    def feed_events(self, message: str) -> list[dict[str, Any]]:
        """The feed's JSON log records whose message is ``message``."""
        records = []
        for line in self.procs.log("feed").splitlines():
            if message in line and line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == message:
                    records.append(record)
        return records

    def tail(self) -> str:
        return "\n".join(f"--- {name}\n{self.procs.log(name)[-2000:]}" for name in ("feed", "sim"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Stack]:
    """Worker, subscriber, simulator and feed, started once; streaming before any fault."""
    tmp = tmp_path_factory.mktemp("deribit_faults")
    client = make_redis(redis_server.url)
    client.flushall()
    store_url = f"sqlite:///{tmp / 'store.db'}"
    procs = ProcessSet(tmp, pipeline_environment(redis_server.url, store_url, tmp))
    try:
        procs.worker()
        procs.subscriber()
        port = start_deribit_sim(procs)  # a small universe: recoveries, not throughput
        venue = {"FEED_VENUES": VENUE, **deribit_settings(port, ",".join(PRODUCTS))}
        procs.start("feed", [PYTHON, "-m", "feed_generator", "--progress-interval", "0"], env=venue)
        running = Stack(procs, f"http://127.0.0.1:{port}/sim/control", client)
        steady(running, timeout=90.0)  # the first start pays for the imports
        yield running
    finally:
        procs.close()
        client.close()


def steady(stack: Stack, timeout: float = WAIT_S) -> VenueHealth:
    """Wait until the feed reports ``live`` and every chain is fresh; its health then."""

    def ready() -> bool:
        health, times = stack.health(), stack.chain_times()
        fresh = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        live = health is not None and health.state is FeedState.LIVE
        return live and len(times) == CHAINS and min(times.values()) > fresh

    assert wait_until(ready, timeout, interval=0.2), stack.tail()
    health = stack.health()
    assert health is not None
    return health


@dataclass
class Fault:
    """A fault in force from ``at`` (wall clock; ``started``: monotonic seconds)."""

    name: str
    at: dt.datetime
    started: float


def in_force(name: str) -> Fault:
    """The fault is in force from now: call once the simulator has acted on it."""
    return Fault(name, dt.datetime.now(dt.UTC), time.monotonic())


def wait_for(condition: Callable[[], bool], what: str, stack: Stack) -> float:
    """Wait (bounded) until ``condition`` holds; the monotonic instant it did."""
    assert wait_until(condition, WAIT_S, interval=0.05), f"{what}\n{stack.tail()}"
    return time.monotonic()


def _newer(stack: Stack, fault: Fault) -> int:
    """How many cached chains are newer than the fault."""
    return sum(t > fault.at for t in stack.chain_times().values())


def first_new_chain(stack: Stack, fault: Fault) -> float:
    """Wait until a chain newer than the fault is in ``latest:*``; the instant it was seen."""
    return wait_for(lambda: _newer(stack, fault) > 0, f"a chain after {fault.name}", stack)


def back_live(
    stack: Stack, fault: Fault, back: Callable[[VenueHealth], bool], first: float
) -> None:
    """Wait until every chain in ``latest:*`` is newer than the fault and the feed reports
    ``live`` in a snapshot taken after it, with ``back`` true of that snapshot; log how long
    the first new chain (seen at ``first``) and the return to live took."""
    wait_for(lambda: _newer(stack, fault) == CHAINS, f"every chain after {fault.name}", stack)

    def live() -> bool:
        health = stack.health()
        if health is None or parse_ts(health.at) <= fault.at:
            return False
        return health.state is FeedState.LIVE and back(health)

    live_at = wait_for(live, f"live after {fault.name}", stack)
    log.info(
        "deribit fault %s: first new chain after %.2f s, live after %.2f s",
        fault.name,
        first - fault.started,
        live_at - fault.started,
    )
    assert stack.client.keys(deadletter_key("market:*")) == []


def recovered(stack: Stack, fault: Fault, back: Callable[[VenueHealth], bool]) -> None:
    """:func:`back_live`, timing the first new chain from now."""
    back_live(stack, fault, back, first_new_chain(stack, fault))


def reconnected(before: VenueHealth) -> Callable[[VenueHealth], bool]:
    """A snapshot's test: the feed reconnected and resynchronised since ``before``."""
    return lambda h: h.reconnects > before.reconnects and h.resyncs > before.resyncs


def test_dropped_connection_reconnects_resubscribes_and_resyncs(stack: Stack) -> None:
    before = steady(stack)
    connections = stack.control("stats")["counts"]["connections"]
    stack.control("drop")
    fault = in_force("drop")
    recovered(stack, fault, reconnected(before))
    assert stack.control("stats")["counts"]["connections"] == connections + 1


def test_silent_connection_is_replaced(stack: Stack) -> None:
    before = steady(stack)
    replaced = len(stack.feed_events("deribit connection silent; replacing it"))
    ended = len(stack.feed_events(ENDED))
    # Mute the open connection, and refuse new ones until it has been replaced: a muted
    # simulator would ignore the next connection's set_heartbeat too (a 10 s timeout).
    stack.control("refuse_ws")
    stack.control("silent")
    fault = in_force("silent")
    wait_for(
        lambda: len(stack.feed_events("deribit connection silent; replacing it")) > replaced,
        "the silent connection replaced",
        stack,
    )
    stack.control("loud")
    stack.control("accept_ws")
    recovered(stack, fault, reconnected(before))
    assert _why_ended(stack, ended) == [(True, False)]  # (silent, rate_limited)


def _why_ended(stack: Stack, seen: int) -> list[tuple[bool, bool]]:
    """(silent, rate_limited) of each connection the feed ended after the first ``seen``."""
    return [(e["silent"], e["rate_limited"]) for e in stack.feed_events(ENDED)[seen:]]


def _hostile_excerpts() -> list[str]:
    """What the dead letters keep of each hostile frame: the text the feed received (the
    simulator sends bytes as text, undecodable bytes replaced), cut to the excerpt."""
    return sorted(raw.decode("utf-8", "replace")[:EXCERPT] for raw in HOSTILE_FRAMES.values())


def test_hostile_frames_are_dead_lettered_with_reasons_never_published(stack: Stack) -> None:
    before = steady(stack)
    stored = stack.client.llen(VENUE_DEADLETTERS)
    market = Collector(stack.procs.env["REDIS_URL"])
    try:
        stack.control("hostile")  # every hostile frame, on the live connection
        fault = in_force("hostile")
        wait_for(
            lambda: stack.client.llen(VENUE_DEADLETTERS) >= stored + len(HOSTILE_FRAMES),
            "the hostile frames dead-lettered",
            stack,
        )
        recovered(
            stack, fault, lambda h: h.dead_letters >= before.dead_letters + len(HOSTILE_FRAMES)
        )
    finally:
        published = market.stop()
    entries = [json.loads(e) for e in stack.client.lrange(VENUE_DEADLETTERS, 0, -1)]
    new = entries[: len(entries) - stored]  # newest first
    assert sorted(e["payload"] for e in new) == _hostile_excerpts()
    assert all(e["reason"] and e["channel"] == f"venue:{VENUE}" for e in new), new
    health = stack.health()
    assert health is not None
    assert health.dead_letters == before.dead_letters + len(HOSTILE_FRAMES)
    assert health.reconnects == before.reconnects  # refused frame by frame: the stream goes on
    assert len(published) > 0
    for channel, data in published:  # every message valid; none from a hostile frame
        decode_message(Channel(channel), data)
        assert json.loads(data)["timestamp"] != HOSTILE_TS, data


def test_rate_limit_refusal_10028_reconnects_after_the_backoff(stack: Stack) -> None:
    before = steady(stack)
    refused = stack.control("stats")["counts"]["refused_10028"]
    ended = len(stack.feed_events(ENDED))
    stack.control("too_many_requests")
    stack.control("test_request", grace=5.0)  # the feed's answer, public/test, is refused
    wait_for(
        lambda: stack.control("stats")["counts"]["refused_10028"] == refused + 1,
        "the 10028 refusal",
        stack,
    )
    fault = in_force("10028")  # the session is closed: no tick reaches it any more
    recovered(stack, fault, reconnected(before))
    assert _why_ended(stack, ended) == [(False, True)]  # (silent, rate_limited)
    assert stack.control("stats")["counts"]["refused_10028"] == refused + 1


def _state_after(stack: Stack, fault: Fault, state: FeedState) -> Callable[[], bool]:
    def seen() -> bool:
        health = stack.health()
        return health is not None and parse_ts(health.at) > fault.at and health.state is state

    return seen


def test_rest_errors_while_the_websocket_is_refused_then_rest_only_then_live(stack: Stack) -> None:
    before = steady(stack)
    stack.control("refuse_ws")
    stack.control("rest_fault", count=2, status=503)  # one poll's two book summaries fail
    stack.control("drop")
    fault = in_force("rest_errors_ws_refused")
    wait_for(_state_after(stack, fault, FeedState.DOWN), "down: no stream, REST failing", stack)
    first = first_new_chain(stack, fault)  # REST alone keeps the chains alive
    wait_for(_state_after(stack, fault, FeedState.DEGRADED), "degraded: REST-only", stack)
    wait_for(lambda: _newer(stack, fault) == CHAINS, "every chain from REST polling", stack)
    health = stack.health()  # all while the WebSocket is still refused
    assert health is not None
    assert health.state is FeedState.DEGRADED, health
    stack.control("accept_ws")
    back_live(stack, fault, reconnected(before), first)
