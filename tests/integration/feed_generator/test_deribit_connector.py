"""The Deribit connector against the simulator over real sockets on 127.0.0.1.

Each test runs the connector on its own thread into a list-collecting sink and waits
on conditions (bounded); no test asserts how long anything took. Recovery times are
printed (``-s``) for the report, never asserted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import redis

from common.messages import decode_message
from common.names import Channel
from common.timestamps import parse_ts
from feed_generator.publisher import Encoded
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.breaker import RestBreaker
from feed_generator.venues.deribit.connector import (
    DeribitTimings,
    DeribitVenue,
    deadletter_callback,
)
from feed_generator.venues.deribit.parser import Rejected
from feed_generator.venues.deribit.sim import HOSTILE_FRAMES, DeribitSim
from feed_generator.venues.health import FeedState
from optionsmath import implied_vol
from tests.support.deribit_sim import SIM_CLOCKS, sim_clock

log = logging.getLogger("recovery")
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


def report(line: str) -> None:
    """A measured recovery time, for the report (``--log-cli-level=INFO``), never asserted."""
    log.info(line)


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
def sim(request: pytest.FixtureRequest) -> Iterator[DeribitSim]:
    """The simulator on the wall clock, or (``param``) 50 minutes before an expiry, so the
    last hour of an option is tested whatever the time of day."""
    clock = sim_clock(getattr(request, "param", "now"))
    server = DeribitSim(interval=0.05, min_heartbeat=0.5, clock=clock).start_in_thread()
    yield server
    server.stop_thread()


@contextlib.contextmanager
def start(sim: DeribitSim, **kwargs: Any) -> Iterator[Running]:
    rejects: list[Rejected] = []
    venue = DeribitVenue(
        sim.ws_url,
        sim.rest_url,
        timings=kwargs.pop("timings", FAST),
        backoff=Backoff(base=0.05, cap=0.3, rng=random.Random(7)),
        breaker=RestBreaker("test-rest", fail_max=3, reset_s=0.3),
        on_reject=kwargs.pop("on_reject", lambda _venue, r: rejects.append(r)),
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
    with start(sim) as run:
        yield run


def live(run: Running) -> Callable[[], bool]:
    return lambda: run.venue.health.state is FeedState.LIVE


def all_valid(sink: ListSink) -> None:
    """Every published message decodes as its channel's message type."""
    with sink.lock:
        messages = list(sink.messages)
    for channel, data in messages:
        decode_message(Channel(channel), data)


@pytest.mark.parametrize("sim", SIM_CLOCKS, indirect=True)
def test_streams_valid_usd_quotes_underlying_and_chains(running: Running) -> None:
    wait_for(live(running), "live")
    wait_for(lambda: running.sink.count(Channel.MARKET_OPTION_CHAIN) >= 40, "chains")
    all_valid(running.sink)
    quotes = running.sink.of(Channel.MARKET_OPTION_QUOTE)
    spot = {u["product"]: u["price"] for u in running.sink.of(Channel.MARKET_UNDERLYING)}
    assert set(spot) == {"BTC", "ETH"}
    assert {q["product"] for q in quotes} == {"BTC", "ETH"}
    for q in quotes:
        assert (q["venue"], q["currency"], q["forward_source"]) == ("deribit", "USD", "venue")
        assert q["ask"] >= q["bid"] >= 0
        assert parse_ts(q["expiry_ts"]).time() == dt.time(8, 0)
    checked = 0
    for q in quotes[-200:]:
        # USD prices: the venue's coin mark times the forward carries the venue's mark IV.
        T = (parse_ts(q["expiry_ts"]) - parse_ts(q["timestamp"])).total_seconds() / (365 * 86400)
        iv = implied_vol(q["mark"], q["forward"], q["strike"], T, 0.0, 0.0, q["option_type"])
        sign = 1.0 if q["option_type"] == "CALL" else -1.0
        time_value = q["mark"] - max(0.0, sign * (q["forward"] - q["strike"]))
        # A time value of cents carries no IV to 2 decimals of a percent; an hour before
        # expiry a deep in-the-money mark is its intrinsic value to 1e-11 and has none.
        if time_value > 1.0 and "mark_iv" in q:
            assert float(iv) == pytest.approx(q["mark_iv"], abs=1e-4)
            checked += 1
    assert checked > 50
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


def quotes_after(run: Running, mark: int) -> Callable[[], bool]:
    """True once a ticker quote was published after position ``mark`` of the sink."""
    return lambda: len(run.sink.of(Channel.MARKET_OPTION_QUOTE, mark)) > 0


def test_drop_reconnects_resubscribes_and_resyncs(sim: DeribitSim, running: Running) -> None:
    wait_for(live(running), "live")
    connections = sim.counts["connections"]
    sim.drop_connections()
    health = running.venue.health
    took = wait_for(
        lambda: health.snapshot().resyncs >= 2 and health.state is FeedState.LIVE,
        "reconnect and resync",
    )
    mark = len(running.sink)
    wait_for(quotes_after(running, mark), "quotes on the new connection")
    assert sim.counts["connections"] == connections + 1
    assert health.snapshot().reconnects == 1
    assert len(next(iter(sim.conns)).channels) == len(running.venue.instruments) + 2
    all_valid(running.sink)
    report(f"recovery after drop: {took:.3f} s")


def test_silent_connection_is_replaced(sim: DeribitSim, running: Running) -> None:
    wait_for(live(running), "live")
    sim.set_silent(True)
    health = running.venue.health
    took = wait_for(lambda: health.snapshot().reconnects >= 1, "silence detected")
    # Still silent: the new connection cannot subscribe; REST keeps the chains (degraded).
    wait_for(lambda: health.state is FeedState.DEGRADED, "degraded")
    sim.set_silent(False)
    back = wait_for(live(running), "live again")
    wait_for(quotes_after(running, len(running.sink)), "quotes again")
    all_valid(running.sink)
    report(f"silence detected in {took:.3f} s; live {back:.3f} s after the venue spoke again")


def test_test_request_is_answered_and_connection_kept(sim: DeribitSim, running: Running) -> None:
    wait_for(live(running), "live")
    sim.send_test_requests(grace=0.5)
    wait_for(lambda: all(c.test_deadline is None for c in list(sim.conns)), "test answered")
    # The venue's own test_requests every heartbeat_s (1 s): live through a few of them.
    mark = len(running.sink)
    wait_for(lambda: len(running.sink.of(Channel.MARKET_OPTION_CHAIN, mark)) >= 60, "3 s of data")
    assert sim.counts["heartbeat_closes"] == 0
    assert running.venue.health.snapshot().reconnects == 0
    assert running.venue.health.state is FeedState.LIVE


def test_too_many_requests_recovers() -> None:
    sim = DeribitSim(interval=0.05, min_heartbeat=0.5, request_burst=3, request_rate=0.5)
    sim.start_in_thread()
    try:
        with start(sim) as run:
            wait_for(lambda: sim.counts["refused_10028"] >= 1, "a 10028 refusal")
            sim.request_burst, sim.request_rate = 100.0, 20.0
            took = wait_for(live(run), "live after 10028")
            assert run.venue.health.snapshot().reconnects >= 1
            wait_for(quotes_after(run, len(run.sink)), "quotes after 10028")
            all_valid(run.sink)
            report(f"live {took:.3f} s after the venue allowed requests again")
    finally:
        sim.stop_thread()


def test_websocket_refused_runs_on_rest_then_goes_live(sim: DeribitSim) -> None:
    sim.faults.refuse_ws = True
    with start(sim) as run:
        health = run.venue.health
        wait_for(lambda: health.state is FeedState.DEGRADED, "degraded")
        wait_for(lambda: run.sink.count(Channel.MARKET_OPTION_CHAIN) >= 24, "REST chains")
        assert health.snapshot().resyncs == 0
        chains = run.sink.of(Channel.MARKET_OPTION_CHAIN)
        assert {c["product"] for c in chains} == {"BTC", "ETH"}
        assert {u["product"] for u in run.sink.of(Channel.MARKET_UNDERLYING)} == {"BTC", "ETH"}
        sim.faults.refuse_ws = False
        took = wait_for(live(run), "live once allowed")
        wait_for(quotes_after(run, len(run.sink)), "streamed quotes")
        all_valid(run.sink)
        report(f"live {took:.3f} s after the WebSocket was allowed again")


def test_hostile_frames_are_dead_lettered(sim: DeribitSim, running: Running) -> None:
    wait_for(live(running), "live")
    # The resync's batch (its REST index may still be the simulator's opening 95000) goes
    # out with the first flush after going live: mark after it.
    wait_for(quotes_after(running, len(running.sink)), "the resync published")
    mark = len(running.sink)
    sim.inject(*HOSTILE_FRAMES.values())
    wait_for(lambda: len(running.rejects) >= len(HOSTILE_FRAMES), "every hostile frame rejected")
    wait_for(quotes_after(running, len(running.sink)), "quotes after the hostile frames")
    assert len(running.rejects) == len(HOSTILE_FRAMES)
    assert running.venue.health.snapshot().dead_letters == len(HOSTILE_FRAMES)
    assert running.venue.health.snapshot().reconnects == 0
    all_valid(running.sink)
    for u in running.sink.of(Channel.MARKET_UNDERLYING, mark):
        assert u["price"] != 95000  # the hostile index prices never reach the channel


def test_rest_failures_while_live_keep_the_stream(sim: DeribitSim) -> None:
    timings = dataclasses.replace(FAST, refresh_s=0.3)
    with start(sim, timings=timings) as run:
        wait_for(live(run), "live")
        sim.rest_fault(4, status=503)
        wait_for(lambda: sim.faults.rest_failures == 0, "the failing REST calls made")
        wait_for(lambda: run.venue.breaker.state.value == "closed", "the breaker closed again")
        wait_for(quotes_after(run, len(run.sink)), "quotes after the REST failures")
        assert run.venue.health.state is FeedState.LIVE
        assert run.venue.health.snapshot().reconnects == 0


def test_rest_errors_while_refused_show_down_then_degraded(sim: DeribitSim) -> None:
    sim.faults.refuse_ws = True
    with start(sim) as run:
        health = run.venue.health
        wait_for(lambda: health.state is FeedState.DEGRADED, "degraded")
        sim.rest_fault(1000, status=200, error_code=10040)
        took = wait_for(lambda: health.state is FeedState.DOWN, "down while REST fails")
        mark = len(run.sink)
        sim.rest_fault(0)
        back = wait_for(lambda: health.state is FeedState.DEGRADED, "degraded again")
        wait_for(lambda: len(run.sink.of(Channel.MARKET_OPTION_CHAIN, mark)) > 0, "REST chains")
        all_valid(run.sink)
        report(f"down {took:.3f} s after REST failed; degraded {back:.3f} s after it answered")


def test_rejects_reach_the_redis_dead_letter_list(sim: DeribitSim, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete("deadletter:venue:deribit")
    with start(sim, on_reject=deadletter_callback(client)) as run:
        wait_for(live(run), "live")
        sim.inject(HOSTILE_FRAMES["nan_price"], HOSTILE_FRAMES["crossed_book"])
        wait_for(lambda: client.llen("deadletter:venue:deribit") == 2, "two dead letters")
        entries = [orjson.loads(e) for e in client.lrange("deadletter:venue:deribit", 0, -1)]
        assert {e["stage"] for e in entries} == {"venue"}
        assert any("crossed book" in e["reason"] for e in entries)
        assert run.venue.health.snapshot().dead_letters == 2
    client.close()


def test_instrument_refresh_follows_an_expiry_and_the_new_listing() -> None:
    offset = [0.0]  # the sim's and the connector's wall clock jump past the first expiry

    def clock() -> float:
        return time.time() + offset[0]

    sim = DeribitSim(interval=0.05, min_heartbeat=0.5, clock=clock).start_in_thread()
    timings = dataclasses.replace(FAST, refresh_s=0.3)
    wall = lambda: dt.datetime.fromtimestamp(clock(), dt.UTC)  # noqa: E731
    try:
        with start(sim, timings=timings, wall=wall) as run:
            wait_for(live(run), "live")
            first = set(run.venue.instruments)
            soonest = min(run.venue.outbox.normaliser.expiries.values()) / 1000
            gone = dt.datetime.fromtimestamp(soonest, dt.UTC).date().isoformat()
            offset[0] = soonest - time.time() + 60.0
            wait_for(lambda: run.venue.instruments != first, "the refreshed listing")
            expected = {f"ticker.{n}.100ms" for n in run.venue.instruments}
            expected |= {"deribit_price_index.btc_usd", "deribit_price_index.eth_usd"}
            wait_for(lambda: next(iter(sim.conns)).channels == expected, "the new subscriptions")
            mark = len(run.sink)
            wait_for(lambda: len(run.sink.of(Channel.MARKET_OPTION_CHAIN, mark)) >= 40, "chains")
            chains = run.sink.of(Channel.MARKET_OPTION_CHAIN, mark)
            assert gone not in {c["expiry"] for c in chains}
            assert {c["product"] for c in chains} == {"BTC", "ETH"}
            assert run.venue.health.snapshot().reconnects == 0
            all_valid(run.sink)
    finally:
        sim.stop_thread()


def test_slow_rest_while_refused_is_down_then_recovers(sim: DeribitSim) -> None:
    sim.faults.refuse_ws = True
    timings = dataclasses.replace(FAST, request_timeout_s=0.3)
    with start(sim, timings=timings) as run:
        health = run.venue.health
        wait_for(lambda: health.state is FeedState.DEGRADED, "degraded")
        sim.rest_fault(0, delay=1.0)  # every REST call outlasts the client's 0.3 s timeout
        took = wait_for(lambda: health.state is FeedState.DOWN, "down while REST is slow")
        sim.rest_fault(0, delay=0.0)
        back = wait_for(lambda: health.state is FeedState.DEGRADED, "degraded again")
        sim.faults.refuse_ws = False
        wait_for(live(run), "live")
        all_valid(run.sink)
        report(f"down {took:.3f} s after REST slowed; degraded {back:.3f} s after it sped up")
    # The fixture's join also shows a stop is not held up by a slow REST call.
