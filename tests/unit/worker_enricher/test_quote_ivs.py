"""Quote IVs for the surface at each product's conventions: Black-76 on a venue's forward."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pytest
from msgspec import convert

from common.messages import decode_message
from common.names import Channel
from common.products import ConventionsRegistry
from common.timestamps import SECONDS_PER_YEAR
from feed_generator.venues.deribit.instruments import parse_option_name
from feed_generator.venues.deribit.messages import Ticker
from feed_generator.venues.deribit.normaliser import Normaliser, from_ticker
from optionsmath import black76_price, bs_price, implied_vol
from worker_enricher.surface import quote_ivs, quote_ivs_and_forwards

REGISTRY = ConventionsRegistry.standard(rate=0.065, dividend_yield=0.0)
WHEN = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
FORWARD, INDEX, STRIKE, VOL = 96_450.0, 96_000.0, 100_000.0, 0.525


def btc_quote(bid: float, ask: float, **extra: Any) -> dict[str, Any]:
    """A BTC call quote in USD, as the worker sees it after validation."""
    return {
        "symbol": "BTC-26DEC26-100000-C", "product": "BTC", "expiry": "2026-12-26",
        "strike": STRIKE, "option_type": "CALL", "bid": bid, "ask": ask, "last": 0.0,
        "volume": 1, "oi": 10, "timestamp": "2026-12-05T12:00:00.000Z", "seq": 1, **extra,
    }  # fmt: skip


def years(until: dt.datetime) -> float:
    return (until - WHEN).total_seconds() / SECONDS_PER_YEAR


def test_a_btc_quote_on_its_forward_gives_back_the_iv_that_priced_it() -> None:
    expiry_ts = dt.datetime(2026, 12, 26, 8, 1, tzinfo=dt.UTC)  # the venue's exact instant
    fair = float(black76_price(FORWARD, STRIKE, years(expiry_ts), 0.0, VOL, True))
    quote = btc_quote(
        fair - 5.0, fair + 5.0, forward=FORWARD, forward_source="venue",
        expiry_ts="2026-12-26T08:01:00.000Z",
    )  # fmt: skip
    (iv,) = quote_ivs([quote], {"BTC": INDEX}, REGISTRY)
    assert iv == pytest.approx(VOL, abs=1e-9)
    # The NSE settings (6.5 %, 10:00 UTC, on the index) would have said something else.
    nse_T = years(dt.datetime(2026, 12, 26, 10, tzinfo=dt.UTC))
    nse = float(implied_vol(fair, INDEX, STRIKE, nse_T, 0.065, 0.0, True))
    assert abs(nse - VOL) > 0.004  # almost half a vol point off


def test_a_btc_quote_without_forward_expires_at_0800_utc_at_rate_zero() -> None:
    T = years(dt.datetime(2026, 12, 26, 8, tzinfo=dt.UTC))
    fair = float(bs_price(INDEX, STRIKE, T, 0.0, 0.0, VOL, True))
    (iv,) = quote_ivs([btc_quote(fair - 5.0, fair + 5.0)], {"BTC": INDEX}, REGISTRY)
    assert iv == pytest.approx(VOL, abs=1e-9)
    (none,) = quote_ivs([btc_quote(fair - 5.0, fair + 5.0)], {}, REGISTRY)
    assert none != none  # no spot and no forward: NaN


def test_a_nifty_quote_keeps_the_settings_rate_and_1000_utc() -> None:
    T = years(dt.datetime(2026, 12, 10, 10, tzinfo=dt.UTC))
    fair = float(bs_price(24_010.0, 24_000.0, T, 0.065, 0.0, 0.15, True))
    quote = {**btc_quote(fair - 1.0, fair + 1.0), "symbol": "NIFTY26121024000CE",
             "product": "NIFTY", "expiry": "2026-12-10", "strike": 24_000.0}  # fmt: skip
    (iv,) = quote_ivs([quote], {"NIFTY": 24_010.0}, REGISTRY)
    assert iv == pytest.approx(0.15, abs=1e-9)


def test_the_iv_of_deribits_mark_agrees_with_deribits_mark_iv() -> None:
    """A ticker as Deribit sends it (coin prices, IV in percent) through the normaliser."""
    name = "BTC-26DEC26-100000-C"
    T = years(dt.datetime(2026, 12, 26, 8, tzinfo=dt.UTC))
    coin = float(black76_price(FORWARD, STRIKE, T, 0.0, VOL, True)) / FORWARD
    ticker = convert(
        {"instrument_name": name, "timestamp": int(WHEN.timestamp() * 1000),
         "mark_price": coin, "underlying_price": FORWARD, "best_bid_price": coin,
         "best_ask_price": coin, "last_price": None, "mark_iv": VOL * 100.0,
         "open_interest": 12.0, "stats": {"volume": 1.0}},
        Ticker,
    )  # fmt: skip
    message = Normaliser(WHEN).quote(from_ticker(ticker, parse_option_name(name)))
    assert isinstance(message, dict)
    raw = json.dumps(message).encode()
    assert decode_message(Channel.MARKET_OPTION_QUOTE, raw) is not None  # a valid quote
    quote = json.loads(raw)
    (iv,) = quote_ivs([quote], {"BTC": INDEX}, REGISTRY)
    assert iv == pytest.approx(quote["mark_iv"], abs=1e-9)
    assert quote["mark_iv"] == pytest.approx(VOL)


def test_each_iv_comes_with_the_forward_it_was_priced_on() -> None:
    """A quote's own forward as sent; without one, spot carried at the product's r and q:
    BTC at rate 0 is the index itself, NIFTY at 6.5 % for 5 days is S·e^{0.065·T}."""
    with_forward = btc_quote(100.0, 110.0, forward=FORWARD, forward_source="venue")
    nifty_T = years(dt.datetime(2026, 12, 10, 10, tzinfo=dt.UTC))
    nifty = {**btc_quote(100.0, 101.0), "symbol": "NIFTY26121024000CE", "product": "NIFTY",
             "expiry": "2026-12-10", "strike": 24_000.0}  # fmt: skip
    quotes = [with_forward, btc_quote(100.0, 110.0), nifty, {**nifty, "product": "TCS"}]
    ivs, forwards = quote_ivs_and_forwards(quotes, {"BTC": INDEX, "NIFTY": 24_010.0}, REGISTRY)
    assert forwards[:2] == [FORWARD, INDEX]
    assert forwards[2] == pytest.approx(24_010.0 * math.exp(0.065 * nifty_T), rel=1e-15)
    assert forwards[3] != forwards[3]  # no spot known for TCS: NaN
    np.testing.assert_array_equal(ivs, quote_ivs(quotes, {"BTC": INDEX, "NIFTY": 24_010.0},
                                                 REGISTRY))  # fmt: skip
