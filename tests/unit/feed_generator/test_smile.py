"""SSVI smiles on the stochastic ATM term structure: shape and absence of static arbitrage."""

from __future__ import annotations

import numpy as np
import pytest

from feed_generator.products import PRODUCTS
from feed_generator.smile import Smile, SmileParams, butterfly_margins, ssvi_total_variance
from optionsmath import bs_price

MATURITIES = np.array([1.0 / 365 / 24, 1.0 / 365, 7.0 / 365, 30.0 / 365, 0.25, 1.0, 3.0])
K_GRID = np.linspace(-1.5, 1.5, 301)


def _smiles() -> list[Smile]:
    """Every product's smile in a calm, a normal and a stressed volatility state."""
    out = []
    for spec in PRODUCTS.values():
        p = spec.process
        for level in (0.6, 1.0, 2.5):
            out.append(Smile(spec.smile, p.long_run_vol * level, p.long_run_vol, p.mean_reversion))
    return out


@pytest.mark.parametrize("smile", _smiles())
def test_vols_are_positive_and_finite(smile: Smile) -> None:
    vols = smile.implied_vol(K_GRID[None, :], MATURITIES[:, None])
    assert np.all(np.isfinite(vols))
    assert np.all(vols > 0.0)


@pytest.mark.parametrize("smile", _smiles())
def test_equity_skew_puts_higher_vols_on_lower_strikes(smile: Smile) -> None:
    for T in MATURITIES:
        sd = float(np.sqrt(smile.atm_total_variance(T)))  # one standard deviation of ln(K/F)
        vols = smile.implied_vol(np.array([-0.2 * sd, 0.0, 0.2 * sd]), T)
        assert vols[0] > vols[1] > vols[2]
        # Far out, the smile curls up on both sides, and more on the put side.
        wings = smile.implied_vol(np.array([-3.0 * sd, 3.0 * sd]), T)
        assert wings[0] > wings[1]


@pytest.mark.parametrize("smile", _smiles())
def test_atm_level_matches_the_term_structure(smile: Smile) -> None:
    premium = smile.params.vol_premium
    np.testing.assert_allclose(smile.implied_vol(0.0, MATURITIES), smile.atm_vol(MATURITIES))
    # Short expiries follow the current volatility, long ones its long-run mean.
    assert smile.atm_vol(1e-6) == pytest.approx(premium * smile.spot_vol, rel=1e-4)
    assert smile.atm_vol(50.0) == pytest.approx(premium * smile.long_run_vol, rel=0.05)


def test_term_structure_inverts_after_a_volatility_spike() -> None:
    params = SmileParams()
    stressed = Smile(params, spot_vol=0.4, long_run_vol=0.15, mean_reversion=6.0)
    calm = Smile(params, spot_vol=0.1, long_run_vol=0.15, mean_reversion=6.0)
    assert np.all(np.diff(stressed.atm_vol(MATURITIES)) < 0.0)
    assert np.all(np.diff(calm.atm_vol(MATURITIES)) > 0.0)


@pytest.mark.parametrize("smile", _smiles())
def test_no_calendar_arbitrage_total_variance_increases_with_maturity(smile: Smile) -> None:
    w = smile.total_variance(K_GRID[None, :], MATURITIES[:, None])
    assert np.all(np.diff(w, axis=0) > 0.0)


@pytest.mark.parametrize("spec_name", list(PRODUCTS))
def test_no_butterfly_arbitrage_conditions_hold(spec_name: str) -> None:
    theta = np.geomspace(1e-8, 10.0, 500)
    first, second = butterfly_margins(theta, PRODUCTS[spec_name].smile)
    assert np.all(first > 0.0)
    assert np.all(second >= 0.0)


@pytest.mark.parametrize("smile", _smiles())
def test_call_prices_are_convex_and_decreasing_in_strike(smile: Smile) -> None:
    spot, r, q = 100.0, 0.065, 0.0
    strikes = np.linspace(50.0, 160.0, 2201)
    for T in MATURITIES[1:]:
        forward = spot * np.exp((r - q) * T)
        vols = smile.implied_vol(np.log(strikes / forward), T)
        calls = np.asarray(bs_price(spot, strikes, T, r, q, vols, True))
        assert np.all(np.diff(calls) <= 1e-12)
        assert np.all(np.diff(calls, 2) >= -1e-10)


def test_durrleman_density_condition_is_non_negative() -> None:
    """g(k) = (1 − k·w'/(2w))² − w'²/4·(1/w + 1/4) + w''/2 ≥ 0: a non-negative density."""
    params = SmileParams(rho=-0.6, eta=1.2)
    k = np.linspace(-2.0, 2.0, 4001)
    h = k[1] - k[0]
    for theta in (1e-6, 1e-4, 1e-2, 0.05, 0.3, 2.0):
        w = ssvi_total_variance(k, theta, params)
        w1 = np.gradient(w, h)
        w2 = np.gradient(w1, h)
        g = (1.0 - k * w1 / (2.0 * w)) ** 2 - w1**2 / 4.0 * (1.0 / w + 0.25) + w2 / 2.0
        assert np.all(g[2:-2] > -1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [{"rho": -1.0}, {"gamma": 0.7}, {"eta": 1.5, "rho": -0.5}, {"vol_premium": 0.0}],
)
def test_arbitrageable_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        SmileParams(**kwargs)
