"""Binance book tickers: the docs' own payload, the control frames, hostile frames refused."""

from __future__ import annotations

import json

import pytest

from feed_generator.venues.rejects import Rejected
from feed_generator.venues.spot.binance import BinanceProtocol, BinanceSession
from feed_generator.venues.spot.quotes import Control, Signal, SpotQuote
from feed_generator.venues.spot.sim.faults import BINANCE_HOSTILE

# web-socket-streams.md, "Individual Symbol Book Ticker Streams", as a combined-stream event.
DOCS_PAYLOAD = {"u": 400900217, "s": "BNBUSDT", "b": "25.35190000", "B": "31.21000000",
                "a": "25.36520000", "A": "40.66000000"}  # fmt: skip
RECEIVED_MS = 1796472000000


def combined(data: dict[str, object], stream: str = "bnbusdt@bookTicker") -> bytes:
    return json.dumps({"stream": stream, "data": data}).encode()


def session() -> BinanceSession:
    return BinanceSession({"BNBUSDT": "BNB", "BTCUSDT": "BTC", "ETHUSDT": "ETH"})


def test_the_docs_book_ticker_is_a_quote_with_the_mid_and_no_venue_time() -> None:
    quote = session().parse(combined(DOCS_PAYLOAD), RECEIVED_MS)
    assert quote == SpotQuote("BNB", 25.3519, 25.3652, None)  # bookTicker has no event time
    assert isinstance(quote, SpotQuote)
    assert quote.mid == pytest.approx(25.35855, abs=1e-12)


def test_an_update_id_not_above_the_last_is_out_of_order_and_a_jump_is_normal() -> None:
    parser = session()
    assert isinstance(parser.parse(combined(DOCS_PAYLOAD), RECEIVED_MS), SpotQuote)
    again = parser.parse(combined(DOCS_PAYLOAD), RECEIVED_MS)
    assert again == Control(Signal.OUT_OF_ORDER, "u 400900217 after 400900217", "BNB")
    older = parser.parse(combined({**DOCS_PAYLOAD, "u": 400900000}), RECEIVED_MS)
    assert isinstance(older, Control)
    assert older.signal is Signal.OUT_OF_ORDER
    later = parser.parse(combined({**DOCS_PAYLOAD, "u": 400990000, "b": "25.3"}), RECEIVED_MS)
    assert later == SpotQuote("BNB", 25.3, 25.3652, None)


def test_a_new_connection_starts_its_update_ids_afresh() -> None:
    protocol = BinanceProtocol(["BTC", "ETH"])
    frame = combined({**DOCS_PAYLOAD, "s": "BTCUSDT", "b": "95000.01", "a": "95000.02"},
                     "btcusdt@bookTicker")  # fmt: skip
    first = protocol.session()
    assert isinstance(first.parse(frame, RECEIVED_MS), SpotQuote)
    assert isinstance(protocol.session().parse(frame, RECEIVED_MS), SpotQuote)


def test_the_combined_url_subscribes_every_product_without_a_request() -> None:
    protocol = BinanceProtocol(["BTC", "ETH"])
    assert protocol.url("wss://stream.binance.com:9443/") == (
        "wss://stream.binance.com:9443/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"
    )
    assert protocol.subscribe_messages() == []
    assert protocol.subscribed_on_open
    assert protocol.rollover_s == 23.5 * 3600  # before the 24-hour cut


@pytest.mark.parametrize(
    "frame",
    [
        b'{"e": "serverShutdown", "E": 1770123456789}',
        b'{"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1770123456789}}',
    ],
)
def test_server_shutdown_in_either_shape_asks_for_a_new_connection(frame: bytes) -> None:
    assert session().parse(frame, RECEIVED_MS) == Control(Signal.SHUTDOWN, "serverShutdown")


def test_replies_and_errors_are_controls() -> None:
    reply = session().parse(b'{"result": null, "id": 1}', RECEIVED_MS)
    assert reply == Control(Signal.REPLY, "id 1")
    error = session().parse(b'{"code": 2, "msg": "Invalid request: too many parameters"}', 0)
    assert error == Control(Signal.VENUE_ERROR, "2: Invalid request: too many parameters")


EXPECTED_REASONS = {
    "garbage": "not JSON",
    "not_an_object": "wrong shape",
    "deep_nesting": "",
    "huge": "frame too large: 2097206 > 65536 bytes",
    "truncated": "not JSON",
    "wrong_type": "book ticker: wrong shape",
    "nan_price": "BTC: bid is not a plain decimal: 'NaN'",
    "negative_price": "BTC: bid is not a plain decimal: '-95000.00'",
    "zero_bid": "BTC: price out of range (0, 1e+09]: bid 0 ask 95000",
    "overflow_price": "BTC: ask is not a plain decimal: '1e400'",
    "crossed_book": "BTC: crossed or locked book: bid 95010 >= ask 95000",
    "wide_spread": "BTC: spread 952 bp over 100 bp: bid 90000 ask 99000",
    "unknown_symbol": "unknown symbol 'DOGEUSDT' on stream 'dogeusdt@bookTicker'",
    "stream_mismatch": "unknown symbol 'BTCUSDT' on stream 'ethusdt@bookTicker'",
}


@pytest.mark.parametrize("name", sorted(BINANCE_HOSTILE))
def test_every_hostile_frame_is_rejected_with_its_reason(name: str) -> None:
    parsed = session().parse(BINANCE_HOSTILE[name], RECEIVED_MS)
    assert isinstance(parsed, Rejected), parsed
    assert parsed.reason.startswith(EXPECTED_REASONS[name]), parsed.reason
    assert len(parsed.excerpt) <= 200
