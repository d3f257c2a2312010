"""The simulator's market: listing, coin prices whose IV is the venue's, relisting at expiry."""

from __future__ import annotations

import datetime as dt

import pytest

from feed_generator.venues.deribit.instruments import parse_option_name
from feed_generator.venues.deribit.sim.market import SimMarket, expiry_dates
from optionsmath import implied_vol

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
