"""Per-product conventions: the registry, expiry instants and the settings as NSE defaults."""

from __future__ import annotations

import datetime as dt

import pytest

from common.messages.enums import ForwardSource
from common.products import (
    DERIBIT,
    NSE_CONTRACT_SIZES,
    ConventionsRegistry,
    ProductConventions,
)
from feed_generator.products import PRODUCTS


def test_the_standard_registry() -> None:
    registry = ConventionsRegistry.standard(
        rate=0.07, dividend_yield=0.01, expiry_time_utc=dt.time(9, 30)
    )
    nifty = registry.get("NIFTY")
    assert (nifty.rate, nifty.dividend_yield, nifty.expiry_time) == (0.07, 0.01, dt.time(9, 30))
    assert (nifty.contract_size, nifty.quote_currency, nifty.venue) == (75.0, "INR", "synthetic")
    assert nifty.forward_method is ForwardSource.CARRY
    for coin in ("BTC", "ETH"):
        conventions = registry.get(coin)
        assert conventions is DERIBIT
        assert (conventions.rate, conventions.dividend_yield) == (0.0, 0.0)
        assert conventions.expiry_time == dt.time(8, 0)
        assert (conventions.contract_size, conventions.quote_currency) == (1.0, "USD")
        assert conventions.venue == "deribit"
        assert conventions.forward_method is ForwardSource.PARITY
    unknown = registry.get("SOMETHING")
    assert unknown == registry.default
    assert (unknown.rate, unknown.contract_size, unknown.venue) == (0.07, 1.0, "synthetic")


def test_defaults_are_todays_settings() -> None:
    nifty = ConventionsRegistry.standard().get("BANKNIFTY")
    assert (nifty.rate, nifty.dividend_yield, nifty.expiry_time) == (0.065, 0.0, dt.time(10, 0))
    assert nifty.contract_size == 35.0


def test_the_feeds_lot_sizes_are_the_contract_sizes() -> None:
    assert {name: spec.lot_size for name, spec in PRODUCTS.items()} == dict(NSE_CONTRACT_SIZES)


def test_expiry_instant_in_a_zone_and_the_venues_instant() -> None:
    nse = ProductConventions(expiry_time=dt.time(15, 30), expiry_zone="Asia/Kolkata")
    assert nse.expiry_instant(dt.date(2026, 11, 26)) == dt.datetime(
        2026, 11, 26, 10, 0, tzinfo=dt.UTC
    )
    moment = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    assert nse.years_to_expiry(moment, dt.date(2026, 11, 26)) == 1 / 365
    exact = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
    assert DERIBIT.years_to_expiry(moment, dt.date(2026, 11, 26), exact) == 0.75 / 365
    assert DERIBIT.years_to_expiry(moment, dt.date(2026, 11, 26)) == (22 / 24) / 365


@pytest.mark.parametrize(
    "kwargs",
    [
        {"forward_method": ForwardSource.VENUE},
        {"contract_size": 0.0},
        {"rate": float("nan")},
        {"venue": "Deribit"},
        {"venue": ""},
    ],
)
def test_invalid_conventions_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"forward_method|contract_size|rate|venue"):
        ProductConventions(**kwargs)  # type: ignore[arg-type]


def test_nse_products_from_kite_count_in_units() -> None:
    # Kite's OI is in units of the underlying: a contract of 1, so Γ·OI·contract size is
    # the same units as the synthetic market's OI in lots × the lot size.
    kite = ConventionsRegistry.standard(nse_venue="kite")
    synthetic = ConventionsRegistry.standard()
    assert (kite.get("NIFTY").contract_size, kite.get("NIFTY").venue) == (1.0, "kite")
    assert (synthetic.get("NIFTY").contract_size, synthetic.get("NIFTY").venue) == (
        75.0,
        "synthetic",
    )
    assert kite.get("BTC").contract_size == synthetic.get("BTC").contract_size == 1.0


def test_nse_products_from_kite_imply_the_forward_from_parity() -> None:
    # A real venue sends no forward and its quotes, not a model, say where it is; the
    # synthetic market prices on spot with the carry, its exact forward (docs/MATH.md).
    kite = ConventionsRegistry.standard(rate=0.07, nse_venue="kite")
    synthetic = ConventionsRegistry.standard(rate=0.07)
    for name in (*NSE_CONTRACT_SIZES, "SOMETHING"):
        assert kite.get(name).forward_method is ForwardSource.PARITY, name
        assert synthetic.get(name).forward_method is ForwardSource.CARRY, name
        assert kite.get(name).rate == synthetic.get(name).rate == 0.07
    assert kite.get("BTC") is synthetic.get("BTC") is DERIBIT
