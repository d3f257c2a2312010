"""The Deribit connector against the simulator over real sockets on 127.0.0.1.

Each test runs the connector on its own thread into a list-collecting sink and waits
on conditions (bounded); no test asserts how long anything took. Recovery times are
printed (``-s``) for the report, never asserted.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from common.messages import decode_message
from common.names import Channel
from common.timestamps import parse_ts
from feed_generator.publisher import Encoded
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.breaker import RestBreaker
from feed_generator.venues.deribit.connector import DeribitTimings, DeribitVenue
from feed_generator.venues.deribit.parser import Rejected
from feed_generator.venues.deribit.sim import HOSTILE_FRAMES, DeribitSim
from feed_generator.venues.health import FeedState

WAIT_S = 20.0
"""Longest wait for any condition; a healthy run meets each in well under a second."""
FAST = DeribitTimings(
    heartbeat_s=1.0,
    ping_after_s=0.4,
    replace_after_s=0.8,
    chain_s=0.2,
    poll_s=0.2,
    refresh_s=600.0,
    request_timeout_s=2.0,
)


@dataclass
class ListSink:
    """Keeps every published ``(channel, message)``; thread-safe."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, batch: Sequence[Encoded]) -> None:
        with self.lock:
            self.messages.extend((channel, data) for _, channel, data in batch)

    def close(self) -> None:
        pass

    def count(self, channel: Channel) -> int:
        with self.lock:
            return sum(1 for ch, _ in self.messages if ch == channel.value)

    def of(self, channel: Channel, start: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            rows = [data for ch, data in self.messages[start:] if ch == channel.value]
        return [orjson.loads(data) for data in rows]

    def __len__(self) -> int:
        with self.lock:
            return len(self.messages)


@dataclass
class Running:
    venue: DeribitVenue
    sink: ListSink
    rejects: list[Rejected]


def wait_for(condition: Callable[[], bool], what: str) -> float:
    """Poll ``condition`` until true; the seconds it took (reported, never asserted)."""
    start = time.monotonic()
    deadline = start + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def sim() -> Iterator[DeribitSim]:
    server = DeribitSim(interval=0.05, min_heartbeat=0.5).start_in_thread()
    yield server
    server.stop_thread()


def start(sim: DeribitSim, **kwargs: Any) -> Iterator[Running]:
    rejects: list[Rejected] = []
    venue = DeribitVenue(
        sim.ws_url,
        sim.rest_url,
        timings=kwargs.pop("timings", FAST),
        backoff=Backoff(base=0.05, cap=0.3, rng=random.Random(7)),
        breaker=RestBreaker("test-rest", fail_max=3, reset_s=0.3),
        on_reject=lambda _venue, r: rejects.append(r),
        **kwargs,
    )
    sink, stop = ListSink(), threading.Event()
    thread = threading.Thread(target=venue.run, args=([sink], stop), daemon=True)
    thread.start()
    try:
        yield Running(venue, sink, rejects)
    finally:
        stop.set()
        thread.join(10.0)
        assert not thread.is_alive(), "the connector did not stop"
    assert venue.health.state is FeedState.DOWN


@pytest.fixture
def running(sim: DeribitSim) -> Iterator[Running]:
    yield from start(sim)


def live(run: Running) -> Callable[[], bool]:
    return lambda: run.venue.health.state is FeedState.LIVE


def all_valid(sink: ListSink) -> None:
    """Every published message decodes as its channel's message type."""
    with sink.lock:
        messages = list(sink.messages)
    for channel, data in messages:
        decode_message(Channel(channel), data)


def test_streams_valid_usd_quotes_underlying_and_chains(running: Running) -> None:
    wait_for(live(running), "live")
    wait_for(lambda: running.sink.count(Channel.MARKET_OPTION_CHAIN) >= 40, "chains")
    all_valid(running.sink)
    quotes = running.sink.of(Channel.MARKET_OPTION_QUOTE)
    spot = {u["product"]: u["price"] for u in running.sink.of(Channel.MARKET_UNDERLYING)}
    assert set(spot) == {"BTC", "ETH"}
    assert {q["product"] for q in quotes} == {"BTC", "ETH"}
    for q in quotes:
        assert q["venue"] == "deribit" and q["currency"] == "USD"
        assert q["forward_source"] == "venue" and q["forward"] > 0
        # USD prices: the coin price times the forward, so far above a coin price.
        assert q["mark"] > 0 and q["ask"] >= q["bid"] >= 0
        assert parse_ts(q["expiry_ts"]).time() == dt.time(8, 0)
    btc = [q for q in quotes if q["product"] == "BTC"]
    assert 0.5 < btc[-1]["forward"] / spot["BTC"] < 2.0
    chains = running.sink.of(Channel.MARKET_OPTION_CHAIN)
    expiries = {(c["product"], c["expiry"]) for c in chains}
    assert len(expiries) >= 4
    for chain in chains:
        assert chain["strikes"] == sorted(chain["strikes"])
        assert len(chain["calls"]) == len(chain["puts"]) == len(chain["strikes"])
    assert running.venue.health.snapshot().resyncs == 1
    assert running.rejects == []
