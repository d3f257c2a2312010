"""The risk-neutral density of a smile, the lognormal, and probabilities of a P&L curve."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from common.products import ProductConventions
from optionsmath import bs_price, enrich_chain
from optionsmath.density import (
    Density,
    density_grid,
    lognormal_density,
    probability,
    risk_neutral_density,
)
from optionsmath.strategy import Smile, smile_of
from tests.support.chains import RATE, build_chain

AS_OF = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
EXPIRY = dt.date(2026, 12, 21)


def _n(x: Any) -> Any:
    """The standard normal CDF, written apart from optionsmath."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x) / math.sqrt(2.0)))


def flat(sigma: float = 0.2, spot: float = 100.0, T: float = 0.5, r: float = 0.03,
         q: float = 0.01) -> Smile:  # fmt: skip
    strikes = np.arange(60.0, 141.0, 5.0)
    return Smile.of_ivs(EXPIRY, AS_OF, T, spot, r, q, strikes, np.full(strikes.size, sigma))


def lognormal_pdf(K: Any, F: float, s: float) -> Any:
    """The density of ``F·e^{sZ − s²/2}`` at ``K``."""
    z = (np.log(np.asarray(K) / F) + 0.5 * s * s) / s
    return np.exp(-0.5 * z * z) / (K * s * math.sqrt(2.0 * math.pi))


@pytest.fixture(scope="module")
def skewed() -> Smile:
    """The smile of the synthetic NIFTY chain (15 % ATM, negative skew), 21 strikes."""
    chain = enrich_chain(build_chain(), processed_at="2026-11-21T04:00:00.005Z")
    return smile_of(chain, ProductConventions(rate=RATE, dividend_yield=0.0))


def test_a_flat_smile_gives_the_lognormal() -> None:
    smile = flat()
    F, s = smile.forward, 0.2 * math.sqrt(0.5)
    assert pytest.approx(100.0 * math.exp(0.02 * 0.5), rel=1e-15) == F
    density = risk_neutral_density(smile)
    K = density.grid
    # ±8 standard deviations of log-spot: the outside mass is the normal's tails there.
    assert K[0] == pytest.approx(F * math.exp(-8 * s), rel=1e-12)
    assert K[-1] == pytest.approx(F * math.exp(8 * s), rel=1e-12)
    below = float(_n((math.log(K[0] / F) + 0.5 * s * s) / s))
    assert density.below == pytest.approx(below, rel=1e-9)
    assert density.outside == pytest.approx(2 * float(_n(-8.0)), rel=1e-3)  # ≈ 1.2e-15
    # Integrates to one: the trapezoid sum of the raw values, before renormalising.
    assert density.raw_mass + density.outside == pytest.approx(1.0, abs=1e-6)
    assert float(np.trapezoid(density.values, K)) == pytest.approx(1.0 - density.outside, 1e-14)
    assert density.values == pytest.approx(lognormal_pdf(K, F, s), rel=1e-6, abs=1e-18)
    z2 = (np.log(F / K) - 0.5 * s * s) / s
    assert density.cumulative == pytest.approx(_n(-z2), abs=1e-12)
    assert density.clipped == 0.0
    mode = F * math.exp(-1.5 * s * s)  # the lognormal's
    assert abs(int(density.values.argmax()) - int(np.abs(K - mode).argmin())) <= 1


def test_the_lognormal_density_by_its_closed_form() -> None:
    density = lognormal_density(24_000.0, 0.15, 7 / 365)
    s = 0.15 * math.sqrt(7 / 365)
    K = density.grid
    assert density.raw_mass + density.outside == pytest.approx(1.0, abs=1e-6)
    assert density.values == pytest.approx(lognormal_pdf(K, 24_000.0, s), rel=1e-6, abs=1e-18)
    mean = float(np.trapezoid(K * density.values, K))
    assert mean == pytest.approx(24_000.0, rel=1e-7)  # a martingale: E[S_T] = F
    # The CDF between grid points follows the density: the median is F·e^{−s²/2}.
    median = 24_000.0 * math.exp(-0.5 * s * s)
    assert median not in density.grid
    assert float(density.cdf(median)) == pytest.approx(0.5, abs=1e-8)
    assert density.cdf([0.0, -1.0, math.inf]).tolist() == [0.0, 0.0, 1.0]
    assert float(density.cdf(K[0] / 2)) == density.below


def test_the_density_is_the_second_derivative_of_the_call_price(skewed: Smile) -> None:
    # e^{rT}·∂²C/∂K² by central differences of the smile's own call prices.
    density = risk_neutral_density(skewed)
    K = density.grid[::40]
    growth = math.exp(skewed.r * skewed.T)

    def call(k: Any) -> Any:
        return growth * np.asarray(
            bs_price(skewed.spot, k, skewed.T, skewed.r, skewed.q, skewed.iv(k), True)
        )

    h = 0.5
    second = (call(K + h) - 2 * call(K) + call(K - h)) / (h * h)
    raw = density.values[::40] * density.raw_mass / (1.0 - density.outside)
    assert raw == pytest.approx(second, rel=1e-4, abs=1e-9)
    # P(S_T ≤ K) = 1 + ∂c/∂K: the cumulative is the digital of the smile.
    first = 1.0 + (call(K + h) - call(K - h)) / (2 * h)
    assert density.cumulative[::40] == pytest.approx(first, abs=1e-7)


def test_the_density_reprices_the_chain(skewed: Smile) -> None:
    """∫ payoff × density × e^{−rT} is the smile's price of every listed call and put, to
    2e-7 of the forward (the trapezoid rule on 2,000 points; about 0.002 on NIFTY)."""
    density = risk_neutral_density(skewed)
    assert density.raw_mass + density.outside == pytest.approx(1.0, abs=2e-6)
    assert density.clipped == 0.0
    S, K = density.grid[:, None], skewed.listed
    discount = math.exp(-skewed.r * skewed.T)
    for is_call in (True, False):
        payoff = np.maximum(S - K, 0.0) if is_call else np.maximum(K - S, 0.0)
        priced = discount * np.trapezoid(payoff * density.values[:, None], density.grid, axis=0)
        smile = bs_price(skewed.spot, K, skewed.T, skewed.r, skewed.q, skewed.iv(K), is_call)
        assert priced == pytest.approx(np.asarray(smile), abs=2e-7 * skewed.forward)
    # And the chain's own quotes, which the smile's nodes were implied from.
    quoted = np.where(skewed.forward <= K, skewed.call_prices, skewed.put_prices)
    payoffs = np.where(skewed.forward <= K, np.maximum(S - K, 0.0), np.maximum(K - S, 0.0))
    priced = discount * np.trapezoid(payoffs * density.values[:, None], density.grid, axis=0)
    assert priced == pytest.approx(quoted, abs=2e-7 * skewed.forward)


def test_a_skewed_density_leans_left(skewed: Smile) -> None:
    density = risk_neutral_density(skewed)
    flat_one = lognormal_density(skewed.forward, float(skewed.iv([skewed.forward])[0]), skewed.T)
    # Negative skew: more mass far below the forward than the lognormal at ATM IV puts
    # there, less far above it (measured: 0.0487 against 0.0460 at 3 % below).
    low, high = skewed.forward * 0.97, skewed.forward * 1.03
    assert float(density.cdf(low)) > 1.05 * float(flat_one.cdf(low))
    assert 1.0 - float(density.cdf(high)) < 1.0 - float(flat_one.cdf(high))


def test_arbitrage_in_the_smile_is_clipped_and_reported() -> None:
    # A spike of IV at one strike: convexity in strike fails beside it.
    strikes = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    smile = Smile.of_ivs(EXPIRY, AS_OF, 0.1, 100.0, 0.0, 0.0, strikes, [0.2, 0.2, 0.6, 0.2, 0.2])
    density = risk_neutral_density(smile)
    assert density.clipped > 1e-3
    assert (density.values >= 0.0).all()
    assert (np.diff(density.cumulative) >= 0.0).all()
    assert float(np.trapezoid(density.values, density.grid)) == pytest.approx(
        1.0 - density.outside, rel=1e-12
    )


def test_probability_of_simple_curves() -> None:
    density = lognormal_density(100.0, 0.2, 1.0)
    x = np.array([80.0, 100.0, 120.0])
    assert probability(x, np.array([2.0, 2.0, 2.0]), density) == pytest.approx(1.0, abs=1e-12)
    # Extended linearly: 1 at 80 falling 1 per 20 reaches zero at 60, P = P(S_T > 60).
    d2 = (math.log(100.0 / 60.0) - 0.02) / 0.2
    rising = probability(x, np.array([1.0, 2.0, 3.0]), density)
    assert rising == pytest.approx(float(_n(d2)), abs=1e-7)
    assert probability(x, np.array([-1.0, -1.0, -3.0]), density) == 0.0
    assert probability(x, np.zeros(3), density) == 0.0  # zero is not a profit
    # P&L = S − 110, extended beyond 120: profit above 110, P = N(d2(110)).
    d2 = (math.log(100.0 / 110.0) - 0.02) / 0.2
    up = probability(x, x - 110.0, density)
    assert up == pytest.approx(float(_n(d2)), abs=1e-7)
    # The root of the outer line below the curve: P&L = 70 − S crosses at 70 < 80.
    d2 = (math.log(100.0 / 70.0) - 0.02) / 0.2
    assert probability(x, 70.0 - x, density) == pytest.approx(float(_n(-d2)), abs=1e-7)


def test_bad_inputs_are_refused() -> None:
    density = lognormal_density(100.0, 0.2, 1.0)
    with pytest.raises(ValueError, match="one length"):
        probability([1.0, 2.0], [1.0], density)
    with pytest.raises(ValueError, match="increasing"):
        probability([2.0, 1.0], [1.0, 1.0], density)
    with pytest.raises(ValueError, match="finite"):
        probability([1.0, 2.0], [1.0, math.nan], density)
    with pytest.raises(ValueError, match="positive"):
        lognormal_density(100.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        density_grid(100.0, -0.1)
    with pytest.raises(ValueError, match="increasing"):
        lognormal_density(100.0, 0.2, 1.0, grid=[90.0, 80.0, 100.0])
    with pytest.raises(ValueError, match="time to expiry"):
        risk_neutral_density(flat(), moment=AS_OF + dt.timedelta(days=365))
    assert isinstance(risk_neutral_density(flat(), [80.0, 100.0, 120.0]), Density)
