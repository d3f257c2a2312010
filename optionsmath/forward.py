"""Black-76 on the forward, and the forward of an expiry: carried, or implied from parity.

Black-76 with forward ``F`` and discount factor ``DF = e^{−rT}`` is Black-Scholes-Merton
with ``S = F`` and ``q = r`` (then ``S·e^{(r−q)T} = F``), so the helpers here reuse
:mod:`optionsmath.bsm` and :mod:`optionsmath.implied_volatility` and keep their accuracy.
Their Greeks are taken with the forward held fixed: ``delta`` and ``gamma`` per unit of
forward, ``theta`` per calendar day, ``vega`` per vol point, ``rho = −T·V`` per rate point.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from common.messages.enums import ForwardSource
from common.products import ProductConventions
from optionsmath.bsm import POINT, bs_greeks, bs_price
from optionsmath.implied_volatility import implied_vol
from optionsmath.inputs import FloatArray, output

PARITY_STRIKES = 5
"""Strikes nearest the money whose parity forwards are combined (their median)."""
PARITY_MIN_STRIKES = 3
"""Fewer strikes with two-sided call and put quotes than this: no parity forward."""


def black76_price(
    F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> FloatArray | float:
    """Black-76 option price on forward ``F`` discounted at ``r`` (continuous, per year)."""
    return bs_price(F, K, T, r, r, sigma, is_call)


def implied_vol_black76(
    price: ArrayLike, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> FloatArray | float:
    """Black-76 implied volatility (per year, decimal); NaN where no volatility fits."""
    return implied_vol(price, F, K, T, r, r, is_call)


def black76_greeks(
    F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> dict[str, FloatArray | float]:
    """Black-76 Greeks with the forward held fixed (units in the module docstring)."""
    greeks = bs_greeks(F, K, T, r, r, sigma, is_call)
    # bs_greeks' rho moves r with q = r held, i.e. the carry; on a given forward only
    # the discounting depends on r: ∂V/∂r = −T·V.
    price = np.asarray(black76_price(F, K, T, r, sigma, is_call))
    rho = np.where(np.isfinite(np.asarray(greeks["rho"])), -np.asarray(T) * price * POINT, np.nan)
    greeks["rho"] = output(np.asarray(rho, dtype=np.float64), np.ndim(greeks["delta"]) == 0)
    return greeks


def carry_forward(S: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike) -> FloatArray | float:
    """``S·e^{(r−q)T}``: spot carried to expiry at rate ``r`` and yield ``q`` (per year)."""
    values = np.asarray(S, dtype=np.float64) * np.exp(
        (np.asarray(r, dtype=np.float64) - np.asarray(q, dtype=np.float64)) * np.asarray(T)
    )
    return output(values, all(np.ndim(v) == 0 for v in (S, T, r, q)))


def parity_forward(
    strikes: ArrayLike, calls: ArrayLike, puts: ArrayLike, discount: float, near: float
) -> float:
    """The forward implied by put-call parity, ``C − P = DF·(F − K)``; NaN when it cannot be.

    ``calls`` and ``puts`` are ``(n, 2)`` bid and ask per strike; ``discount`` is
    ``DF = e^{−rT}`` and ``near`` a first guess of the forward (the carry forward). Only
    strikes where both the call and the put have a two-sided quote (``0 < bid ≤ ask``)
    count: each gives ``F_K = K + (C_mid − P_mid)/DF``, and the answer is the median over
    the :data:`PARITY_STRIKES` of them nearest ``near`` (one bad quote cannot move it),
    or NaN with fewer than :data:`PARITY_MIN_STRIKES` such strikes.
    """
    K = np.asarray(strikes, dtype=np.float64)
    c, p = np.asarray(calls, dtype=np.float64), np.asarray(puts, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        quoted = (c[:, 0] > 0) & (c[:, 0] <= c[:, 1]) & (p[:, 0] > 0) & (p[:, 0] <= p[:, 1])
    quoted &= np.isfinite(K) & np.isfinite(c).all(axis=1) & np.isfinite(p).all(axis=1)
    idx = np.flatnonzero(quoted)
    if idx.size < PARITY_MIN_STRIKES or not (discount > 0.0 and np.isfinite(near)):
        return float("nan")
    nearest = idx[np.argsort(np.abs(K[idx] - near), kind="stable")[:PARITY_STRIKES]]
    mids = 0.5 * (c[nearest].sum(axis=1) - p[nearest].sum(axis=1))  # C_mid − P_mid
    forward = float(np.median(K[nearest] + mids / discount))
    return forward if np.isfinite(forward) and forward > 0.0 else float("nan")


def product_forward(
    conventions: ProductConventions, spot: float, T: float, strikes: ArrayLike,
    calls: ArrayLike, puts: ArrayLike,
) -> tuple[float, ForwardSource]:  # fmt: skip
    """The forward of a chain that carries none, and its source: by parity
    (:func:`parity_forward`) when the product's ``forward_method`` says so and the quotes
    allow it, else spot carried at the product's rate and yield. ``T`` in years."""
    r, q = conventions.rate, conventions.dividend_yield
    carry = spot * math.exp((r - q) * T)
    if conventions.forward_method is ForwardSource.PARITY:
        implied = parity_forward(strikes, calls, puts, math.exp(-r * T), carry)
        if math.isfinite(implied):
            return implied, ForwardSource.PARITY
    return carry, ForwardSource.CARRY
