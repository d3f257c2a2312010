"""The simulator's market: listing, coin prices whose IV is the venue's, relisting at expiry."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from msgspec import convert

from common.messages import OptionQuote, decode_message
from common.names import Channel
from common.products import ConventionsRegistry
from feed_generator.venues.deribit.instruments import parse_option_name
from feed_generator.venues.deribit.messages import Ticker
from feed_generator.venues.deribit.normaliser import Normaliser, from_ticker
from feed_generator.venues.deribit.sim.market import SimMarket, expiry_dates
from optionsmath import implied_vol
from worker_enricher.surface import quote_ivs

NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)  # a Saturday


def test_expiries_are_dailies_fridays_and_month_ends() -> None:
    assert [d.isoformat() for d in expiry_dates(NOW)] == [
        "2026-12-06", "2026-12-07", "2026-12-08", "2026-12-11", "2026-12-18", "2026-12-25",
        "2027-01-29", "2027-02-26",
    ]  # fmt: skip
    before_eight = dt.datetime(2026, 12, 5, 7, 59, tzinfo=dt.UTC)
    assert expiry_dates(before_eight)[0] == dt.date(2026, 12, 5)


def test_coin_prices_carry_the_quoted_iv() -> None:
    market = SimMarket(NOW, strikes_per_side=3, expiries=2)
    for name, tick in market.tickers("BTC"):
        option = parse_option_name(name)
        T = (option.expiry_instant - NOW).total_seconds() / (365 * 86400)
        usd = tick["mark_price"] * tick["underlying_price"]
        iv = implied_vol(usd, tick["underlying_price"], option.strike, T, 0, 0, option.option_type)
        assert float(iv) * 100 == pytest.approx(tick["mark_iv"], abs=0.005 + 1e-9)
        assert tick["best_ask_price"] >= tick["mark_price"]
        if tick["best_bid_price"] is not None:
            assert 0 < tick["best_bid_price"] <= tick["mark_price"]


def test_an_expired_listing_is_replaced_by_the_next() -> None:
    market = SimMarket(NOW, strikes_per_side=1, expiries=3)
    first = {name for name, _ in market.tickers("ETH")}
    market.step(dt.datetime(2026, 12, 6, 8, 0, 1, tzinfo=dt.UTC))
    after = {name for name, _ in market.tickers("ETH")}
    assert not any("-6DEC26-" in name for name in after)
    assert any("-9DEC26-" in name for name in after)
    assert first != after
    assert len(market.instruments("ETH")) == len(after) == 3 * 3 * 2


IV_ROUNDING = 0.005e-2 + 1e-9
"""The simulator sends IVs in percent to 0.01: half of that, as a decimal."""


def test_bid_and_ask_iv_are_the_ivs_of_the_prices_sent() -> None:
    """Each simulated ticker through the normaliser: OptionsFlow's IV of the row's USD bid
    (and ask), at the product's conventions, is the venue's ``bid_iv`` (``ask_iv``) to its
    rounding; a side with no IV (no bid, or a bid rounded below its zero-volatility value)
    has none on the row either. Every quote is a valid ``market:option_quote``."""
    # Wide enough for far strikes with no bid and deep ones whose bid rounds below value.
    market = SimMarket(NOW, strikes_per_side=10, expiries=2)
    normaliser = Normaliser(NOW)
    registry = ConventionsRegistry.standard(rate=0.065, dividend_yield=0.0)
    compared = {"bid_iv": 0, "ask_iv": 0}
    without = {"no price": 0, "no volatility": 0}
    for name, data in market.tickers("BTC") + market.tickers("ETH"):
        tick = convert({**data, "instrument_name": name}, Ticker)
        message = normaliser.quote(from_ticker(tick, parse_option_name(name)))
        assert isinstance(message, dict)
        decoded = decode_message(Channel.MARKET_OPTION_QUOTE, json.dumps(message).encode())
        assert isinstance(decoded, OptionQuote)
        for side, field in (("bid", "bid_iv"), ("ask", "ask_iv")):
            at_side = {**message, "bid": message[side], "ask": message[side]}
            (ours,) = quote_ivs([at_side], {}, registry)  # the venue's forward, rate 0
            if field in message:
                assert ours == pytest.approx(message[field], abs=IV_ROUNDING), (name, side)
                compared[field] += 1
            else:  # the venue sent 0: no price, or none that a volatility gives
                assert data[field] == 0.0
                assert getattr(decoded, field) is None
                if message[side] == 0.0:
                    without["no price"] += 1
                else:
                    assert math.isnan(ours), (name, side, ours)
                    without["no volatility"] += 1
    assert compared["bid_iv"] >= 100
    assert without["no price"] > 0
    assert without["no volatility"] > 0
    assert compared["ask_iv"] == len(market.books["BTC"].names) + len(market.books["ETH"].names)


def test_the_bid_iv_is_that_of_the_bid_rounded_down_not_of_the_spread() -> None:
    """Rounding the bid down to the tick lowers its IV, most where vega is small: deep in
    the money near expiry the published bid_iv is well under mark vol − 2 points."""
    market = SimMarket(NOW, strikes_per_side=7, expiries=2)
    gaps = [
        (tick["mark_iv"] - 2.0) - tick["bid_iv"]
        for _, tick in market.tickers("BTC")
        if tick["best_bid_price"] is not None and tick["bid_iv"] > 0
    ]
    assert all(gap >= -0.01 for gap in gaps)  # never above the vol it was priced at
    assert max(gaps) > 1.0  # somewhere a whole vol point and more below it
