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

import numpy as np
from numpy.typing import NDArray
from scipy.special import erfcx

FloatArray = NDArray[np.float64]

SQRT_2PI = float(np.sqrt(2.0 * np.pi))
INV_SQRT2 = float(1.0 / np.sqrt(2.0))


def erfcx_difference(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``(e, d)`` with ``b(x, s) = e·d``; ``e = (h²+t²)/2`` is the exponent's negative.

    For ``x ≤ 0`` and ``s > 0``. ``d = ½·[erfcx(−(h+t)/√2) − erfcx(−(h−t)/√2)]`` is
    positive and of moderate size, so ``b = exp(−e)·d`` and ``ln b = ln d − e``.
    """
    h = x / s
    t = 0.5 * s
    d = 0.5 * (erfcx(-(h + t) * INV_SQRT2) - erfcx(-(h - t) * INV_SQRT2))
    return 0.5 * (h * h + t * t), d


def otm_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """Normalised out-of-the-money call ``b(x, s)`` for ``x ≤ 0``; 0 where ``s == 0``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e, d = erfcx_difference(x, s)
        b = np.exp(-e) * d
    return np.where(s > 0.0, b, 0.0)
