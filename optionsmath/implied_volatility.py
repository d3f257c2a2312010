"""Implied volatility of European options: vectorised, bracketed Halley iteration.

The solve happens on the out-of-the-money normalised price (``black.py``) and
on its logarithm, ``f(s) = ln b(x, s) − ln β``: ``ln b`` is smooth and concave
in ``s`` from minutes-to-expiry wings, where prices are 1e-200 of spot, to
near the upper bound, so Halley steps converge in a few iterations from a
closed-form guess. Each option keeps a bracket ``lo < s < hi``; a step that
leaves it falls back to Newton, then to bisection, so every option converges.
Converged options leave the working set, so stragglers cost only themselves.

A price outside the no-arbitrage bounds (not above intrinsic value, not below
the spot for a call or the discounted strike for a put), a price whose time
value is lost in its rounding, or invalid inputs give NaN, never an exception.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from optionsmath.black import SQRT_2PI, FloatArray, erfcx_difference, log_moneyness
from optionsmath.inputs import as_inputs, is_scalar_call, output

MAX_TOTAL_VOL = 40.0
"""Largest σ√T searched (σ = 4000 % over a year); beyond it prices carry no information."""
HALLEY_RTOL = 1e-5
"""Stop after a Halley step below this fraction of s: the error left is O(step³), ~1e-15·s."""
NEWTON_RTOL = 1e-9
"""Stop after a Newton step below this fraction of s: the error left is O(step²)."""
MAX_ITERATIONS = 100
TINY = float(np.finfo(np.float64).tiny)
"""Smallest normal float64 (2.2e-308): below it a price has lost its precision."""
TIME_VALUE_ULPS = 16.0
"""Time value within this many ulps of the price is rounding noise: no volatility in it."""


def implied_vol(
    price: ArrayLike, S: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray | float:  # fmt: skip
    """Black-Scholes-Merton implied volatility (per year, decimal) of option prices.

    ``T`` in years; ``r``, ``q`` continuous per year; ``is_call`` bools or
    ``"CALL"``/``"PUT"``. NaN where no volatility reproduces the price.
    """
    (p, S_, K_, T_, r_, q_), call, shape = as_inputs(price, S, K, T, r, q, is_call=is_call)
    sigma = np.full(shape, np.nan)
    with np.errstate(all="ignore"):
        ok = (
            np.isfinite(p) & np.isfinite(S_) & np.isfinite(K_) & np.isfinite(T_)
            & np.isfinite(r_) & np.isfinite(q_) & (p > 0.0) & (S_ > 0.0) & (K_ > 0.0) & (T_ > 0.0)
        )  # fmt: skip
        x = log_moneyness(S_, K_, T_, r_, q_)
        undiscounted = p * np.exp(r_ * T_)
        # F − K = K·expm1(x) and √(F·K) = K·e^{x/2}: no cancellation near the money.
        moneyness = np.expm1(x)
        intrinsic = K_ * np.maximum(np.where(call, moneyness, -moneyness), 0.0)
        time_value = undiscounted - intrinsic
        beta = time_value / (K_ * np.exp(0.5 * x))
        x_otm = -np.abs(x)
        ok &= time_value > TIME_VALUE_ULPS * np.finfo(np.float64).eps * undiscounted
        ok &= beta < np.exp(0.5 * x_otm)
        # Subnormal numbers carry too few digits to pin a volatility down.
        ok &= (p >= TINY) & (beta >= TINY)
    idx = np.flatnonzero(ok)
    if idx.size:
        flat = (np.broadcast_to(a, shape).ravel()[idx] for a in (x_otm, beta, T_))
        x_ok, beta_ok, t_ok = flat
        sigma.ravel()[idx] = solve_total_vol(x_ok, beta_ok) / np.sqrt(t_ok)
    return output(sigma, is_scalar_call(price, S, K, T, r, q, is_call))


def initial_guess(x: FloatArray, beta: FloatArray) -> FloatArray:
    """A closed-form first ``s`` for ``b(x, s) = β`` (``x ≤ 0``, ``0 < β < e^{x/2}``).

    Two asymptotes: for large ``s``, ``e^{x/2} − b ≈ 2·cosh(x/2)·Φ(−s/2)`` (exact at
    ``x = 0``); for small ``s``, ``ln b ≈ −x²/(2s²) + ln(s³/(√(2π)·x²))``, solved by
    one fixed-point step. Each overshoots where the other applies, so take the smaller.
    """
    with np.errstate(all="ignore"):
        gap = (np.exp(0.5 * x) - beta) / (2.0 * np.cosh(0.5 * x))
        s_high = -2.0 * ndtri(gap)
        ln_beta = np.log(beta)
        s_low = -x / np.sqrt(-2.0 * ln_beta)
        correction = np.log(s_low**3 / (SQRT_2PI * x * x))
        s_low = -x / np.sqrt(2.0 * np.maximum(correction - ln_beta, 1e-300))
        guess = np.fmin(s_high, s_low)
    clipped: FloatArray = np.clip(np.where(guess == guess, guess, 1.0), 1e-8, MAX_TOTAL_VOL * 0.5)
    return clipped


def solve_total_vol(x: FloatArray, beta: FloatArray) -> FloatArray:
    """Solve ``b(x, s) = β`` for total volatility ``s = σ√T`` (``x ≤ 0``, ``0 < β < e^{x/2}``).

    NaN where the answer exceeds :data:`MAX_TOTAL_VOL`.
    """
    s = initial_guess(x, beta)
    with np.errstate(divide="ignore"):
        ln_beta = np.log(beta)
    lo = np.zeros_like(s)
    hi = np.full_like(s, MAX_TOTAL_VOL)
    active = np.arange(s.size)
    xa, sa, la, loa, hia = x, s.copy(), ln_beta, lo, hi
    with np.errstate(all="ignore"):
        for _ in range(MAX_ITERATIONS):
            e, d = erfcx_difference(xa, sa)
            f = np.log(d) - e - la
            d1 = 1.0 / (SQRT_2PI * d)  # (ln b)' = b'/b; b' = e^{-e}/√(2π)
            d2 = d1 * (xa * xa / sa**3 - 0.25 * sa - d1)  # (ln b)''
            loa = np.where(f < 0.0, sa, loa)
            hia = np.where(f > 0.0, sa, hia)
            newton = f / d1
            step = newton / (1.0 - 0.5 * newton * d2 / d1)
            # A step below tolerance is taken whatever the bracket says: at the root the
            # bracket end can be the current point itself.
            tiny = np.abs(step) <= NEWTON_RTOL * sa
            outside = ~(((sa - step > loa) & (sa - step < hia)) | tiny)
            step = np.where(outside, newton, step)
            proposal = sa - step
            bisect = outside & ~((proposal > loa) & (proposal < hia))
            proposal = np.where(bisect, 0.5 * (loa + hia), proposal)
            rtol = np.where(outside, NEWTON_RTOL, HALLEY_RTOL)
            done = (~bisect & (np.abs(step) <= rtol * proposal)) | (f == 0.0)
            s[active] = proposal
            keep = ~done
            if not keep.any():
                break
            active = active[keep]
            xa, sa, la, loa, hia = xa[keep], proposal[keep], la[keep], loa[keep], hia[keep]
        else:
            s[active] = np.nan
    s[s >= MAX_TOTAL_VOL * (1.0 - 1e-9)] = np.nan
    return s
