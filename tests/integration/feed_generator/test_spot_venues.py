"""The spot connectors against their simulators over real sockets on 127.0.0.1.

Each test runs a venue on its own thread into a recording sink and waits on conditions
(bounded by ``WAIT_S``); nothing asserts how long anything took. The simulators' market
does not move (no wander, no noise), so every published price is the simulator's book mid.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from common.feeds import FeedState
from common.messages import UnderlyingTick, decode_message
from common.names import Channel
from feed_generator.publisher import Encoded
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.deribit.connector import deadletter_callback
from feed_generator.venues.rejects import Rejected
from feed_generator.venues.spot import BinanceProtocol, CoinbaseProtocol, SpotTimings, SpotVenue
from feed_generator.venues.spot.sim import SpotMarket, SpotSim

WAIT_S = 8.0
FAST = SpotTimings(ping_after_s=0.3, replace_after_s=0.6, connect_timeout_s=2.0,
                   subscribe_timeout_s=1.0, publish_s=0.02)  # fmt: skip


@dataclass
class Recorder:
    """A thread-safe sink keeping the published ticks (decoded and validated)."""

    ticks: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, batch: list[Encoded]) -> None:
        for _, channel, data in batch:
            assert isinstance(decode_message(Channel(channel), data), UnderlyingTick)
        with self.lock:
            self.ticks.extend(json.loads(data) for _, _, data in batch)

    def close(self) -> None:
        pass

    def of(self, product: str, start: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return [t for t in self.ticks[start:] if t["product"] == product]

    def __len__(self) -> int:
        with self.lock:
            return len(self.ticks)


@dataclass
class Run:
    sim: SpotSim
    venue: SpotVenue
    sink: Recorder
    rejects: list[Rejected]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextlib.contextmanager
def running(venue_name: str, **sim_args: Any) -> Iterator[Run]:
    market = SpotMarket(wander=(), noise_bp=0.0)
    on_reject = sim_args.pop("on_reject", None)
    sim = SpotSim(venue_name, market, interval=0.02, heartbeat_s=0.1,  # type: ignore[arg-type]
                  **sim_args)  # fmt: skip
    sim.start_in_thread()
    protocol = (BinanceProtocol if venue_name == "binance" else CoinbaseProtocol)(["BTC", "ETH"])
    rejects: list[Rejected] = []
    on_reject = on_reject or (lambda _name, r: rejects.append(r))
    venue = SpotVenue(protocol, sim.ws_url, name=f"{venue_name}-sim", timings=FAST,
                      backoff=Backoff(base=0.05, cap=0.2, rng=random.Random(7)),
                      on_reject=on_reject)  # fmt: skip
    sink, stop = Recorder(), threading.Event()
    thread = threading.Thread(target=venue.run, args=([sink], stop), daemon=True)
    thread.start()
    try:
        yield Run(sim, venue, sink, rejects)
    finally:
        stop.set()
        thread.join(5.0)
        sim.stop_thread()
    assert not thread.is_alive(), "the connector did not stop"
    assert venue.health.state is FeedState.DOWN


def live(run: Run) -> Callable[[], bool]:
    return lambda: run.venue.health.state is FeedState.LIVE and len(run.sink.of("ETH")) > 0


@pytest.fixture(params=["binance", "coinbase"])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    with running(request.param, ping_interval_s=0.1) as started:
        yield started


def test_live_ticks_carry_the_book_mid_and_follow_a_bias(run: Run) -> None:
    wait_for(live(run), "live ticks")
    btc, eth = run.sink.of("BTC")[-1], run.sink.of("ETH")[-1]
    assert btc["price"] == run.sim.market.shown_mid("BTC") == 95_000.0
    assert eth["price"] == run.sim.market.shown_mid("ETH") == 3_500.0
    assert (btc["venue"], btc["currency"], btc["volume"]) == (run.sim.venue, "USD", 0)
    mark = len(run.sink)
    run.sim.set_bias(100.0, "BTC")  # +1 %: what the reference must quarantine
    wait_for(lambda: any(t["price"] > 95_900 for t in run.sink.of("BTC", mark)), "biased BTC")
    assert run.sink.of("BTC")[-1]["price"] == run.sim.market.shown_mid("BTC") == 95_950.0
    seqs = [t["seq"] for t in run.sink.of("BTC")]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_a_dropped_connection_is_replaced_and_ticks_resume(run: Run) -> None:
    wait_for(live(run), "live")
    run.sim.drop_connections()
    # The connector counts a reconnect when it starts one, and may still hand over ticks
    # read before the drop: wait for the simulator's second connection before marking.
    wait_for(
        lambda: run.venue.health.snapshot().reconnects >= 1 and run.sim.counts["connections"] >= 2,
        "a reconnect, accepted by the simulator",
    )
    mark = len(run.sink)
    wait_for(lambda: len(run.sink.of("BTC", mark)) > 0, "ticks after the reconnect")


def test_a_silent_connection_is_replaced(run: Run) -> None:
    wait_for(live(run), "live")
    run.sim.faults.silent = True
    wait_for(lambda: run.venue.counters.replaced_silent >= 1, "the silent connection replaced")
    run.sim.faults.silent = False
    mark = len(run.sink)
    wait_for(lambda: len(run.sink.of("ETH", mark)) > 0, "ticks once the venue speaks again")


def test_refused_connections_back_off_and_recover(run: Run) -> None:
    wait_for(live(run), "live")
    run.sim.faults.refuse_ws = True
    run.sim.drop_connections()
    wait_for(lambda: run.sim.counts["refused"] >= 2, "two refused attempts")
    assert run.venue.health.state is FeedState.DOWN
    assert run.venue.backoff.attempt >= 2  # each refusal waited longer
    run.sim.faults.refuse_ws = False
    wait_for(lambda: run.venue.health.state is FeedState.LIVE, "live again")


def test_hostile_frames_are_dead_lettered_and_never_published(run: Run) -> None:
    wait_for(live(run), "live")
    run.sim.inject_hostile()
    wait_for(lambda: len(run.rejects) == len(run.sim.hostile), "every hostile frame rejected")
    assert run.venue.health.snapshot().dead_letters == len(run.sim.hostile)
    prices = {t["product"]: t["price"] for t in run.sink.ticks}
    assert prices == {"BTC": 95_000.0, "ETH": 3_500.0}  # no hostile price got through
    assert run.venue.health.state is FeedState.LIVE


def test_a_frozen_product_stops_while_the_others_go_on(run: Run) -> None:
    wait_for(live(run), "live")
    run.sim.set_frozen(True, "BTC")
    wait_for(lambda: "BTC" in run.sim.market.frozen, "BTC frozen on the simulator")
    # A BTC tick sent before the freeze may still be in the socket or the connector's batch.
    # ETH's book moves now: BTC and ETH share the connection, so once an ETH tick at the new
    # price is published every BTC tick sent before the freeze has been too.
    run.sim.set_bias(10.0, "ETH")
    moved = run.sim.market.shown_mid("ETH")
    wait_for(lambda: moved in (t["price"] for t in run.sink.of("ETH")), "ETH quoted after it")
    mark = len(run.sink)
    wait_for(lambda: len(run.sink.of("ETH", mark)) >= 10, "ETH ticks")
    assert run.sink.of("BTC", mark) == []
    assert run.venue.counters.replaced_silent == 0  # the connection stays


def test_binance_pings_are_answered_and_a_shutdown_reconnects_at_once() -> None:
    with running("binance", ping_interval_s=0.1) as run:
        wait_for(live(run), "live")
        wait_for(lambda: run.sim.counts["pongs_matched"] >= 3, "three pongs with the payload")
        assert run.venue.counters.pings_answered >= 3
        assert run.sim.counts["ping_closes"] == run.sim.counts["rate_closes"] == 0
        run.sim.send_shutdown()
        wait_for(lambda: run.sim.counts["connections"] >= 2, "a new connection")
        assert run.venue.counters.shutdowns == 1
        assert run.venue.backoff.attempt == 0  # planned: no backoff


def test_coinbase_missed_tickers_are_counted_as_a_gap() -> None:
    with running("coinbase") as run:
        wait_for(live(run), "live")
        # 0.4 s without tickers while the trade ids move on: the heartbeats (every 0.1 s)
        # announce trades that no ticker shows by the next one. (A shorter pause ends
        # with a ticker carrying the newest trade id: a batch, as the venue's are.)
        run.sim.skip_ticks = 20
        wait_for(lambda: run.venue.counters.gaps >= 2, "a gap per product")
        assert run.venue.counters.missed_trades >= 2
        assert run.sim.counts["subscribe_closes"] == 0


@pytest.mark.redis
def test_rejects_reach_the_redis_dead_letter_list(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = "deadletter:venue:coinbase-sim"
    client.delete(key)
    with running("coinbase", on_reject=deadletter_callback(client)) as run:
        wait_for(live(run), "live")
        run.sim.inject_hostile("crossed_book", "future_time")
        wait_for(lambda: client.llen(key) == 2, "two dead letters")
        entries = [json.loads(e) for e in client.lrange(key, 0, -1)]
        assert {e["stage"] for e in entries} == {"venue"}
        assert any("crossed or locked book" in e["reason"] for e in entries)
    client.close()
