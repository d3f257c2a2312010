"""The Deribit connector's size-triggered flush and its rejects, without a network or its loops."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from common.messages import OptionQuote, decode_message
from common.names import Channel
from feed_generator.venues.deribit.connector import DeribitTimings, DeribitVenue
from feed_generator.venues.deribit.parser import Rejected, TickerUpdate, parse_frame
from tests.support.sinks import ListSink

START = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
NOW_MS = 1796472000000  # 2026-12-05T12:00:00.000Z


def ticker_update(strike: int) -> TickerUpdate:
    name = f"BTC-26DEC26-{strike}-C"
    data = {
        "instrument_name": name,
        "timestamp": NOW_MS,
        "mark_price": 0.05,
        "underlying_price": 96_000.0,
        "best_bid_price": 0.045,
        "best_ask_price": 0.055,
    }
    frame = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": f"ticker.{name}.100ms", "data": data},
    }
    parsed = parse_frame(json.dumps(frame).encode())
    assert isinstance(parsed, TickerUpdate)
    return parsed


def venue_with(sink: ListSink, flush_max: int) -> DeribitVenue:
    # flush_s of an hour: only the size check can flush within this test. No loop runs:
    # _update is what the connection's reader calls for every ticker notification.
    timings = DeribitTimings(flush_max=flush_max, flush_s=3600.0)
    venue = DeribitVenue(
        "ws://127.0.0.1:9/ws/api/v2", "http://127.0.0.1:9/api/v2", timings=timings,
        wall=lambda: START,
    )  # fmt: skip
    venue._sinks = [sink]
    return venue


def test_a_burst_of_flush_max_updates_is_sent_at_once() -> None:
    sink = ListSink()
    venue = venue_with(sink, flush_max=5)
    strikes = [90_000 + 1000 * i for i in range(12)]
    for strike in strikes[:4]:
        venue._update(ticker_update(strike))
    assert sink.batches == []  # four wait
    venue._update(ticker_update(strikes[4]))
    assert len(sink.batches) == 1  # the fifth sends the five, at once
    assert venue.outbox.pending == []
    for strike in strikes[5:]:
        venue._update(ticker_update(strike))
    assert [len(batch) for batch in sink.batches] == [5, 5]  # and again; two still wait
    assert len(venue.outbox.pending) == 2
    sent = [
        decode_message(Channel.MARKET_OPTION_QUOTE, data) for b in sink.batches for _, _, data in b
    ]
    quotes = [quote for quote in sent if isinstance(quote, OptionQuote)]
    assert len(quotes) == len(sent) == 10
    assert [quote.strike for quote in quotes] == strikes[:10]
    assert {channel for b in sink.batches for _, channel, _ in b} == {"market:option_quote"}


def test_rejects_are_counted_logged_as_deribit_and_dead_lettered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored: list[tuple[str, Rejected]] = []

    def store(venue: str, rejected: Rejected) -> None:
        stored.append((venue, rejected))
        if len(stored) == 2:
            raise ConnectionError("redis gone")  # a failing store must not stop the feed

    venue = DeribitVenue("ws://127.0.0.1:9", "http://127.0.0.1:9", on_reject=store,
                         wall=lambda: START)  # fmt: skip
    caplog.set_level(logging.WARNING, logger="feed_generator.venues.deribit.connector")
    for i in range(22):
        venue._reject(Rejected(f"bad frame {i}", "{"))
    assert venue.health.snapshot().dead_letters == 22
    first_two = [(name, rejected.reason) for name, rejected in stored[:2]]
    assert first_two == [("deribit", "bad frame 0"), ("deribit", "bad frame 1")]
    assert len(stored) == 22
    lines = [r for r in caplog.records if r.getMessage() == "deribit frame rejected"]
    assert [r.__dict__["rejects"] for r in lines] == list(range(1, 21))  # the first 20 only
    assert (lines[0].__dict__["venue"], lines[0].__dict__["reason"]) == ("deribit", "bad frame 0")
    assert {r.name for r in lines} == {"feed_generator.venues.deribit.connector"}  # as before
    failed = [r for r in caplog.records if r.getMessage() == "deribit dead letter not stored"]
    assert len(failed) == 1
