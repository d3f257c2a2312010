"""The Deribit normaliser: coin prices to USD, expiries, IV percent to decimal, chains."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any

import pytest
from msgspec import convert

from common.messages import OptionChain, OptionQuote, UnderlyingTick, decode_message
from common.names import Channel
from common.timestamps import format_ts
from feed_generator.market import seq_base
from feed_generator.venues.deribit.instruments import parse_option_name
from feed_generator.venues.deribit.messages import BookSummary, Instrument, PriceIndex, Ticker
from feed_generator.venues.deribit.normaliser import (
    ChainAssembler,
    Normaliser,
    from_summary,
    from_ticker,
    ms_to_ts,
)
from feed_generator.venues.deribit.parser import Rejected
from optionsmath import black76_price, implied_vol

START = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
NOW_MS = 1796472000000  # 2026-12-05T12:00:00.000Z


def ticker(name: str, **fields: Any) -> Ticker:
    base: dict[str, Any] = {
        "instrument_name": name,
        "timestamp": NOW_MS,
        "mark_price": 0.0525,
        "underlying_price": 96_000.0,
        "best_bid_price": 0.05,
        "best_ask_price": 0.055,
        "last_price": 0.051,
        "mark_iv": 52.5,
        "open_interest": 123.4,
        "stats": {"volume": 10.6},
    }
    return convert({**base, **fields}, Ticker)


def valid(channel: Channel, message: dict[str, Any]) -> Any:
    return decode_message(channel, json.dumps(message).encode())


def test_quote_is_converted_to_usd_by_hand() -> None:
    normaliser = Normaliser(START)
    name = "BTC-26DEC26-100000-C"
    message = normaliser.quote(from_ticker(ticker(name), parse_option_name(name)))
    assert not isinstance(message, Rejected)
    quote = valid(Channel.MARKET_OPTION_QUOTE, message)
    assert isinstance(quote, OptionQuote)
    assert (quote.product, quote.expiry, quote.strike, quote.option_type) == (
        "BTC", "2026-12-26", 100000.0, "CALL",
    )  # fmt: skip
    assert quote.bid == pytest.approx(0.05 * 96_000) == 4800.0
    assert quote.ask == pytest.approx(5280.0)
    assert quote.last == pytest.approx(4896.0)
    assert quote.mark == pytest.approx(5040.0)
    assert quote.mark_iv == pytest.approx(0.525)
    assert (quote.oi, quote.volume) == (123.4, 10.6)  # coins, not rounded to whole ones
    assert quote.forward == 96_000.0
    assert quote.forward_source == "venue"
    assert (quote.venue, quote.currency) == ("deribit", "USD")
    assert quote.expiry_ts == "2026-12-26T08:00:00.000Z"
    assert quote.timestamp == "2026-12-05T12:00:00.000Z"
    assert quote.seq == seq_base(START)


def test_an_option_of_a_coin_not_configured_is_refused() -> None:
    normaliser = Normaliser(START, currencies=["btc"])
    doge = parse_option_name("DOGE-26DEC26-1-C")
    refused = normaliser.quote(from_ticker(ticker("DOGE-26DEC26-1-C"), doge))
    assert isinstance(refused, Rejected)
    assert refused.reason == "DOGE is not a configured currency (BTC)"
    eth = parse_option_name("ETH-26DEC26-4000-C")
    assert isinstance(normaliser.quote(from_ticker(ticker("ETH-26DEC26-4000-C"), eth)), Rejected)
    btc = parse_option_name("BTC-26DEC26-100000-C")
    assert isinstance(normaliser.quote(from_ticker(ticker("BTC-26DEC26-100000-C"), btc)), dict)


def test_expiry_instant_comes_from_the_instrument_when_known() -> None:
    normaliser = Normaliser(START)
    name = "BTC-26DEC26-100000-C"
    option = parse_option_name(name)
    instrument = Instrument(name, 1798272000000 + 60_000, strike=100000.0, option_type="call")
    normaliser.set_instruments([(instrument, option)])
    message = normaliser.quote(from_ticker(ticker(name), option))
    assert isinstance(message, dict)
    assert message["expiry_ts"] == "2026-12-26T08:01:00.000Z"


def test_an_instrument_refresh_replaces_the_expiry_instants_already_used() -> None:
    normaliser = Normaliser(START)
    name = "BTC-26DEC26-100000-C"
    option = parse_option_name(name)
    first = normaliser.quote(from_ticker(ticker(name), option))
    assert isinstance(first, dict)
    assert first["expiry_ts"] == "2026-12-26T08:00:00.000Z"  # the name's date, 08:00 UTC
    instrument = Instrument(name, 1798272000000 + 90_500, strike=100000.0, option_type="call")
    normaliser.set_instruments([(instrument, option)])
    second = normaliser.quote(from_ticker(ticker(name), option))
    assert isinstance(second, dict)
    assert second["expiry_ts"] == "2026-12-26T08:01:30.500Z"


@pytest.mark.parametrize(
    "millis",
    [0, 999, 1000, NOW_MS, NOW_MS + 1, NOW_MS + 999, 1798272059999, 253402300799999],
)
def test_ms_to_ts_is_the_wire_format_of_the_instant(millis: int) -> None:
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=millis)
    assert ms_to_ts(millis) == format_ts(instant)
    assert ms_to_ts(millis) == ms_to_ts(millis)  # and again, from the cached second


def test_a_non_finite_price_is_refused_not_published() -> None:
    # The parser's ranges keep tickers finite; a VenueQuote made otherwise is still refused.
    normaliser = Normaliser(START)
    option = parse_option_name("BTC-26DEC26-100000-C")
    quote = from_ticker(ticker(option.name), option)
    for changed in (
        dataclasses.replace(quote, bid=math.inf),
        dataclasses.replace(quote, mark=-math.inf),
        dataclasses.replace(quote, underlying_price=math.inf),
    ):
        refused = normaliser.quote(changed)
        assert isinstance(refused, Rejected)
        assert "non-finite" in refused.reason
    assert isinstance(normaliser.quote(dataclasses.replace(quote, ask=math.nan)), Rejected)


def test_missing_quotes_are_zero_and_linear_options_refused() -> None:
    normaliser = Normaliser(START)
    name = "ETH-26DEC26-4000-P"
    bare = ticker(name, best_bid_price=None, best_ask_price=None, last_price=None, mark_iv=None)
    message = normaliser.quote(from_ticker(bare, parse_option_name(name)))
    assert isinstance(message, dict)
    assert (message["bid"], message["ask"], message["last"]) == (0.0, 0.0, 0.0)
    assert "mark_iv" not in message
    valid(Channel.MARKET_OPTION_QUOTE, message)
    linear = "BTC_USDC-26DEC26-100000-C"
    refused = normaliser.quote(from_ticker(ticker(linear), parse_option_name(linear)))
    assert isinstance(refused, Rejected)


def test_index_becomes_an_underlying_tick_with_its_own_seq() -> None:
    normaliser = Normaliser(START)
    first = normaliser.underlying(PriceIndex("btc_usd", 95_000.5, NOW_MS), "BTC")
    second = normaliser.underlying(PriceIndex("btc_usd", 95_001.0, NOW_MS + 100), "BTC")
    tick = valid(Channel.MARKET_UNDERLYING, second)
    assert isinstance(tick, UnderlyingTick)
    assert (tick.price, tick.volume, tick.venue) == (95_001.0, 0, "deribit")
    assert second["seq"] == first["seq"] + 1 == seq_base(START) + 1


def test_assembler_aligns_rows_to_sorted_strikes() -> None:
    normaliser = Normaliser(START)
    chains = ChainAssembler(normaliser)
    names = ["BTC-26DEC26-100000-C", "BTC-26DEC26-90000-P", "BTC-26DEC26-90000-C"]
    for i, name in enumerate(names):
        quote = normaliser.quote(
            from_ticker(ticker(name, timestamp=NOW_MS + i), parse_option_name(name))
        )
        assert isinstance(quote, dict)
        chains.add_quote(quote)
    chains.add_index(normaliser.underlying(PriceIndex("btc_usd", 95_500.0, NOW_MS), "BTC"))
    (message,) = chains.assemble(START)
    chain = valid(Channel.MARKET_OPTION_CHAIN, message)
    assert isinstance(chain, OptionChain)
    assert chain.strikes == [90000.0, 100000.0]
    assert chain.spot_price == 95_500.0
    assert [row.bid for row in chain.calls] == [pytest.approx(4800.0)] * 2
    assert (chain.puts[1].bid, chain.puts[1].oi, chain.puts[1].mark) == (0.0, 0, None)
    assert chain.calls[0].mark_iv == pytest.approx(0.525)
    assert chain.timestamp == "2026-12-05T12:00:00.002Z"
    assert (chain.forward, chain.expiry_ts) == (96_000.0, "2026-12-26T08:00:00.000Z")
    assert chain.seq == seq_base(START)
    # Past the expiry instant the chain is no longer built; retain() forgets delisted names.
    assert chains.assemble(dt.datetime(2026, 12, 26, 8, tzinfo=dt.UTC)) == []
    chains.retain({"BTC-26DEC26-90000-C"})
    (again,) = chains.assemble(START)
    assert again["strikes"] == [90000.0]
    assert again["seq"] == chain.seq + 1


def test_bid_and_ask_iv_are_converted_from_percent_like_mark_iv() -> None:
    normaliser = Normaliser(START)
    name = "BTC-26DEC26-100000-C"
    sided = ticker(name, bid_iv=50.5, ask_iv=54.25)
    message = normaliser.quote(from_ticker(sided, parse_option_name(name)))
    assert isinstance(message, dict)
    quote = valid(Channel.MARKET_OPTION_QUOTE, message)
    assert isinstance(quote, OptionQuote)
    assert (quote.mark_iv, quote.bid_iv, quote.ask_iv) == (0.525, 0.505, 0.5425)
    # The wire order is the struct's: the message decoded and encoded again is the same bytes.
    assert list(message)[-4:] == ["mark", "mark_iv", "bid_iv", "ask_iv"]


def test_a_missing_bid_or_ask_iv_is_left_out() -> None:
    normaliser = Normaliser(START)
    name = "BTC-26DEC26-100000-C"
    option = parse_option_name(name)
    only_ask = normaliser.quote(from_ticker(ticker(name, ask_iv=54.25), option))
    assert isinstance(only_ask, dict)
    assert "bid_iv" not in only_ask
    assert only_ask["ask_iv"] == 0.5425
    quote = valid(Channel.MARKET_OPTION_QUOTE, only_ask)
    assert (quote.bid_iv, quote.ask_iv) == (None, 0.5425)
    neither = normaliser.quote(from_ticker(ticker(name), option))
    assert isinstance(neither, dict)
    assert not {"bid_iv", "ask_iv"} & set(neither)


def test_the_iv_of_an_empty_side_and_a_zero_iv_are_left_out() -> None:
    # Deribit sends bid_iv 0 with no bid: no volatility, not a zero one.
    normaliser = Normaliser(START)
    name = "ETH-26DEC26-4000-P"
    no_bid = ticker(name, best_bid_price=None, bid_iv=0.0, ask_iv=61.0)
    message = normaliser.quote(from_ticker(no_bid, parse_option_name(name)))
    assert isinstance(message, dict)
    assert "bid_iv" not in message
    assert message["ask_iv"] == 0.61
    no_ask = ticker(name, best_ask_price=0.0, bid_iv=48.0, ask_iv=0.0)
    message = normaliser.quote(from_ticker(no_ask, parse_option_name(name)))
    assert isinstance(message, dict)
    assert (message["bid_iv"], "ask_iv" in message) == (0.48, False)
    # A side with a price but an IV of 0: a price no volatility gives (below intrinsic).
    below = ticker(name, bid_iv=0.0, ask_iv=61.0)
    message = normaliser.quote(from_ticker(below, parse_option_name(name)))
    assert isinstance(message, dict)
    assert (message["bid"], "bid_iv" in message, message["ask_iv"]) == (4800.0, False, 0.61)


def test_a_book_summary_row_carries_its_ivs_when_it_has_them() -> None:
    normaliser = Normaliser(START)
    name = "BTC-26DEC26-100000-C"
    row: dict[str, Any] = {
        "instrument_name": name, "creation_timestamp": NOW_MS, "mark_price": 0.0525,
        "underlying_price": 96_000.0, "bid_price": 0.05, "ask_price": 0.055, "mark_iv": 52.5,
    }  # fmt: skip
    with_ivs = convert({**row, "bid_iv": 50.5, "ask_iv": 54.25}, BookSummary)
    message = normaliser.quote(from_summary(with_ivs, parse_option_name(name)))
    assert isinstance(message, dict)
    assert (message["mark_iv"], message["bid_iv"], message["ask_iv"]) == (0.525, 0.505, 0.5425)
    documented = normaliser.quote(from_summary(convert(row, BookSummary), parse_option_name(name)))
    assert isinstance(documented, dict)
    assert "mark_iv" in documented
    assert not {"bid_iv", "ask_iv"} & set(documented)


def test_chain_rows_carry_the_quotes_bid_and_ask_iv() -> None:
    normaliser = Normaliser(START)
    chains = ChainAssembler(normaliser)
    for name, ivs in (("BTC-26DEC26-90000-C", {"bid_iv": 50.5, "ask_iv": 54.25}),
                      ("BTC-26DEC26-90000-P", {})):  # fmt: skip
        quote = normaliser.quote(from_ticker(ticker(name, **ivs), parse_option_name(name)))
        assert isinstance(quote, dict)
        chains.add_quote(quote)
    (message,) = chains.assemble(START)
    assert list(message["calls"][0])[-4:] == ["mark", "mark_iv", "bid_iv", "ask_iv"]
    chain = valid(Channel.MARKET_OPTION_CHAIN, message)
    assert isinstance(chain, OptionChain)
    call, put = chain.calls[0], chain.puts[0]
    assert (call.mark_iv, call.bid_iv, call.ask_iv) == (0.525, 0.505, 0.5425)
    assert (put.mark_iv, put.bid_iv, put.ask_iv) == (0.525, None, None)


def test_our_iv_of_the_bid_and_ask_agrees_with_the_venues() -> None:
    """A ticker priced as Deribit prices it (Black-76 at rate 0 on ``underlying_price``, coin
    prices), its bid at 50 % and its ask at 55 %: the row's USD bid and ask give those back."""
    name, forward, strike = "BTC-26DEC26-100000-C", 96_000.0, 100_000.0
    T = (dt.datetime(2026, 12, 26, 8, tzinfo=dt.UTC) - START).total_seconds() / (365 * 86400)
    bid, ask = (float(black76_price(forward, strike, T, 0.0, v, True)) / forward
                for v in (0.50, 0.55))  # fmt: skip
    priced = ticker(name, underlying_price=forward, best_bid_price=bid, best_ask_price=ask,
                    bid_iv=50.0, ask_iv=55.0)  # fmt: skip
    message = Normaliser(START).quote(from_ticker(priced, parse_option_name(name)))
    assert isinstance(message, dict)
    quote = valid(Channel.MARKET_OPTION_QUOTE, message)
    for price, venue_iv in ((quote.bid, quote.bid_iv), (quote.ask, quote.ask_iv)):
        ours = float(implied_vol(price, forward, strike, T, 0.0, 0.0, True))
        assert ours == pytest.approx(venue_iv, abs=1e-9)
    assert (quote.bid_iv, quote.ask_iv) == (0.5, 0.55)
