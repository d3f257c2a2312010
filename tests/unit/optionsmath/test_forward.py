"""Black-76 on the forward, the carry forward and the forward implied by put-call parity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optionsmath import (
    black76_greeks,
    black76_price,
    bs_greeks,
    bs_price,
    carry_forward,
    implied_vol_black76,
    parity_forward,
)


def black76_by_hand(F: float, K: float, T: float, r: float, sigma: float, call: bool) -> float:
    """The textbook formula, written independently of optionsmath."""
    phi = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))  # noqa: E731
    d1 = (math.log(F / K) + 0.5 * sigma * sigma * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    df = math.exp(-r * T)
    if call:
        return df * (F * phi(d1) - K * phi(d2))
    return df * (K * phi(-d2) - F * phi(-d1))


@pytest.mark.parametrize(
    ("F", "K", "T", "r", "sigma"),
    [
        (100.0, 100.0, 1.0, 0.05, 0.2),
        (97_250.0, 100_000.0, 0.0169, 0.0, 0.523),
        (24_100.0, 23_500.0, 0.25, 0.065, 0.14),
        (3_400.0, 2_600.0, 0.5, 0.0, 0.8),
    ],
)
def test_black76_matches_the_closed_form_and_parity(
    F: float, K: float, T: float, r: float, sigma: float
) -> None:
    call = black76_price(F, K, T, r, sigma, True)
    put = black76_price(F, K, T, r, sigma, False)
    assert call == pytest.approx(black76_by_hand(F, K, T, r, sigma, True), rel=1e-12)
    assert put == pytest.approx(black76_by_hand(F, K, T, r, sigma, False), rel=1e-12)
    assert isinstance(call, float)
    assert isinstance(put, float)
    assert call - put == pytest.approx(math.exp(-r * T) * (F - K), abs=1e-10 * F)
    for price, is_call in ((call, True), (put, False)):
        assert implied_vol_black76(price, F, K, T, r, is_call) == pytest.approx(sigma, abs=1e-9)


def test_black76_on_the_carry_forward_is_bsm_on_spot() -> None:
    S, K, T, r, q, sigma = 24_000.0, 24_500.0, 0.1, 0.065, 0.012, 0.16
    F = carry_forward(S, T, r, q)
    assert pytest.approx(S * math.exp((r - q) * T), rel=1e-15) == F
    for is_call in (True, False):
        assert black76_price(F, K, T, r, sigma, is_call) == pytest.approx(
            bs_price(S, K, T, r, q, sigma, is_call), rel=1e-12
        )


def test_black76_greeks_hold_the_forward_fixed() -> None:
    F, K, T, r, sigma = 97_250.0, 100_000.0, 0.05, 0.03, 0.55
    K_ = np.array([90_000.0, K, 110_000.0])
    for is_call in (True, False):
        g = black76_greeks(F, K_, T, r, sigma, is_call)
        h = 1e-4 * F
        up = np.asarray(black76_price(F + h, K_, T, r, sigma, is_call))
        down = np.asarray(black76_price(F - h, K_, T, r, sigma, is_call))
        mid = np.asarray(black76_price(F, K_, T, r, sigma, is_call))
        np.testing.assert_allclose(g["delta"], (up - down) / (2 * h), rtol=1e-6)
        np.testing.assert_allclose(g["gamma"], (up - 2 * mid + down) / (h * h), rtol=1e-4)
        # ∂V/∂r with F fixed is −T·V (only the discounting moves), per rate point.
        np.testing.assert_allclose(g["rho"], -T * mid * 0.01, rtol=1e-12)
        dr = 1e-6
        bumped = np.asarray(black76_price(F, K_, T, r + dr, sigma, is_call))
        np.testing.assert_allclose(g["rho"], (bumped - mid) / dr * 0.01, rtol=1e-5)
        same = bs_greeks(F, K_, T, r, r, sigma, is_call)
        for name in ("delta", "gamma", "theta", "vega"):
            np.testing.assert_allclose(g[name], same[name], rtol=1e-15)
    scalar = black76_greeks(F, K, T, r, sigma, True)
    assert isinstance(scalar["rho"], float)
    assert scalar["rho"] < 0.0
    assert math.isnan(black76_greeks(F, K, T, r, 0.0, True)["rho"])


def quotes_on(
    F: float, strikes: np.ndarray, T: float, r: float, sigma: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Bid/ask around Black-76 prices on ``F``: noisy mids, half-spreads of 1 % of the price."""
    sides = []
    for is_call in (True, False):
        fair = np.asarray(black76_price(F, strikes, T, r, sigma, is_call))
        mid = fair * (1.0 + rng.normal(0.0, 0.002, strikes.size))
        sides.append(np.column_stack([mid * 0.99, mid * 1.01]))
    return sides[0], sides[1]


def test_parity_recovers_a_known_forward_through_noise_and_one_sided_quotes() -> None:
    rng = np.random.default_rng(7)
    F, T, r, spot = 97_250.0, 30 / 365, 0.0, 96_800.0  # a forward 0.46 % over the index
    strikes = np.arange(80_000.0, 115_001.0, 1_000.0)
    calls, puts = quotes_on(F, strikes, T, r, 0.5, rng)
    atm = int(np.argmin(np.abs(strikes - F)))
    calls[atm, 0] = 0.0  # one-sided: no bid, so that strike does not count
    puts[atm + 1] = np.nan  # no put quote at all
    calls[atm - 1] = [5_000.0, 5_100.0]  # one hostile quote among the five nearest
    got = parity_forward(strikes, calls, puts, math.exp(-r * T), spot)
    assert got == pytest.approx(F, rel=2e-4)  # the median ignores the outlier
    assert abs(got - spot) > 300.0  # not the index: the basis is found


def test_parity_discounts_at_the_rate() -> None:
    rng = np.random.default_rng(3)
    F, T, r = 24_150.0, 0.2, 0.065
    strikes = np.arange(23_000.0, 25_001.0, 100.0)
    calls, puts = quotes_on(F, strikes, T, r, 0.15, rng)
    got = parity_forward(strikes, calls, puts, math.exp(-r * T), 24_000.0)
    assert got == pytest.approx(F, rel=5e-5)


def test_parity_needs_three_two_sided_strikes() -> None:
    strikes = np.array([95_000.0, 100_000.0, 105_000.0])
    calls = np.array([[6_000.0, 6_100.0], [2_900.0, 3_000.0], [1_000.0, 1_050.0]])
    puts = np.array([[1_000.0, 1_050.0], [2_900.0, 3_000.0], [5_900.0, 6_000.0]])
    assert parity_forward(strikes, calls, puts, 1.0, 100_000.0) == pytest.approx(100_025.0)
    puts[2] = [6_000.0, 5_900.0]  # crossed: not a two-sided quote
    assert math.isnan(parity_forward(strikes, calls, puts, 1.0, 100_000.0))
    assert math.isnan(parity_forward(strikes[:0], calls[:0], puts[:0], 1.0, 100_000.0))
