"""The normalised Black function and its logarithm, accurate far out of the money.

Work in the coordinates of P. Jäckel ("Let's be rational", 2015): forward
``F = S·e^{(r-q)T}``, log-moneyness ``x = ln(F/K)``, total volatility
``s = σ√T`` and normalised price ``b = price / (e^{-rT}·√(F·K))``. An in-the-money
option is its out-of-the-money twin plus intrinsic value (put-call parity),
and a put with ``x`` is a call with ``-x``, so everything reduces to an
out-of-the-money call with ``x ≤ 0``:

    b(x, s) = e^{x/2}·Φ(h + t) − e^{−x/2}·Φ(h − t),   h = x/s, t = s/2.

Both terms share the factor e^{−(h²+t²)/2}; written with the scaled
complementary error function erfcx the difference loses no precision when
both are tiny:

    b = ½·e^{−(h²+t²)/2}·[erfcx(−(h+t)/√2) − erfcx(−(h−t)/√2)]

and ``ln b = −(h²+t²)/2 + ln(½·[…])`` stays finite even when ``b`` underflows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfcx, ndtr

FloatArray = NDArray[np.float64]

SQRT_2PI = float(np.sqrt(2.0 * np.pi))
INV_SQRT2 = float(1.0 / np.sqrt(2.0))
TWO_OVER_SQRT_PI = float(2.0 / np.sqrt(np.pi))

SMALL_T = 1e-3
"""Below this ``t = s/2`` the erfcx difference is summed as a series (no cancellation)."""
LARGE_T = 20.0
"""Above this ``t = s/2`` erfcx(−(h+t)/√2) overflows soon (t ≈ 37); Φ has no cancellation there."""


def _patch(
    values: FloatArray, where: NDArray[np.bool_], formula: Callable[..., FloatArray],
    *inputs: FloatArray,
) -> FloatArray:  # fmt: skip
    """``values`` with ``formula(*inputs)`` evaluated, and written, only where ``where`` holds."""
    idx = np.flatnonzero(where)
    if idx.size == 0:
        return values
    out = np.array(values, dtype=np.float64)  # writable, even for 0-d inputs
    out.flat[idx] = formula(*(np.broadcast_to(a, out.shape).flat[idx] for a in inputs))
    return out


def erfcx_difference(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``(e, d)`` with ``b(x, s) = e^{−e}·d``, where ``e = (h²+t²)/2``.

    For ``x ≤ 0`` and ``s > 0``. ``d = ½·[erfcx(−(h+t)/√2) − erfcx(−(h−t)/√2)]`` is
    positive and of moderate size, so ``b = exp(−e)·d`` and ``ln b = ln d − e``.
    For small ``t`` the two erfcx values nearly cancel (relative error ~ε/t), so
    there ``d`` comes from :func:`_small_t_difference` instead.
    """
    h = x / s
    t = 0.5 * s
    d = 0.5 * (erfcx(-(h + t) * INV_SQRT2) - erfcx(-(h - t) * INV_SQRT2))
    d = _patch(d, t < SMALL_T, _small_t_difference, h, t)
    return 0.5 * (h * h + t * t), d


def _small_t_difference(h: FloatArray, t: FloatArray) -> FloatArray:
    """``d`` by Taylor expansion about the midpoint ``y = −h/√2`` of the two erfcx arguments.

    With ``u = t/√2`` and ``f_k`` the k-th derivative of erfcx at ``y``:
    ``d = −(f₁·u + f₃·u³/3! + f₅·u⁵/5!)``; the next term is below 1e-18 relative
    for ``t < SMALL_T``. Derivatives follow ``f₁ = 2y·f₀ − 2/√π`` and
    ``f_{n+1} = 2y·f_n + 2n·f_{n−1}``.
    """
    y = -h * INV_SQRT2
    u = t * INV_SQRT2
    f0: FloatArray = erfcx(y)
    f1 = 2.0 * y * f0 - TWO_OVER_SQRT_PI
    f2 = 2.0 * y * f1 + 2.0 * f0
    f3 = 2.0 * y * f2 + 4.0 * f1
    f4 = 2.0 * y * f3 + 6.0 * f2
    f5 = 2.0 * y * f4 + 8.0 * f3
    u2 = u * u
    return -u * (f1 + u2 * (f3 / 6.0 + u2 * f5 / 120.0))


def log_moneyness(
    S: FloatArray, K: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray
) -> FloatArray:
    """``x = ln(F/K) = ln(S/K) + (r−q)·T`` without rounding ``S/K`` near the money.

    There ``S − K`` is exact and ``log1p((S−K)/K)`` keeps x to full relative
    precision, which the intrinsic value ``K·expm1(x)`` of a short-dated option
    just in the money needs (``ln(S/K)`` would put an error of ~K·ε into it).
    """
    u = (S - K) / K
    return np.where(np.abs(u) < 0.5, np.log1p(u), np.log(S / K)) + (r - q) * T


def _plain_otm_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """``e^{x/2}·Φ(h+t) − e^{−x/2}·Φ(h−t)``: accurate where ``t`` is large."""
    h, t = x / s, 0.5 * s
    result: FloatArray = np.exp(0.5 * x) * ndtr(h + t) - np.exp(-0.5 * x) * ndtr(h - t)
    return result


def otm_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """Normalised out-of-the-money call ``b(x, s)`` for ``x ≤ 0``; 0 where ``s == 0``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e, d = erfcx_difference(x, s)
        b = np.where(s > 0.0, np.exp(-e) * d, 0.0)
        return _patch(b, 0.5 * s > LARGE_T, _plain_otm_call, x, s)
