"""Chain statistics: put-call ratios, max pain, ATM strike, OI buildup and 25-delta skew.

Pure functions over NumPy arrays of one chain (one product, one expiry), with
strikes sorted ascending. Missing values are NaN in, NaN (``None`` on the
wire) out; nothing here raises for bad data.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from common.schemas import Buildup

FloatArray = NDArray[np.float64]

BUILDUP_BY_CODE: tuple[Buildup | None, ...] = (
    None,
    Buildup.LONG_BUILDUP,
    Buildup.SHORT_BUILDUP,
    Buildup.SHORT_COVERING,
    Buildup.LONG_UNWINDING,
)
"""Index ``classify_buildup``'s codes into this tuple to get the enum (0 = no call)."""


def zero_nan(values: FloatArray) -> FloatArray:
    """``values`` with NaN replaced by 0 (cheaper than ``np.nan_to_num`` on small arrays)."""
    return np.where(values == values, values, 0.0)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN for a zero or non-finite denominator (PCR convention)."""
    if not np.isfinite(denominator) or denominator == 0.0 or not np.isfinite(numerator):
        return float("nan")
    return float(numerator / denominator)


def max_pain(strikes: ArrayLike, call_oi: ArrayLike, put_oi: ArrayLike) -> float:
    """The listed strike minimising the payout to option holders; ties go to the lower strike.

    Payout at settlement ``K*``: Σ call_oi·max(K*−K, 0) + Σ put_oi·max(K−K*, 0), with
    ``strikes`` ascending. The payout is convex and piecewise linear in ``K*``; between
    strikes ``j`` and ``j+1`` its slope is Σ_{i≤j} call_oi − Σ_{i>j} put_oi. The minimum
    is the first strike whose slope to the right is not negative (zero slope: a tie,
    and the lower strike wins). Only OI sums are compared, so the answer is exact for
    integer OI whatever the strikes. NaN OI counts as 0; NaN without open interest.
    """
    k = np.asarray(strikes, dtype=np.float64)
    c = zero_nan(np.asarray(call_oi, dtype=np.float64))
    p = zero_nan(np.asarray(put_oi, dtype=np.float64))
    if k.size == 0 or (c.sum() + p.sum()) <= 0.0:
        return float("nan")
    slope_right = np.cumsum(c) - (p.sum() - np.cumsum(p))
    return float(k[np.argmax(slope_right >= 0.0)])  # the last slope is Σ call_oi ≥ 0


def atm_index(strikes: FloatArray, spot: float) -> int:
    """Index of the listed strike nearest to ``spot``; a tie goes to the lower strike."""
    distance = np.abs(strikes - spot)
    # Decimal strikes (100.1, 100.2) are not exact in binary: a tie may differ by an ulp.
    tie = 1e-12 * max(abs(spot), 1.0)
    return int(np.flatnonzero(distance <= distance.min() + tie)[0])


def classify_buildup(price_change: FloatArray, oi_change: FloatArray) -> NDArray[np.int8]:
    """Codes into :data:`BUILDUP_BY_CODE`: price and OI up → long buildup, price down and OI up
    → short buildup, price up and OI down → short covering, both down → long unwinding;
    0 where either change is zero or unknown."""
    up_p, down_p = price_change > 0.0, price_change < 0.0
    up_oi, down_oi = oi_change > 0.0, oi_change < 0.0
    codes = np.zeros(np.shape(price_change), dtype=np.int8)
    codes[up_p & up_oi] = 1
    codes[down_p & up_oi] = 2
    codes[up_p & down_oi] = 3
    codes[down_p & down_oi] = 4
    return codes


def aligned_previous(
    strikes: FloatArray, previous_strikes: FloatArray, previous_values: FloatArray
) -> FloatArray:
    """``previous_values`` re-indexed onto ``strikes`` (NaN where a strike was not listed before).

    ``previous_values`` may have several columns (shape ``(m, c)``).
    """
    out = np.full((strikes.size, *previous_values.shape[1:]), np.nan)
    if previous_strikes.size == 0:
        return out
    pos = np.clip(np.searchsorted(previous_strikes, strikes), 0, previous_strikes.size - 1)
    hit = np.abs(previous_strikes[pos] - strikes) <= 1e-9 * np.maximum(np.abs(strikes), 1.0)
    out[hit] = previous_values[pos[hit]]
    return out


def vol_at_delta(delta: FloatArray, iv: FloatArray, target: float) -> float:
    """IV interpolated linearly in delta at ``target``; NaN unless ``target`` is bracketed."""
    ok = np.isfinite(delta) & np.isfinite(iv)
    if ok.sum() < 2:
        return float("nan")
    d, v = delta[ok], iv[ok]
    order = np.argsort(d, kind="stable")
    d, v = d[order], v[order]
    if not d[0] <= target <= d[-1]:
        return float("nan")
    return float(np.interp(target, d, v))


def skew_25d(
    call_delta: FloatArray, call_iv: FloatArray, put_delta: FloatArray, put_iv: FloatArray,
    atm_iv: float,
) -> tuple[float, float]:  # fmt: skip
    """``(risk_reversal, butterfly)`` at 25 delta, in volatility (decimal) units.

    Risk reversal σ(25Δ call) − σ(25Δ put); butterfly (σ(25Δ call) + σ(25Δ put))/2 − σ_ATM.
    """
    call_25 = vol_at_delta(call_delta, call_iv, 0.25)
    put_25 = vol_at_delta(put_delta, put_iv, -0.25)
    return call_25 - put_25, 0.5 * (call_25 + put_25) - atm_iv
