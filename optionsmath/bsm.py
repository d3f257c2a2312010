"""Black-Scholes-Merton prices and Greeks of European options, vectorised.

Conventions (docs/MATH.md): continuous rate ``r`` and yield ``q`` per year,
``T`` in years (ACT/365), ``sigma`` per year as a decimal (0.2 = 20 %).
Greeks as traders read them: ``delta`` and ``gamma`` per unit of underlying,
``theta`` per calendar day, ``vega`` per volatility point (0.01) and ``rho``
per rate point (0.01). Inputs that cannot give a value (``T ≤ 0``,
non-positive spot or strike, negative or NaN volatility) give NaN, never an
exception.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from optionsmath.black import SQRT_2PI, log_moneyness, otm_call
from optionsmath.inputs import (
    BoolArray,
    FloatArray,
    as_inputs,
    is_scalar_call,
    output,
)

DAYS_PER_YEAR = 365.0
POINT = 0.01


def _valid(S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray) -> BoolArray:
    return (
        np.isfinite(S) & np.isfinite(K) & np.isfinite(T) & np.isfinite(r) & np.isfinite(q)
        & (S > 0.0) & (K > 0.0) & (T > 0.0)
    )  # fmt: skip


def bs_price(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike, sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray | float:  # fmt: skip
    """Option price; ``sigma == 0`` gives the discounted forward intrinsic value.

    Out-of-the-money values are computed without cancellation, so prices far
    below the strike's scale keep full relative precision.
    """
    (S_, K_, T_, r_, q_, v_), call, _ = as_inputs(S, K, T, r, q, sigma, is_call=is_call)
    with np.errstate(all="ignore"):
        x = log_moneyness(S_, K_, T_, r_, q_)
        b = otm_call(-np.abs(x), v_ * np.sqrt(T_))
        # F − K = K·expm1(x) and √(F·K) = K·e^{x/2}: no cancellation near the money.
        moneyness = np.expm1(x)
        intrinsic = np.maximum(np.where(call, moneyness, -moneyness), 0.0)
        # √(F·K)·b before adding: e^{x/2}·b alone can be subnormal far out of the money
        # (K = 1e110·S: 1e-315), with too few digits left.
        price = np.exp(-r_ * T_) * (K_ * np.exp(0.5 * x) * b + K_ * intrinsic)
    ok = _valid(S_, K_, T_, r_, q_) & np.isfinite(v_) & (v_ >= 0.0)
    return output(np.where(ok, price, np.nan), is_scalar_call(S, K, T, r, q, sigma, is_call))


def bs_greeks(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike, sigma: ArrayLike,
    is_call: ArrayLike,
) -> dict[str, FloatArray | float]:  # fmt: skip
    """Greeks: ``delta``, ``gamma``, ``theta`` (per day), ``vega`` (per vol point), ``rho``
    (per rate point).

    NaN where ``sigma ≤ 0`` or the inputs are invalid.
    """
    (S_, K_, T_, r_, q_, v_), call, _ = as_inputs(S, K, T, r, q, sigma, is_call=is_call)
    sign = np.where(call, 1.0, -1.0)
    with np.errstate(all="ignore"):
        sqrt_t = np.sqrt(T_)
        s = v_ * sqrt_t
        d1 = log_moneyness(S_, K_, T_, r_, q_) / s + 0.5 * s
        d2 = d1 - s
        growth_q = np.exp(-q_ * T_)
        discount = np.exp(-r_ * T_)
        spot_pdf = S_ * growth_q * np.exp(-0.5 * d1 * d1) / SQRT_2PI  # S·e^{-qT}·φ(d1)
        n1 = ndtr(sign * d1)
        n2 = ndtr(sign * d2)
        greeks: dict[str, FloatArray] = {
            "delta": sign * growth_q * n1,
            "gamma": spot_pdf / (S_ * S_ * s),
            "theta": (
                -spot_pdf * v_ / (2.0 * sqrt_t)
                - sign * r_ * K_ * discount * n2
                + sign * q_ * S_ * growth_q * n1
            ) / DAYS_PER_YEAR,
            "vega": spot_pdf * sqrt_t * POINT,
            "rho": sign * K_ * T_ * discount * n2 * POINT,
        }  # fmt: skip
    ok = _valid(S_, K_, T_, r_, q_) & np.isfinite(v_) & (v_ > 0.0)
    scalar = is_scalar_call(S, K, T, r, q, sigma, is_call)
    result: dict[str, FloatArray | float] = {}
    for name, values in greeks.items():
        result[name] = output(np.where(ok, values, np.nan), scalar)
    return result
