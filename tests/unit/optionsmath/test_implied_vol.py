"""Implied volatility: dense round trips, wings, short expiries, bounds and bad input."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optionsmath import bs_greeks, bs_price, implied_vol

EPS = float(np.finfo(np.float64).eps)


def mp_price(S: float, K: float, T: float, r: float, q: float, sigma: float, call: bool) -> float:
    """Reference BSM price with 60 significant digits."""
    with mpmath.workdps(60):
        s = mpmath.mpf(sigma) * mpmath.sqrt(T)
        d1 = (mpmath.log(mpmath.mpf(S) / K) + (mpmath.mpf(r) - q) * T) / s + s / 2
        sign = 1 if call else -1
        value = sign * (
            S * mpmath.exp(-mpmath.mpf(q) * T) * mpmath.ncdf(sign * d1)
            - K * mpmath.exp(-mpmath.mpf(r) * T) * mpmath.ncdf(sign * (d1 - s))
        )
        return float(value)


R, Q = 0.05, 0.02


def information_limit(price: np.ndarray, vega_per_unit: np.ndarray) -> np.ndarray:
    """How precisely a float64 price pins σ down: half an ulp of the price over vega."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(price > 1e-300, EPS * price / vega_per_unit, np.inf)


def test_dense_grid_round_trip() -> None:
    """Moneyness 0.5–2, T from one hour to two years, σ from 1 % to 300 %, calls and puts."""
    S = 100.0
    m, T, sigma, call = np.meshgrid(
        np.geomspace(0.5, 2.0, 41), np.geomspace(1 / 8760, 2.0, 31),
        np.geomspace(0.01, 3.0, 41), [True, False], indexing="ij",
    )  # fmt: skip
    K = S * m
    price = np.asarray(bs_price(S, K, T, R, Q, sigma, call))
    iv = np.asarray(implied_vol(price, S, K, T, R, Q, call))
    vega = np.asarray(bs_greeks(S, K, T, R, Q, sigma, call)["vega"]) * 100
    limit = information_limit(price, vega)
    informative = limit < 1e-11
    assert informative.mean() > 0.5, "the grid must mostly be informative to mean anything"
    err = np.abs(iv - sigma)
    assert np.all(np.isfinite(iv[informative]))
    assert np.max(err[informative]) <= 1e-9
    # Where the price carries less information: NaN, or as close as the price allows.
    rest = ~informative & np.isfinite(iv)
    assert np.all(err[rest] <= 1e-9 + 1e3 * limit[rest])


@settings(max_examples=400, deadline=None)
@given(
    moneyness=st.floats(0.5, 2.0),
    T=st.floats(1 / 8760, 2.0),
    sigma=st.floats(0.01, 3.0),
    call=st.booleans(),
    r=st.floats(-0.01, 0.12),
    q=st.floats(0.0, 0.05),
)
def test_round_trip_property(
    moneyness: float, T: float, sigma: float, call: bool, r: float, q: float
) -> None:
    S = 250.0
    K = S * moneyness
    price = bs_price(S, K, T, r, q, sigma, call)
    assert isinstance(price, float)
    vega = bs_greeks(S, K, T, r, q, sigma, call)["vega"]
    assert isinstance(vega, float)
    iv = implied_vol(price, S, K, T, r, q, call)
    limit = float(information_limit(np.array(price), np.array(vega * 100)))
    if limit < 1e-11:
        assert iv == pytest.approx(sigma, abs=1e-9)
    else:
        assert math.isnan(iv) or abs(iv - sigma) <= 1e-9 + 1e3 * limit


@pytest.mark.parametrize(
    ("minutes", "K"),
    # Within a few σ√T of the forward, where an in-the-money price still holds time value.
    [(1, 99.98), (1, 100.0), (1, 100.03), (5, 99.9), (5, 100.1), (30, 99.5), (30, 100.6)],
)
def test_expiries_down_to_minutes(minutes: int, K: float) -> None:
    T = minutes / (365 * 24 * 60)
    for call in (True, False):
        price = bs_price(100.0, K, T, R, 0.0, 0.25, call)
        assert implied_vol(price, 100.0, K, T, R, 0.0, call) == pytest.approx(0.25, abs=1e-9)


def test_far_wings_with_tiny_prices() -> None:
    # ~1e-173 of spot: the price is tiny but exact, so σ is fully determined.
    for K, sigma, call in ((140.0, 0.23, True), (60.0, 0.35, False)):
        price = bs_price(100.0, K, 1 / 365, R, Q, sigma, call)
        assert 0.0 < price < 1e-150
        assert implied_vol(price, 100.0, K, 1 / 365, R, Q, call) == pytest.approx(sigma, abs=1e-9)


def test_exact_prices_short_dated_slightly_in_the_money() -> None:
    """Prices from 60-digit arithmetic, where rounding ln(S/K) once cost 7e-9 of vol.

    One hour to 18 days, σ 1–10 %, d1 from 2.5 to 7 (in the money, tiny time value).
    """
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(300):
        T = float(np.exp(rng.uniform(np.log(1 / 8760), np.log(0.05))))
        sigma = float(rng.uniform(0.01, 0.1))
        call = bool(rng.random() < 0.5)
        d1 = float(rng.uniform(2.5, 7.0)) * (1 if call else -1)
        S, r, q = 24_010.0, 0.05, 0.02
        s = sigma * math.sqrt(T)
        K = S * math.exp((r - q) * T - (d1 - 0.5 * s) * s)
        price = mp_price(S, K, T, r, q, sigma, call)
        vega = float(np.asarray(bs_greeks(S, K, T, r, q, sigma, call)["vega"])) * 100
        if not EPS * price / vega < 1e-11:
            continue  # the price does not pin σ down to 1e-9
        checked += 1
        assert implied_vol(price, S, K, T, r, q, call) == pytest.approx(sigma, abs=1e-9)
    assert checked > 100


def test_subnormal_prices_give_nan() -> None:
    for price in (5e-324, 1e-320, 1e-310):
        assert math.isnan(implied_vol(price, 100.0, 150.0, 1 / 365, R, Q, True))


def test_no_arbitrage_bounds_give_nan() -> None:
    S, K, T = 100.0, 90.0, 0.5
    intrinsic_call = S * math.exp(-Q * T) - K * math.exp(-R * T)
    cases = [
        (intrinsic_call, True),  # exactly intrinsic: no time value
        (intrinsic_call - 0.01, True),  # below intrinsic
        (S * math.exp(-Q * T), True),  # at the upper bound of a call
        (S * math.exp(-Q * T) + 1.0, True),
        (K * math.exp(-R * T), False),  # at the upper bound of a put
        (150.0, False),
    ]
    prices = np.array([p for p, _ in cases])
    calls = np.array([c for _, c in cases])
    assert np.all(np.isnan(implied_vol(prices, S, K, T, R, Q, calls)))


def test_bad_rows_give_nan_and_leave_good_rows_alone() -> None:
    good = bs_price(100.0, 105.0, 0.25, R, Q, 0.3, True)
    prices = np.array([good, math.nan, 0.0, -1.0, math.inf, good, good, good, good])
    T = np.array([0.25, 0.25, 0.25, 0.25, 0.25, 0.0, -0.1, 0.25, 0.25])
    S = np.array([100.0] * 7 + [0.0, 100.0])
    K = np.array([105.0] * 8 + [math.nan])
    iv = implied_vol(prices, S, K, T, R, Q, True)
    assert isinstance(iv, np.ndarray)
    assert iv[0] == pytest.approx(0.3, abs=1e-9)
    assert np.all(np.isnan(iv[1:]))


def test_time_value_lost_in_rounding_gives_nan_not_garbage() -> None:
    # Deep in the money, low vol: the time value is far below one ulp of the price.
    price = bs_price(100.0, 20.0, 0.1, R, 0.0, 0.05, True)
    assert math.isnan(implied_vol(price, 100.0, 20.0, 0.1, R, 0.0, True))


def test_shapes_and_scalars() -> None:
    K = np.array([[90.0, 100.0], [110.0, 120.0]])
    prices = bs_price(100.0, K, 0.5, R, Q, 0.2, False)
    iv = implied_vol(prices, 100.0, K, 0.5, R, Q, False)
    assert isinstance(iv, np.ndarray)
    assert iv.shape == (2, 2)
    np.testing.assert_allclose(iv, 0.2, atol=1e-9)
    assert isinstance(implied_vol(5.0, 100.0, 100.0, 0.5, R, Q, True), float)


@settings(max_examples=500, deadline=None)
@given(
    price=st.floats(allow_nan=True, allow_infinity=True),
    S=st.floats(allow_nan=True, allow_infinity=True),
    K=st.floats(allow_nan=True, allow_infinity=True),
    T=st.one_of(st.floats(-1.0, 100.0), st.just(math.nan)),
    r=st.floats(-1.0, 1.0),
    q=st.floats(-1.0, 1.0),
    call=st.booleans(),
)
def test_any_input_gives_nan_or_a_vol_that_reprices(
    price: float, S: float, K: float, T: float, r: float, q: float, call: bool
) -> None:
    """Never an exception, never a silent wrong value: a finite answer reprices the input."""
    with np.errstate(all="ignore"):
        iv = implied_vol(price, S, K, T, r, q, call)
    assert isinstance(iv, float)
    if not math.isnan(iv):
        assert iv > 0
        repriced = bs_price(S, K, T, r, q, iv, call)
        assert repriced == pytest.approx(price, rel=1e-9, abs=1e-300)
