"""The simulator's market: listing, coin prices whose IV is the venue's, relisting at expiry."""

from __future__ import annotations

import datetime as dt
import json
import math
from itertools import pairwise

import pytest
from msgspec import convert

from common.messages import OptionQuote, decode_message
from common.names import Channel
from common.products import ConventionsRegistry
from feed_generator.venues.deribit.instruments import EXPIRY_TIME_UTC, parse_option_name
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


def _expires(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, EXPIRY_TIME_UTC, tzinfo=dt.UTC)


def _is_month_end(day: dt.date) -> bool:
    """The month's last Friday: a Friday with no Friday after it in its month."""
    return day.weekday() == 4 and (day + dt.timedelta(7)).month != day.month


_FRIDAYS_AT_EIGHT = [  # a weekly, month-ends on the 30th and 31st, and the year's last
    _expires(day) + dt.timedelta(seconds=s)
    for day in (dt.date(2026, 12, 18), dt.date(2026, 1, 30), dt.date(2026, 7, 31),
                dt.date(2026, 12, 25))
    for s in (-1, 0, 1)
]  # fmt: skip
INSTANTS = [
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h) for h in range(365 * 24 + 1)
] + _FRIDAYS_AT_EIGHT
"""Every hour of 2026 to 2027-01-01 00:00, and a second either side of 08:00 on Fridays."""


def test_expiries_are_count_distinct_dates_still_to_come() -> None:
    """At any instant the list holds exactly ``count`` dates, increasing, each expiring
    after ``now``, the first the nearest 08:00 UTC to come: the dailies, Fridays and
    month-ends overlap (a month-end is a Friday, a Friday can be a daily), and an expiry
    leaves the list when it expires, not at the end of its month."""
    for now in INSTANTS:
        days = expiry_dates(now)
        assert len(days) == 8, (now, days)
        assert all(a < b for a, b in pairwise(days)), (now, days)
        assert _expires(days[0]) > now, (now, days)
        today = now.date()
        assert days[0] == min(d for d in (today, today + dt.timedelta(1)) if _expires(d) > now)
    assert len(expiry_dates(INSTANTS[0], 12)) == 12
    assert expiry_dates(INSTANTS[0], 2) == expiry_dates(INSTANTS[0])[:2]


def test_expiries_are_listed_as_the_venue_lists_them() -> None:
    """The next three dailies and the next three Fridays are listed, every other date is
    a month's last Friday, and no month-end before the last listed date is left out."""
    for now in INSTANTS:
        days = expiry_dates(now)
        first = days[0]
        dailies = {first + dt.timedelta(i) for i in range(3)}
        fridays = {d for d in (first + dt.timedelta(i) for i in range(21)) if d.weekday() == 4}
        assert dailies | fridays <= set(days), (now, days)
        assert all(_is_month_end(d) for d in set(days) - dailies - fridays), (now, days)
        span = (first + dt.timedelta(i) for i in range((days[-1] - first).days))
        assert {d for d in span if _is_month_end(d)} <= set(days), (now, days)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Tuesday after 08:00, the month's last Friday (25th) two weeks on: a weekly too.
        (dt.datetime(2026, 12, 8, 9, tzinfo=dt.UTC),
         ["2026-12-09", "2026-12-10", "2026-12-11", "2026-12-18", "2026-12-25",
          "2027-01-29", "2027-02-26", "2027-03-26"]),
        # A second after December's month-end expired: January's Fridays and month-ends.
        (dt.datetime(2026, 12, 25, 8, 0, 1, tzinfo=dt.UTC),
         ["2026-12-26", "2026-12-27", "2026-12-28", "2027-01-01", "2027-01-08",
          "2027-01-15", "2027-01-29", "2027-02-26"]),
        # Later in that week: the 25th stays expired.
        (dt.datetime(2026, 12, 30, 12, tzinfo=dt.UTC),
         ["2026-12-31", "2027-01-01", "2027-01-02", "2027-01-08", "2027-01-15",
          "2027-01-29", "2027-02-26", "2027-03-26"]),
    ],
)  # fmt: skip
def test_expiries_at_a_month_end(now: dt.datetime, expected: list[str]) -> None:
    assert [d.isoformat() for d in expiry_dates(now)] == expected


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
