"""The spot connector's decisions on a fake clock, without a network: what it publishes
(the newest quote per product, numbered, stamped), when it ends a connection (silence,
the venue's age limit, an unconfirmed subscription, a shutdown, an error) and where
rejects go."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from common.feeds import FeedState
from common.messages import UnderlyingTick, decode_message
from common.names import Channel
from feed_generator.venues.rejects import Rejected
from feed_generator.venues.silence import SilenceWatchdog
from feed_generator.venues.spot.binance import BinanceProtocol
from feed_generator.venues.spot.coinbase import CoinbaseProtocol
from feed_generator.venues.spot.connector import SpotTimings, SpotVenue, _Connection
from feed_generator.venues.spot.quotes import Control, Signal, SpotQuote
from tests.support.clock import FakeClock
from tests.support.sinks import ListSink

START = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
START_MS = 1796472000000  # 2026-12-05T12:00:00.000Z


class FakeSocket:
    def __init__(self) -> None:
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1


def venue(protocol: BinanceProtocol | CoinbaseProtocol, clock: FakeClock) -> SpotVenue:
    rejects: list[tuple[str, Rejected]] = []
    spot = SpotVenue(protocol, "ws://127.0.0.1:9", name=f"{protocol.venue}-sim",
                     timings=SpotTimings(ping_after_s=5, replace_after_s=10,
                                         subscribe_timeout_s=5, rollover_s=60),
                     on_reject=lambda name, r: rejects.append((name, r)),
                     clock=clock, wall=lambda: START)  # fmt: skip
    spot.rejects = rejects  # type: ignore[attr-defined]
    return spot


def ticks(sink: ListSink) -> list[dict[str, object]]:
    out = []
    for batch in sink.batches:
        for _, channel, data in batch:
            assert channel == Channel.MARKET_UNDERLYING.value
            assert isinstance(decode_message(Channel.MARKET_UNDERLYING, data), UnderlyingTick)
            out.append(json.loads(data))
    return out


def test_each_batch_has_the_newest_quote_of_each_product_numbered_and_stamped() -> None:
    clock, sink = FakeClock(), ListSink()
    spot = venue(BinanceProtocol(["BTC", "ETH"]), clock)
    spot._sinks = [sink]
    state = _Connection(clock(), acked=True)
    spot._on_frame(SpotQuote("BTC", 95_000.00, 95_000.02), START_MS + 5, state)
    spot._on_frame(SpotQuote("BTC", 95_001.00, 95_001.50), START_MS + 7, state)  # supersedes
    spot._on_frame(SpotQuote("ETH", 3_500.25, 3_500.75), START_MS + 9, state)
    spot._publish()
    spot._publish()  # nothing new: no batch
    spot._on_frame(SpotQuote("BTC", 95_002.00, 95_002.50), START_MS + 120, state)
    spot._publish()
    first_seq = ticks(sink)[0]["seq"]
    assert isinstance(first_seq, int)
    assert ticks(sink) == [
        {"type": "underlying", "product": "BTC", "price": 95_001.25, "volume": 0,
         "timestamp": "2026-12-05T12:00:00.007Z", "seq": first_seq, "venue": "binance",
         "currency": "USD"},
        {"type": "underlying", "product": "ETH", "price": 3_500.5, "volume": 0,
         "timestamp": "2026-12-05T12:00:00.009Z", "seq": first_seq, "venue": "binance",
         "currency": "USD"},
        {"type": "underlying", "product": "BTC", "price": 95_002.25, "volume": 0,
         "timestamp": "2026-12-05T12:00:00.120Z", "seq": first_seq + 1, "venue": "binance",
         "currency": "USD"},
    ]  # fmt: skip
    assert first_seq == 1796472000000000  # microseconds of the start: seq_base
    assert len(sink.batches) == 2
    assert (spot.counters.quotes, spot.counters.published) == (4, 3)
    health = spot.health.snapshot()
    assert [(p.product, p.messages) for p in health.products] == [("BTC", 2), ("ETH", 1)]
    assert health.state is FeedState.LIVE  # live at its first quote


def test_a_quote_with_the_venues_time_is_stamped_with_it_not_the_receive_time() -> None:
    clock, sink = FakeClock(), ListSink()
    spot = venue(CoinbaseProtocol(["BTC"]), clock)
    spot._sinks = [sink]
    state = _Connection(clock(), acked=False)
    spot._on_frame(SpotQuote("BTC", 95_000.00, 95_000.02, START_MS - 250), START_MS, state)
    spot._publish()
    assert ticks(sink)[0]["timestamp"] == "2026-12-05T11:59:59.750Z"
    assert spot.health.state is FeedState.CONNECTING  # coinbase: live once subscribed
    spot._on_frame(Control(Signal.SUBSCRIBED), START_MS, state)
    assert spot.health.snapshot().state is FeedState.LIVE


def test_controls_end_the_connection_by_plan_or_by_failure_and_are_counted() -> None:
    clock = FakeClock()
    spot = venue(CoinbaseProtocol(["BTC"]), clock)
    state = _Connection(clock(), acked=True)
    assert spot._on_frame(Control(Signal.SHUTDOWN), 0, state) is True
    assert spot._on_frame(Control(Signal.VENUE_ERROR, "Failed to subscribe"), 0, state) is False
    assert spot._on_frame(Control(Signal.GAP, "trades 3..4 not seen", "BTC", 2), 0, state) is None
    assert spot._on_frame(Control(Signal.GAP, "trades 9..9 not seen", "BTC", 1), 0, state) is None
    assert spot._on_frame(Control(Signal.OUT_OF_ORDER, "", "BTC"), 0, state) is None
    assert spot._on_frame(Control(Signal.HEARTBEAT, product="BTC"), 0, state) is None
    c = spot.counters
    assert (c.shutdowns, c.venue_errors, c.gaps, c.missed_trades, c.out_of_order) == (1, 1, 2, 3, 1)


def test_rejects_are_dead_lettered_under_the_venue_name_and_counted_in_health() -> None:
    clock = FakeClock()
    spot = venue(BinanceProtocol(["BTC"]), clock)
    state = _Connection(clock(), acked=True)
    bad = Rejected("BTC: crossed or locked book: bid 2 >= ask 1", "{...}")
    assert spot._on_frame(bad, 0, state) is None
    assert spot.rejects == [("binance-sim", bad)]  # type: ignore[attr-defined]
    assert spot.health.snapshot().dead_letters == 1


def due(spot: SpotVenue, clock: FakeClock, state: _Connection) -> tuple[bool | None, int]:
    socket = FakeSocket()
    watchdog = SilenceWatchdog(5, 10, clock=clock)  # heard from now

    async def decide() -> bool | None:
        return await spot._due(socket, watchdog, state)  # type: ignore[arg-type]

    return asyncio.run(decide()), socket.pings


def test_silence_pings_then_replaces_the_connection() -> None:
    clock = FakeClock()
    spot = venue(BinanceProtocol(["BTC"]), clock)
    state = _Connection(clock(), acked=True)
    assert due(spot, clock, state) == (None, 0)
    socket, watchdog = FakeSocket(), SilenceWatchdog(5, 10, clock=clock)
    clock.advance(5.0)

    async def decide() -> bool | None:
        return await spot._due(socket, watchdog, state)  # type: ignore[arg-type]

    assert asyncio.run(decide()) is None
    assert socket.pings == 1  # ping once after 5 s of silence
    assert spot._next_check(watchdog, state) == 5.0  # until the replacement is due
    clock.advance(5.0)
    assert asyncio.run(decide()) is False
    assert spot.counters.replaced_silent == 1


def test_a_connection_is_replaced_without_backoff_before_the_venues_age_limit() -> None:
    clock = FakeClock()
    spot = venue(BinanceProtocol(["BTC"]), clock)
    state = _Connection(clock(), acked=True)
    clock.advance(59.9)
    assert due(spot, clock, _Connection(clock() - 59.9, acked=True))[0] is None
    clock.advance(0.1)
    assert due(spot, clock, state)[0] is True  # planned: reconnect at once
    assert spot.counters.rollovers == 1


def test_an_unconfirmed_subscription_ends_the_connection_after_its_timeout() -> None:
    clock = FakeClock()
    spot = venue(CoinbaseProtocol(["BTC"]), clock)
    state = _Connection(clock(), acked=False)
    watchdog = SilenceWatchdog(5, 10, clock=clock)
    assert spot._next_check(watchdog, state) == 5.0  # the subscription's deadline
    clock.advance(5.0)
    assert due(spot, clock, state)[0] is False
