"""Coinbase tickers and heartbeats: the docs' own messages, gaps by trade id, hostile frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from feed_generator.venues.rejects import Rejected
from feed_generator.venues.spot.coinbase import CoinbaseProtocol, CoinbaseSession, parse_time_ms
from feed_generator.venues.spot.quotes import Control, Signal, SpotQuote
from feed_generator.venues.spot.sim.faults import COINBASE_HOSTILE

# docs.cdp.coinbase.com/exchange/websocket-feed/channels, "Ticker Channel" and "Heartbeat Channel".
DOCS_TICKER: dict[str, Any] = {
    "type": "ticker", "sequence": 37475248783, "product_id": "ETH-USD", "price": "1285.22",
    "open_24h": "1310.79", "volume_24h": "245532.79269678", "low_24h": "1280.52",
    "high_24h": "1313.8", "volume_30d": "9788783.60117027", "best_bid": "1285.04",
    "best_bid_size": "0.46688654", "best_ask": "1285.27", "best_ask_size": "1.56637040",
    "side": "buy", "time": "2022-10-19T23:28:22.061769Z", "trade_id": 370843401,
    "last_size": "11.4396987",
}  # fmt: skip
DOCS_HEARTBEAT: dict[str, Any] = {
    "type": "heartbeat", "sequence": 90, "last_trade_id": 20, "product_id": "BTC-USD",
    "time": "2014-11-07T08:19:28.464459Z",
}  # fmt: skip
TICKER_MS = 1666222102061
"""2022-10-19T23:28:22.061Z: 1,666,222,102 s since the epoch and 61 ms (the µs truncated)."""


def frame(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def session() -> CoinbaseSession:
    return CoinbaseProtocol(["BTC", "ETH"]).session()


def test_the_docs_ticker_is_a_quote_stamped_with_its_own_time() -> None:
    quote = session().parse(frame(DOCS_TICKER), TICKER_MS + 150)
    assert quote == SpotQuote("ETH", 1285.04, 1285.27, TICKER_MS)
    assert isinstance(quote, SpotQuote)
    assert quote.mid == pytest.approx(1285.155, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2022-10-19T23:28:22.061769Z", TICKER_MS),
        ("2022-10-19T23:28:22Z", TICKER_MS - 61),
        ("2022-10-19T23:28:22.5Z", TICKER_MS - 61 + 500),
        ("2022-10-19 23:28:22.061769", None),
        ("2022-02-30T00:00:00.000Z", None),
        ("yesterday", None),
    ],
)
def test_times_are_read_to_the_millisecond_and_nothing_else(text: str, millis: int | None) -> None:
    assert parse_time_ms(text) == millis


def test_the_subscribe_message_names_both_channels_and_the_reply_confirms_them() -> None:
    protocol = CoinbaseProtocol(["BTC", "ETH"])
    assert json.loads(protocol.subscribe_messages()[0]) == {
        "type": "subscribe",
        "product_ids": ["BTC-USD", "ETH-USD"],
        "channels": ["ticker", "heartbeat"],
    }
    both = {"product_ids": ["BTC-USD", "ETH-USD"]}
    reply = {"type": "subscriptions", "channels": [{"name": "ticker", **both},
                                                   {"name": "heartbeat", **both}]}  # fmt: skip
    assert session().parse(frame(reply), 0) == Control(Signal.SUBSCRIBED, "ticker, heartbeat")
    partial = {"type": "subscriptions", "channels": [{"name": "ticker", **both}]}
    assert session().parse(frame(partial), 0) == Control(
        Signal.VENUE_ERROR, "not subscribed to heartbeat"
    )


def test_an_error_message_ends_the_connection_with_its_reason() -> None:
    reason = "You need to specify at least one product ID for channel heartbeat"
    error = {"type": "error", "message": "Failed to subscribe", "reason": reason}
    parsed = session().parse(frame(error), 0)
    assert parsed == Control(
        Signal.VENUE_ERROR,
        "Failed to subscribe: You need to specify at least one product ID for channel heartbeat",
    )


def test_unknown_message_types_are_ignored() -> None:
    assert session().parse(b'{"type": "status", "products": []}', 0) == Control(
        Signal.REPLY, "ignored type 'status'"
    )


def test_a_sequence_not_above_the_last_tickers_is_out_of_order() -> None:
    parser = session()
    assert isinstance(parser.parse(frame(DOCS_TICKER), TICKER_MS), SpotQuote)
    older = {**DOCS_TICKER, "sequence": 37475248700}
    assert parser.parse(frame(older), TICKER_MS) == Control(
        Signal.OUT_OF_ORDER, "sequence 37475248700 after 37475248783", "ETH"
    )
    jump = {**DOCS_TICKER, "sequence": 37475249999, "trade_id": 370843405}
    assert isinstance(parser.parse(frame(jump), TICKER_MS), SpotQuote)  # a jump is no gap


def ticker(product_id: str, sequence: int, trade_id: int) -> bytes:
    return frame({**DOCS_TICKER, "product_id": product_id, "sequence": sequence,
                  "trade_id": trade_id})  # fmt: skip


def heartbeat(product_id: str, sequence: int, last_trade_id: int) -> bytes:
    return frame({**DOCS_HEARTBEAT, "product_id": product_id, "sequence": sequence,
                  "last_trade_id": last_trade_id})  # fmt: skip


def test_trades_a_heartbeat_announced_and_no_ticker_showed_by_the_next_are_a_gap() -> None:
    parser = session()
    beat = Control(Signal.HEARTBEAT, product="ETH")
    assert parser.parse(heartbeat("ETH-USD", 10, 100), TICKER_MS) == beat  # no ticker yet
    assert isinstance(parser.parse(ticker("ETH-USD", 11, 100), TICKER_MS), SpotQuote)
    assert parser.parse(heartbeat("ETH-USD", 20, 104), TICKER_MS) == beat  # 101-104 pending
    assert isinstance(parser.parse(ticker("ETH-USD", 21, 102), TICKER_MS), SpotQuote)
    # At the next heartbeat 103 and 104 still have no ticker: a gap of 2, counted once.
    assert parser.parse(heartbeat("ETH-USD", 30, 104), TICKER_MS) == Control(
        Signal.GAP, "trades 103..104 not seen", "ETH", 2
    )
    assert parser.parse(heartbeat("ETH-USD", 40, 104), TICKER_MS) == beat
    # A batched ticker that covers the announced trades leaves no gap.
    assert parser.parse(heartbeat("ETH-USD", 50, 110), TICKER_MS) == beat
    assert isinstance(parser.parse(ticker("ETH-USD", 51, 110), TICKER_MS), SpotQuote)
    assert parser.parse(heartbeat("ETH-USD", 60, 110), TICKER_MS) == beat


def test_a_heartbeat_with_last_trade_id_zero_never_counts_a_gap() -> None:
    parser = session()
    parser.parse(ticker("BTC-USD", 11, 500), TICKER_MS)
    for sequence in (12, 13, 14):
        parsed = parser.parse(heartbeat("BTC-USD", sequence, 0), TICKER_MS)
        assert parsed == Control(Signal.HEARTBEAT, product="BTC")


def test_a_ticker_time_far_from_our_clock_is_refused() -> None:
    parsed = session().parse(frame(DOCS_TICKER), TICKER_MS + 2 * 86_400_000)  # 2 days later
    assert isinstance(parsed, Rejected)
    assert parsed.reason == "ticker time unusable: '2022-10-19T23:28:22.061769Z'"


EXPECTED_REASONS = {
    "garbage": "not JSON",
    "not_an_object": "wrong shape",
    "deep_nesting": "",
    "huge": "frame too large",
    "truncated": "not JSON",
    "wrong_type": "ticker: wrong shape",
    "nan_price": "BTC: bid is not a plain decimal: 'NaN'",
    "negative_price": "BTC: bid is not a plain decimal: '-95000.00'",
    "overflow_price": "BTC: ask is not a plain decimal: '1e400'",
    "crossed_book": "BTC: crossed or locked book: bid 95010 >= ask 95000",
    "wide_spread": "BTC: spread 952 bp over 100 bp",
    "unknown_product": "unknown product 'DOGE-USD'",
    "bad_time": "ticker time unusable: 'yesterday'",
    "future_time": "ticker time unusable: '2999-01-01T00:00:00.000000Z'",
    "missing_bid": "ticker: wrong shape: Object missing required field `best_bid`",
}


@pytest.mark.parametrize("name", sorted(COINBASE_HOSTILE))
def test_every_hostile_frame_is_rejected_with_its_reason(name: str) -> None:
    now = TICKER_MS + 1
    raw = COINBASE_HOSTILE[name].replace(b"{now}", b"2022-10-19T23:28:22.061769Z")
    parsed = session().parse(raw, now)
    assert isinstance(parsed, Rejected), parsed
    assert parsed.reason.startswith(EXPECTED_REASONS[name]), parsed.reason
