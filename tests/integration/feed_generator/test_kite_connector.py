"""The Kite connector against the Kite simulator over real sockets on 127.0.0.1.

Each test runs :class:`KiteVenue` on its own thread into a collecting sink and waits on
conditions (bounded); recovery times are logged (``--log-cli-level=INFO``), never asserted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from common.messages import decode_message
from common.names import Channel
from feed_generator.publisher import Encoded
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.breaker import RestBreaker
from feed_generator.venues.deribit.connector import deadletter_callback
from feed_generator.venues.health import FeedState
from feed_generator.venues.kite.client import Credentials, TokenRefusedError
from feed_generator.venues.kite.connector import TOKEN_EXPIRED, KiteTimings, KiteVenue
from feed_generator.venues.kite.sim import HOSTILE_FRAMES, SIM_ACCESS_TOKEN, SIM_API_KEY, KiteSim
from feed_generator.venues.kite.token import TokenSource
from feed_generator.venues.ratebudget import BudgetLimits, RateBudget
from feed_generator.venues.rejects import Rejected
from tests.support.kite_sim import clock_between_expiries

log = logging.getLogger("recovery")
WAIT_S = 20.0
FAST = KiteTimings(
    ping_after_s=0.3, replace_after_s=0.8, chain_s=0.2, poll_s=0.3, request_timeout_s=2.0,
    token_poll_s=0.1,
)  # fmt: skip


class Published:
    """A sink keeping ``(channel, message dict)`` of everything published; thread-safe."""

    def __init__(self) -> None:
        self._items: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def send(self, batch: Sequence[Encoded]) -> None:
        with self._lock:
            self._items += [(channel, data.encode()) for _, channel, data in batch]

    def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._items)

    def of(self, channel: Channel, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            chosen = [data for ch, data in self._items[since:] if ch == channel.value]
        return [orjson.loads(data) for data in chosen]

    def check_all(self) -> None:
        """Every message decodes as its channel's type."""
        with self._lock:
            items = list(self._items)
        for channel, data in items:
            decode_message(Channel(channel), data)


@dataclasses.dataclass
class Run:
    venue: KiteVenue
    sink: Published
    rejects: list[Rejected]

    def live(self) -> bool:
        return self.venue.health.state is FeedState.LIVE

    def quotes_since(self, mark: int) -> Callable[[], bool]:
        return lambda: bool(self.sink.of(Channel.MARKET_OPTION_QUOTE, mark))


def wait_for(condition: Callable[[], bool], what: str) -> float:
    """Poll ``condition`` until true (at most ``WAIT_S``); the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > WAIT_S:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def sim() -> Iterator[KiteSim]:
    # Away from the expiries: close to one the far strikes have no bid, which the first test
    # asserts of every quote.
    server = KiteSim(
        interval=0.1, heartbeat=0.2, quote_rate=5.0, quote_burst=5.0,
        clock=clock_between_expiries(),
    )  # fmt: skip
    server.start_in_thread()
    yield server
    server.stop_thread()


@contextlib.contextmanager
def running(sim: KiteSim, token_file: Path | None = None, **kwargs: Any) -> Iterator[Run]:
    rejects: list[Rejected] = []
    tokens = TokenSource(Credentials(SIM_API_KEY, SIM_ACCESS_TOKEN), token_file)
    venue = KiteVenue(
        sim.api_url, sim.ws_url, tokens, timings=kwargs.pop("timings", FAST),
        backoff=Backoff(base=0.05, cap=0.3, rng=random.Random(7)),
        breaker=RestBreaker("test-rest", fail_max=3, reset_s=0.3, exclude=(TokenRefusedError,)),
        quote_budget=RateBudget(BudgetLimits(max_credits=5, refill_per_s=5)),
        on_reject=kwargs.pop("on_reject", lambda _venue, r: rejects.append(r)), **kwargs,
    )  # fmt: skip
    # The simulator allows 5 /quote calls a second here, and so does the connector's budget.
    sink, stop = Published(), threading.Event()
    thread = threading.Thread(target=venue.run, args=([sink], stop), daemon=True)
    thread.start()
    try:
        yield Run(venue, sink, rejects)
    finally:
        stop.set()
        thread.join(10.0)
        assert not thread.is_alive(), "the connector did not stop"
    assert venue.health.state is FeedState.DOWN


def test_live_rupee_quotes_from_depth_underlyings_and_whole_chains(sim: KiteSim) -> None:
    with running(sim) as run:
        wait_for(run.live, "live")
        wait_for(lambda: len(run.sink.of(Channel.MARKET_OPTION_CHAIN)) >= 12, "chains")
        run.sink.check_all()
        assert run.venue.health.snapshot().resyncs == 1
        assert run.rejects == []
        spots = {u["product"]: u["price"] for u in run.sink.of(Channel.MARKET_UNDERLYING)}
        assert set(spots) == {"NIFTY", "BANKNIFTY"}
        quotes = run.sink.of(Channel.MARKET_OPTION_QUOTE)
        assert {q["product"] for q in quotes} == {"NIFTY", "BANKNIFTY"}
        for q in quotes:
            assert (q["venue"], q["currency"]) == ("kite", "INR")
            assert q["expiry_ts"].endswith("T10:00:00.000Z")  # 15:30 IST
            assert 0 < q["bid"] <= q["ask"], q  # the best depth level of each side
            for price in (q["bid"], q["ask"], q["last"]):
                assert abs(price * 20 - round(price * 20)) < 1e-6, q  # the 5-paise tick
            assert q["oi"] > 0
        chains = run.sink.of(Channel.MARKET_OPTION_CHAIN)
        assert {c["product"] for c in chains} == {"NIFTY", "BANKNIFTY"}
        for chain in chains[-4:]:
            assert len(chain["calls"]) == len(chain["puts"]) == len(chain["strikes"]) == 21
            assert chain["spot_price"] == pytest.approx(spots[chain["product"]], rel=0.05)


def test_a_dropped_connection_is_resubscribed_and_resynced(sim: KiteSim) -> None:
    with running(sim) as run:
        wait_for(run.live, "live")
        connections = sim.counts["connections"]
        sim.drop_connections()
        health = run.venue.health
        took = wait_for(lambda: health.snapshot().resyncs >= 2 and run.live(), "resync")
        wait_for(run.quotes_since(len(run.sink)), "quotes on the new connection")
        assert sim.counts["connections"] == connections + 1
        assert health.snapshot().reconnects == 1
        (conn,) = list(sim.conns)
        assert len(conn.modes) == len(run.venue.universe.tokens)  # type: ignore[union-attr]
        assert set(conn.modes.values()) == {"full"}
        run.sink.check_all()
        log.info("kite: live again %.3f s after a drop", took)


def test_a_silent_connection_is_replaced(sim: KiteSim) -> None:
    with running(sim) as run:
        wait_for(run.live, "live")
        sim.set_silent(True)
        health = run.venue.health
        took = wait_for(lambda: health.snapshot().reconnects >= 1, "silence detected")
        sim.set_silent(False)
        back = wait_for(run.live, "live again")
        wait_for(run.quotes_since(len(run.sink)), "quotes again")
        run.sink.check_all()
        log.info("kite: silence replaced in %.3f s, live %.3f s after", took, back)


def test_rest_only_while_the_ticker_is_refused_then_live(sim: KiteSim) -> None:
    sim.faults.refuse_ws = True
    with running(sim) as run:
        health = run.venue.health
        wait_for(lambda: health.state is FeedState.DEGRADED, "degraded")
        wait_for(lambda: len(run.sink.of(Channel.MARKET_OPTION_CHAIN)) >= 8, "REST chains")
        assert health.snapshot().resyncs == 0
        chains = run.sink.of(Channel.MARKET_OPTION_CHAIN)
        assert {c["product"] for c in chains} == {"NIFTY", "BANKNIFTY"}
        sim.faults.refuse_ws = False
        took = wait_for(run.live, "live once allowed")
        wait_for(run.quotes_since(len(run.sink)), "streamed quotes")
        run.sink.check_all()
        log.info("kite: live %.3f s after the ticker was allowed again", took)


def test_hostile_frames_are_dead_lettered_and_the_stream_goes_on(sim: KiteSim) -> None:
    with running(sim) as run:
        wait_for(run.live, "live")
        wait_for(run.quotes_since(len(run.sink)), "streaming")
        sim.inject(*HOSTILE_FRAMES.values())
        # Each hostile frame gives at least one reject; the valid packet some of them carry is
        # of a token not followed, refused too.
        wait_for(lambda: len(run.rejects) >= len(HOSTILE_FRAMES), "every hostile frame refused")
        wait_for(run.quotes_since(len(run.sink)), "quotes after the hostile frames")
        reasons = " | ".join(r.reason for r in run.rejects)
        words = (
            "truncated",
            "no known kind",
            "bytes after",
            "out of range",
            "crossed book",
            "is an index",
            "not followed",
            "text frame refused",
            "unknown text message",
        )
        for word in words:
            assert word in reasons, reasons
        assert run.venue.health.snapshot().dead_letters == len(run.rejects)
        assert run.venue.health.snapshot().reconnects == 0
        run.sink.check_all()


def test_an_expired_token_pauses_until_a_new_one_is_in_the_file(
    sim: KiteSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "kite_token"
    token_file.write_text(SIM_ACCESS_TOKEN + "\n")
    caplog.set_level(logging.DEBUG)
    with running(sim, token_file) as run:
        wait_for(run.live, "live")
        sim.expire_token()
        health = run.venue.health
        wait_for(lambda: health.snapshot().detail == TOKEN_EXPIRED, "token_expired")
        assert health.state is FeedState.DOWN
        refused = sim.counts["refused_403"]
        time.sleep(1.0)  # paused: no reconnection, no REST call with the refused token
        assert sim.counts["refused_403"] == refused
        assert health.snapshot().detail == TOKEN_EXPIRED
        sim.set_token("day-two-token")
        token_file.write_text("day-two-token\n")
        took = wait_for(run.live, "live with the new token")
        wait_for(run.quotes_since(len(run.sink)), "quotes with the new token")
        assert health.snapshot().detail is None
        run.sink.check_all()
        log.info("kite: live %.3f s after the new token was written", took)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "kite access token refused; paused until a new token is set"
    ]
    text = "\n".join(f"{r.getMessage()} {r.__dict__} {r.exc_text}" for r in caplog.records)
    for token in (SIM_ACCESS_TOKEN, "day-two-token"):
        assert token not in text


def test_rest_down_at_start_is_down_until_it_answers(sim: KiteSim) -> None:
    sim.rest_fault(10_000, status=503)  # no instruments dump: nothing to subscribe to
    with running(sim) as run:
        health = run.venue.health
        wait_for(lambda: run.venue.breaker.opened >= 1, "the REST circuit opened")
        assert health.state is FeedState.DOWN
        assert len(run.sink) == 0
        sim.rest_fault(0)
        took = wait_for(run.live, "live once REST answers")
        wait_for(run.quotes_since(0), "quotes")
        run.sink.check_all()
        log.info("kite: live %.3f s after REST answered again", took)


def test_instruments_are_spread_over_connections_of_at_most_per_connection(sim: KiteSim) -> None:
    timings = dataclasses.replace(FAST, per_connection=100)
    with running(sim, timings=timings) as run:
        wait_for(run.live, "live")
        universe = run.venue.universe
        assert universe is not None
        wait_for(lambda: len(sim.conns) == 2, "two connections")
        sizes = sorted(len(conn.modes) for conn in list(sim.conns))
        assert sizes == [len(universe.tokens) - 100, 100]
        mark = len(run.sink)
        wait_for(lambda: len(run.sink.of(Channel.MARKET_OPTION_QUOTE, mark)) >= 340, "two ticks")
        symbols = {q["symbol"] for q in run.sink.of(Channel.MARKET_OPTION_QUOTE, mark)}
        assert len(symbols) == len(universe.options)  # every option streams, from both
    capped = dataclasses.replace(FAST, per_connection=100, max_connections=1)
    with running(sim, timings=capped) as run:
        wait_for(run.live, "live")
        assert run.venue.universe is not None
        assert (
            len(run.venue.universe.tokens) == 100
        )  # the indexes and the 98 options nearest the money
        assert set(run.venue.universe.indices.values()) == {"NIFTY", "BANKNIFTY"}


@pytest.mark.redis
def test_rejects_reach_the_redis_dead_letter_list(sim: KiteSim, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete("deadletter:venue:kite")
    with running(sim, on_reject=deadletter_callback(client)) as run:
        wait_for(run.live, "live")
        sim.inject(HOSTILE_FRAMES["crossed_book"], HOSTILE_FRAMES["text_not_json"])
        wait_for(lambda: client.llen("deadletter:venue:kite") == 2, "two dead letters")
        entries = [orjson.loads(e) for e in client.lrange("deadletter:venue:kite", 0, -1)]
        assert {e["stage"] for e in entries} == {"venue"}
        reasons = sorted(e["reason"] for e in entries)
        assert "crossed book" in reasons[1]
        assert reasons[0].startswith("text frame refused")
    client.close()


def test_a_refresh_keeps_the_stream_unless_the_selection_changed(sim: KiteSim) -> None:
    timings = dataclasses.replace(FAST, refresh_s=0.3)
    with running(sim, timings=timings) as run:
        wait_for(run.live, "live")
        first = run.venue._last_refresh
        wait_for(lambda: run.venue._last_refresh > first + 0.5, "two refreshes")
        assert run.venue.health.snapshot().reconnects == 0
        assert sim.counts["connections"] == 1
        run.venue.strikes_around = 2  # the next refresh selects fewer strikes: resubscribe
        wait_for(lambda: run.venue.health.snapshot().reconnects == 1, "a new connection")
        # 2 underlyings × 2 expiries × 5 strikes × call/put, and the 2 indexes
        wait_for(lambda: [len(c.modes) for c in list(sim.conns)] == [42], "the new selection")
        mark = len(run.sink)
        wait_for(lambda: len(run.sink.of(Channel.MARKET_OPTION_CHAIN, mark)) >= 8, "chains")
        for chain in run.sink.of(Channel.MARKET_OPTION_CHAIN, mark):
            assert len(chain["strikes"]) == 5
