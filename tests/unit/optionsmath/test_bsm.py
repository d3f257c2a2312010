"""BSM prices and Greeks: textbook values, put-call parity, finite differences, bad input."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optionsmath import bs_greeks, bs_price


def test_hull_example_prices() -> None:
    # Hull, Options, Futures and Other Derivatives, example 15.6: c = 4.76, p = 0.81.
    assert bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, True) == pytest.approx(4.7594, abs=5e-5)
    assert bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, False) == pytest.approx(0.8086, abs=5e-5)


def test_hull_example_greeks_in_trader_units() -> None:
    # Hull's Greek-letters example: S=49, K=50, r=5%, σ=20%, T=20 weeks.
    g = bs_greeks(49.0, 50.0, 0.3846, 0.05, 0.0, 0.20, True)
    assert g["delta"] == pytest.approx(0.522, abs=1e-3)
    assert g["gamma"] == pytest.approx(0.066, abs=1e-3)
    assert g["theta"] == pytest.approx(-4.31 / 365, abs=1e-4)  # per calendar day
    assert g["vega"] == pytest.approx(12.1 / 100, abs=1e-3)  # per volatility point
    assert g["rho"] == pytest.approx(8.91 / 100, abs=1e-3)  # per rate point


def test_at_the_money_closed_form() -> None:
    # With F = K: C = S·e^{-qT}·(2Φ(σ√T/2) − 1).
    S, T, r, sigma = 100.0, 0.75, 0.03, 0.4
    K = S * math.exp(r * T)
    expected = S * math.erf(sigma * math.sqrt(T) / 2 / math.sqrt(2))
    assert bs_price(S, K, T, r, 0.0, sigma, True) == pytest.approx(expected, rel=1e-14)


@settings(max_examples=300, deadline=None)
@given(
    S=st.floats(1.0, 1e5),
    moneyness=st.floats(0.3, 3.0),
    T=st.floats(1e-4, 5.0),
    r=st.floats(-0.02, 0.15),
    q=st.floats(0.0, 0.08),
    sigma=st.floats(0.01, 3.0),
)
def test_put_call_parity(
    S: float, moneyness: float, T: float, r: float, q: float, sigma: float
) -> None:
    K = S * moneyness
    call = bs_price(S, K, T, r, q, sigma, True)
    put = bs_price(S, K, T, r, q, sigma, False)
    forward_value = S * math.exp(-q * T) - K * math.exp(-r * T)
    assert call - put == pytest.approx(forward_value, abs=1e-12 * max(S, K))
    assert call >= 0.0
    assert put >= 0.0


GRID = np.array(np.meshgrid(
    [0.8, 0.95, 1.0, 1.1, 1.25],  # K/S
    [0.05, 0.25, 1.0, 2.0],  # T
    [0.1, 0.3, 0.8],  # sigma
    [True, False],
)).reshape(4, -1)  # fmt: skip


@pytest.mark.parametrize("q", [0.0, 0.03])
def test_greeks_match_finite_differences(q: float) -> None:
    S, r = 100.0, 0.05
    K, T, sigma, is_call = GRID[0] * S, GRID[1], GRID[2], GRID[3].astype(bool)
    g = bs_greeks(S, K, T, r, q, sigma, is_call)

    def price(**kw: object) -> np.ndarray:
        args = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma} | kw
        return np.asarray(bs_price(is_call=is_call, **args))  # type: ignore[arg-type]

    hd = 1e-5 * S
    np.testing.assert_allclose(
        g["delta"], (price(S=S + hd) - price(S=S - hd)) / (2 * hd), atol=1e-8
    )
    hs = 1e-4 * S
    gamma_fd = (price(S=S + hs) - 2 * price() + price(S=S - hs)) / hs**2
    np.testing.assert_allclose(g["gamma"], gamma_fd, rtol=1e-4, atol=1e-8)
    ht = 1e-5
    theta_fd = -(price(T=T + ht) - price(T=T - ht)) / (2 * ht) / 365
    np.testing.assert_allclose(g["theta"], theta_fd, rtol=1e-5, atol=1e-8)
    hv = 1e-5
    vega_fd = (price(sigma=sigma + hv) - price(sigma=sigma - hv)) / (2 * hv) * 0.01
    np.testing.assert_allclose(g["vega"], vega_fd, rtol=1e-6, atol=1e-9)
    hr = 1e-6
    rho_fd = (price(r=r + hr) - price(r=r - hr)) / (2 * hr) * 0.01
    np.testing.assert_allclose(g["rho"], rho_fd, rtol=1e-5, atol=1e-8)


def mp_price(S: float, K: float, T: float, r: float, q: float, sigma: float, call: bool) -> float:
    """Reference BSM price with 60 significant digits."""
    with mpmath.workdps(60):
        S_, K_, T_ = mpmath.mpf(S), mpmath.mpf(K), mpmath.mpf(T)
        s = mpmath.mpf(sigma) * mpmath.sqrt(T_)
        d1 = (mpmath.log(S_ / K_) + (mpmath.mpf(r) - q + mpmath.mpf(sigma) ** 2 / 2) * T_) / s
        d2 = d1 - s
        sign = 1 if call else -1
        value = sign * (
            S_ * mpmath.exp(-q * T_) * mpmath.ncdf(sign * d1)
            - K_ * mpmath.exp(-r * T_) * mpmath.ncdf(sign * d2)
        )
        return float(value)


@pytest.mark.parametrize(
    ("K", "T", "sigma", "call"),
    [
        (140.0, 1 / 365, 0.23, True),  # one day, 40 % out of the money: ~1e-175
        (60.0, 1 / 365, 0.35, False),
        (101.0, 1 / 8760, 0.1, True),  # one hour, 1 % out of the money: ~1e-19
        (200.0, 2.0, 0.05, True),
        (50.0, 0.5, 3.0, False),
        (100.0, 1e-6, 0.2, True),
        (60.0, 2.0, 0.2, True),  # deep in the money: time value over intrinsic
        (160.0, 0.25, 0.4, False),
        # σ√T of 1e-6: one minute at 0.1 % vol, where the erfcx difference is a series.
        (100.0, 1 / 525_600, 0.001, True),
        (100.0, 1 / 525_600, 0.001, False),
        (100.0001, 1 / 525_600, 0.002, True),
    ],
)
def test_prices_match_high_precision_reference(
    K: float, T: float, sigma: float, call: bool
) -> None:
    expected = mp_price(100.0, K, T, 0.05, 0.01, sigma, call)
    got = bs_price(100.0, K, T, 0.05, 0.01, sigma, call)
    assert expected > 1e-300  # the case is representable in float64
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("S", "K", "T", "sigma"),
    [(math.nan, 100, 1, 0.2), (100, 0, 1, 0.2), (-1, 100, 1, 0.2), (100, 100, 0, 0.2),
     (100, 100, -1, 0.2), (100, 100, 1, -0.1), (100, 100, 1, math.nan), (100, math.inf, 1, 0.2)],
)  # fmt: skip
def test_invalid_inputs_give_nan(S: float, K: float, T: float, sigma: float) -> None:
    assert math.isnan(bs_price(S, K, T, 0.05, 0.0, sigma, True))
    assert all(math.isnan(v) for v in bs_greeks(S, K, T, 0.05, 0.0, sigma, False).values())


@settings(max_examples=150, deadline=None)
@given(
    moneyness=st.floats(0.5, 2.0),
    T=st.floats(1 / 8760, 2.0),
    sigma=st.floats(0.01, 3.0),
    r=st.floats(-0.02, 0.15),
    q=st.floats(0.0, 0.08),
    call=st.booleans(),
)
def test_prices_match_high_precision_reference_everywhere(
    moneyness: float, T: float, sigma: float, r: float, q: float, call: bool
) -> None:
    expected = mp_price(100.0, 100.0 * moneyness, T, r, q, sigma, call)
    got = bs_price(100.0, 100.0 * moneyness, T, r, q, sigma, call)
    if expected < 1e-300:
        assert got < 1e-290  # underflow territory: only "tiny" is meaningful
    else:
        assert got == pytest.approx(expected, rel=1e-11)


def test_huge_total_volatility_tends_to_the_upper_bound() -> None:
    # σ√T = 80: the erfcx form would overflow; the price is S·e^{-qT}·(2Φ(40) − 1) = S.
    assert bs_price(100.0, 100.0, 64.0, 0.0, 0.0, 10.0, True) == pytest.approx(100.0, rel=1e-12)


def test_zero_volatility_is_discounted_forward_intrinsic() -> None:
    S, K, T, r = 100.0, 90.0, 1.0, 0.05
    assert bs_price(S, K, T, r, 0.0, 0.0, True) == pytest.approx(S - K * math.exp(-r * T))
    assert bs_price(S, K, T, r, 0.0, 0.0, False) == 0.0
    assert math.isnan(bs_greeks(S, K, T, r, 0.0, 0.0, True)["delta"])


def test_broadcasting_and_flag_forms() -> None:
    strikes = np.array([[90.0], [100.0], [110.0]])
    prices = bs_price(100.0, strikes, [0.5, 1.0], 0.05, 0.0, 0.2, ["CALL", "PUT"])
    assert isinstance(prices, np.ndarray)
    assert prices.shape == (3, 2)
    assert prices[1, 0] == pytest.approx(bs_price(100.0, 100.0, 0.5, 0.05, 0.0, 0.2, True))
    assert prices[1, 1] == pytest.approx(bs_price(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, False))
    assert isinstance(bs_price(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, 1), float)
    with pytest.raises(ValueError, match="CALL"):
        bs_price(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, "C")
