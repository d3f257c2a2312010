"""The simulators' market: one path for every simulator of a seed, a book on the tick grid."""

from __future__ import annotations

import math

import pytest

from feed_generator.venues.spot.sim.market import WANDER, SpotMarket

NOW = 1_796_472_000.0  # 2026-12-05T12:00:00Z


def test_two_simulators_of_one_seed_quote_the_same_path_whenever_they_started() -> None:
    early, late = SpotMarket(noise_bp=0.0), SpotMarket(noise_bp=0.0)
    for second in range(0, 600, 7):  # one stepped for ten minutes, the other only now
        early.step(NOW - 600 + second)
    early.step(NOW)
    late.step(NOW)
    assert early.mids == late.mids
    other = SpotMarket(seed=8, noise_bp=0.0)
    other.step(NOW)
    assert other.mids != late.mids


def test_the_path_stays_within_its_waves_and_the_basis_shifts_it() -> None:
    bound = math.exp(sum(a for a, _ in WANDER))  # 1 % at most
    market = SpotMarket(noise_bp=0.0)
    for minute in range(0, 24 * 60, 5):
        price = market.path("BTC", NOW + 60 * minute)
        assert 95_000 / bound <= price <= 95_000 * bound
    shifted = SpotMarket(noise_bp=0.0, basis_bps=1.0)
    market.step(NOW)
    shifted.step(NOW)
    assert shifted.mids["ETH"] == pytest.approx(market.mids["ETH"] * 1.0001, rel=1e-12)


def test_the_book_is_0_2_bp_wide_rounded_out_to_the_cent_and_bias_shifts_it() -> None:
    market = SpotMarket(wander=(), noise_bp=0.0)
    market.step(NOW)
    # 95,000 ± 0.95 (0.1 bp each side): 94,999.05 / 95,000.95; 3,500 ± 0.035 → 3,499.96 / 3,500.04
    assert market.book("BTC") == (94_999.05, 95_000.95)
    assert market.book("ETH") == (3_499.96, 3_500.04)
    assert market.shown_mid("BTC") == 95_000.0
    market.bias_bps["BTC"] = 100.0  # +1 %: 95,950 ± 0.95975
    assert market.book("BTC") == (95_949.04, 95_950.96)


def test_a_frozen_product_keeps_its_mid() -> None:
    market = SpotMarket()
    market.step(NOW)
    held = market.mids["BTC"]
    market.frozen.add("BTC")
    market.step(NOW + 300)
    assert market.mids["BTC"] == held
    assert market.mids["ETH"] != SpotMarket().mids["ETH"]
