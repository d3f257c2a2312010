"""The Deribit parser on documented frames and on hostile ones: never an exception."""

from __future__ import annotations

import json

import pytest

from feed_generator.venues.deribit.messages import Heartbeat
from feed_generator.venues.deribit.parser import (
    IndexUpdate,
    Rejected,
    Reply,
    TickerUpdate,
    parse_book_summaries,
    parse_frame,
    parse_instruments,
)

# The notifications article's own example (https://docs.deribit.com/articles/notifications).
INDEX_FRAME = (
    b'{"jsonrpc": "2.0", "method": "subscription", "params": {"channel": '
    b'"deribit_price_index.btc_usd", "data": {"timestamp": 1535098298227, "price": 6521.17, '
    b'"index_name": "btc_usd"}}}'
)
# An option ticker, its values from a re-published Deribit option ticker (docs.amberdata.io,
# market:options:tickers, ETH-30SEP22-9000-P), in the field names of the ticker channel's docs
# (https://docs.deribit.com/subscriptions/market-data/tickerinstrument_nameinterval.md).
TICKER_DATA = {
    "instrument_name": "ETH-30SEP22-9000-P",
    "timestamp": 1638117438407,
    "state": "open",
    "best_bid_price": 0.002,
    "best_ask_price": 0.003,
    "best_bid_amount": 5227.0,
    "best_ask_amount": 737.0,
    "last_price": 0.0025,
    "mark_price": 0.00246,
    "mark_iv": 132.26,
    "bid_iv": 128.74,
    "ask_iv": 135.85,
    "underlying_price": 4080.34,
    "underlying_index": "ETH-30SEP22",
    "index_price": 4059.06,
    "interest_rate": 0.0,
    "open_interest": 48567.0,
    "settlement_price": 0.0,
    "min_price": 0.0001,
    "max_price": 0.024,
    "estimated_delivery_price": 4059.06,
    "stats": {"volume": 68.0, "price_change": 0.0, "low": 0.0025, "high": 0.003},
    "greeks": {"vega": 0.57283, "theta": -1.1605, "rho": 0.06139, "gamma": 3e-05, "delta": 0.01929},
}
# The get_book_summary_by_instrument example row (docs.deribit.com/api-reference/market-data/
# public-get_book_summary_by_instrument), with mark_price made a coin price like its bid.
SUMMARY_ROW = {
    "volume": 0.55,
    "underlying_price": 121.38,
    "underlying_index": "index_price",
    "quote_currency": "USD",
    "price_change": -26.7793594,
    "open_interest": 0.55,
    "mid_price": 0.2444,
    "mark_price": 0.2,
    "low": 0.34,
    "last": 0.34,
    "interest_rate": 0.207,
    "instrument_name": "ETH-22FEB19-140-P",
    "high": 0.34,
    "creation_timestamp": 1550227952163,
    "bid_price": 0.1488,
    "base_currency": "ETH",
    "ask_price": 0.34,
}


def ticker_frame(**changes: object) -> bytes:
    data = {**TICKER_DATA, **changes}
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {"channel": f"ticker.{data['instrument_name']}.100ms", "data": data},
        }
    ).encode()


def test_documented_index_notification() -> None:
    parsed = parse_frame(INDEX_FRAME)
    assert isinstance(parsed, IndexUpdate)
    assert parsed.product == "BTC"
    assert parsed.index.price == 6521.17
    assert parsed.index.timestamp == 1535098298227


def test_option_ticker() -> None:
    parsed = parse_frame(ticker_frame())
    assert isinstance(parsed, TickerUpdate)
    assert parsed.option.base == "ETH"
    assert parsed.ticker.best_bid_price == 0.002
    assert (parsed.ticker.mark_iv, parsed.ticker.bid_iv, parsed.ticker.ask_iv) == (
        132.26, 128.74, 135.85,
    )  # fmt: skip
    assert parsed.ticker.stats is not None
    assert parsed.ticker.stats.volume == 68.0


def envelope(frame: bytes, **fields: object) -> bytes:
    return json.dumps({**json.loads(frame), **fields}).encode()


def test_a_ticker_frame_with_reply_fields_is_a_reply_not_an_update() -> None:
    # The one-pass path of ticker frames leaves anything reply-like to the envelope path.
    with_id = parse_frame(envelope(ticker_frame(), id=3, result=[1]))
    assert isinstance(with_id, Reply)
    assert (with_id.id, with_id.error) == (3, None)
    with_error = parse_frame(envelope(ticker_frame(), error={"code": 11050, "message": "bad"}))
    assert isinstance(with_error, Reply)
    assert with_error.error is not None
    assert with_error.error.code == 11050
    null_result = parse_frame(envelope(ticker_frame(), result=None))
    assert isinstance(null_result, Reply)
    assert null_result.result is not None
    assert bytes(null_result.result) == b"null"


def test_a_ticker_frame_is_judged_by_its_channel_and_envelope() -> None:
    on_index_channel = json.loads(ticker_frame())
    on_index_channel["params"]["channel"] = "deribit_price_index.eth_usd"
    parsed = parse_frame(json.dumps(on_index_channel).encode())
    assert isinstance(parsed, Rejected)
    assert "wrong shape" in parsed.reason  # ticker data is no index
    assert isinstance(parse_frame(envelope(ticker_frame(), usIn="soon")), Rejected)
    assert isinstance(parse_frame(envelope(ticker_frame(), jsonrpc="1.0")), Rejected)
    long_channel = json.loads(ticker_frame())
    long_channel["params"]["channel"] = "ticker." + "X" * 64
    assert "wrong shape" in parse_frame(json.dumps(long_channel).encode()).reason  # type: ignore[union-attr]


def test_the_same_instrument_name_parses_to_the_same_option() -> None:
    first, second = parse_frame(ticker_frame()), parse_frame(ticker_frame(mark_price=0.003))
    assert isinstance(first, TickerUpdate)
    assert isinstance(second, TickerUpdate)
    assert first.option == second.option
    assert (second.option.expiry.isoformat(), second.option.strike) == ("2022-09-30", 9000.0)
    assert second.ticker.mark_price == 0.003


def test_replies_and_heartbeats() -> None:
    subscribed = parse_frame(
        b'{"jsonrpc":"2.0","id":7,"result":["ticker.BTC-5DEC26-95000-C.100ms"],'
        b'"usIn":1,"usOut":2,"usDiff":1,"testnet":false}'
    )
    assert isinstance(subscribed, Reply)
    assert subscribed.id == 7
    assert subscribed.error is None
    assert subscribed.result is not None
    assert json.loads(bytes(subscribed.result)) == ["ticker.BTC-5DEC26-95000-C.100ms"]
    refused = parse_frame(
        b'{"jsonrpc":"2.0","id":8,"error":{"code":10028,"message":"too_many_requests"}}'
    )
    assert isinstance(refused, Reply)
    assert refused.error is not None
    assert refused.error.code == 10028
    beat = parse_frame(b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}')
    assert beat == Heartbeat("test_request")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000, "wrong shape"),
        (b'{"jsonrpc":"1.0","method":"subscription"}', "wrong shape"),
        (b'{"jsonrpc":"2.0","id":1}', "neither result nor error"),
        (b'{"jsonrpc":"2.0","method":"subscription"}', "without params"),
        (b'{"jsonrpc":"2.0","method":"rm -rf","params":{}}', "unknown method"),
        (INDEX_FRAME.replace(b"6521.17", b"NaN"), "not JSON"),
        (INDEX_FRAME.replace(b"6521.17", b"-1"), "wrong shape"),
        (INDEX_FRAME.replace(b"6521.17", b"1e999"), "wrong shape"),
        (INDEX_FRAME.replace(b"6521.17", b'"6521.17"'), "wrong shape"),
        (INDEX_FRAME.replace(b'"btc_usd"}', b'"doge_usd"}'), "unknown index"),
        (INDEX_FRAME.replace(b"deribit_price_index", b"trades"), "unknown channel"),
        (ticker_frame(best_bid_price=-0.1), "wrong shape"),
        (ticker_frame(mark_iv=1e6), "wrong shape"),
        # The bid's and ask's IVs are held to the mark's: percent, 0 to 10,000.
        (ticker_frame(bid_iv=-0.5), "wrong shape"),
        (ticker_frame(ask_iv=1e6), "wrong shape"),
        (ticker_frame(ask_iv=10_000.01), "wrong shape"),
        (ticker_frame(bid_iv=float("nan")), "not JSON"),  # json.dumps writes the NaN token
        (ticker_frame(ask_iv=float("inf")), "not JSON"),
        (ticker_frame(bid_iv="128.74"), "wrong shape"),
        (ticker_frame(underlying_price=0), "wrong shape"),
        (ticker_frame(timestamp="yesterday"), "wrong shape"),
        (ticker_frame(timestamp=253402300800000), "wrong shape"),  # year 10000: no wire time
        (ticker_frame(best_bid_price=0.01, best_ask_price=0.003), "crossed book"),
        (ticker_frame(instrument_name="ETH-PERPETUAL"), "not an option instrument name"),
        (ticker_frame(instrument_name="ETH-31FEB22-9000-P"), "no such expiry date"),
    ],
)  # fmt: skip
def test_hostile_frames_are_rejected_with_a_reason(frame: bytes, reason: str) -> None:
    parsed = parse_frame(frame)
    assert isinstance(parsed, Rejected)
    assert reason in parsed.reason
    assert len(parsed.excerpt) <= 200


def test_huge_frame_is_refused_before_decoding() -> None:
    parsed = parse_frame(b" " * 2048 + INDEX_FRAME, max_bytes=1024)
    assert isinstance(parsed, Rejected)
    assert parsed.reason.startswith("frame too large")


def test_book_summary_rows_are_checked_one_by_one() -> None:
    bad = {**SUMMARY_ROW, "instrument_name": "ETH-PERPETUAL"}
    negative = {**SUMMARY_ROW, "bid_price": -1}
    bad_iv = {**SUMMARY_ROW, "bid_iv": -3.0}
    huge_iv = {**SUMMARY_ROW, "ask_iv": 1e6}
    rows = [SUMMARY_ROW, bad, negative, 7, bad_iv, huge_iv]
    good, rejected = parse_book_summaries(json.dumps(rows).encode())
    assert [(row.instrument_name, option.strike) for row, option in good] == [
        ("ETH-22FEB19-140-P", 140.0)
    ]
    assert (good[0][0].bid_iv, good[0][0].ask_iv) == (None, None)  # not in the documented row
    assert len(rejected) == 5
    assert all("wrong shape" in r.reason for r in rejected[-2:])
    with_ivs = {**SUMMARY_ROW, "mark_iv": 80.5, "bid_iv": 75.25, "ask_iv": 90.0}
    ((row, _),), none = parse_book_summaries(json.dumps([with_ivs]).encode())
    assert (row.mark_iv, row.bid_iv, row.ask_iv, none) == (80.5, 75.25, 90.0, [])
    assert parse_book_summaries(b'{"oops": 1}')[1][0].reason.startswith("wrong shape")


def test_instruments_must_agree_with_their_names() -> None:
    row = {
        "instrument_name": "BTC-27DEC26-100000-C",
        "expiration_timestamp": 1798358400000,  # 2026-12-27T08:00:00Z
        "strike": 100000.0,
        "option_type": "call",
        "kind": "option",
        "base_currency": "BTC",
        "quote_currency": "BTC",
        "settlement_currency": "BTC",
        "contract_size": 1.0,
        "tick_size": 0.0001,
        "min_trade_amount": 0.1,
        "is_active": True,
        "creation_timestamp": 1790000000000,
    }
    wrong = {**row, "strike": 90000.0}
    good, rejected = parse_instruments(json.dumps([row, wrong]).encode())
    assert [r.instrument_name for r, _ in good] == ["BTC-27DEC26-100000-C"]
    assert "disagrees" in rejected[0].reason
