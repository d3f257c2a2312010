"""Chain statistics: put-call ratios, max pain, ATM strike, OI buildup and 25-delta skew.

Pure functions over NumPy arrays of one chain (one product, one expiry), with
strikes sorted ascending, or of many chains laid end to end (:class:`Segments`),
which give every chain bit for bit what it gets alone. Missing values are NaN
in, NaN (``None`` on the wire) out; nothing here raises for bad data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from common.messages import Buildup

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

EXACT_SUM = 2.0**52
"""Whole numbers whose magnitudes sum below this add exactly in float64, in any order."""

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
    if not math.isfinite(denominator) or denominator == 0.0 or not math.isfinite(numerator):
        return math.nan
    return float(numerator / denominator)


@dataclass(frozen=True, slots=True)
class Segments:
    """Runs laid end to end in a flat array: run ``i`` is ``[starts[i], starts[i] + sizes[i])``."""

    starts: IntArray
    sizes: IntArray
    ids: IntArray
    """The run of every element."""

    @classmethod
    def of_sizes(cls, sizes: ArrayLike) -> Segments:
        n = np.asarray(sizes, dtype=np.intp).reshape(-1)
        return cls(np.cumsum(n) - n, n, np.repeat(np.arange(n.size), n))

    @property
    def count(self) -> int:
        return int(self.sizes.size)


def segment_sums(values: FloatArray, runs: Segments, where: BoolArray | None = None) -> FloatArray:
    """``values[a:b, k][where[a:b, k]].sum()`` for every run ``[a, b)`` (not empty) and column
    ``k`` of the ``(n, c)`` array ``values``: shape ``(runs, c)``.

    ``np.add.reduceat`` need not add in ``ndarray.sum``'s pairwise order, which matters
    only when additions round: runs of whole numbers whose magnitudes sum below
    :data:`EXACT_SUM` (any OI or volume) are added exactly in any order and take one
    ``reduceat``; any other run is summed alone, as one chain would be.
    """
    kept = values if where is None else np.where(where, values, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        sums: FloatArray = np.add.reduceat(kept, runs.starts, axis=0)
        inexact = np.logical_or.reduceat(kept != np.rint(kept), runs.starts, axis=0)
        inexact |= ~(np.add.reduceat(np.abs(kept), runs.starts, axis=0) < EXACT_SUM)
    for i, k in zip(*np.nonzero(inexact), strict=True):
        run = slice(runs.starts[i], runs.starts[i] + runs.sizes[i])
        part = values[run, k] if where is None else values[run, k][where[run, k]]
        sums[i, k] = np.ascontiguousarray(part).sum()
    return sums


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


def max_pain_segments(
    strikes: FloatArray, call_oi: FloatArray, put_oi: FloatArray, runs: Segments
) -> FloatArray:
    """:func:`max_pain` of every run (runs not empty).

    Runs of whole-number OI summing below :data:`EXACT_SUM`, where every sum of
    :func:`max_pain` is exact, are solved together in int64 (exact too); any other
    run goes through :func:`max_pain` alone.
    """
    c, p = zero_nan(call_oi), zero_nan(put_oi)
    with np.errstate(invalid="ignore", over="ignore"):
        odd = (c != np.rint(c)) | (p != np.rint(p))
        odd_runs = np.logical_or.reduceat(odd, runs.starts)
        odd_runs |= ~(np.add.reduceat(np.abs(c) + np.abs(p), runs.starts) < EXACT_SUM)
    whole = ~odd_runs[runs.ids]
    ci = np.where(whole, c, 0.0).astype(np.int64)
    both = ci + np.where(whole, p, 0.0).astype(np.int64)
    cum = np.cumsum(both)
    ends = runs.starts + runs.sizes - 1
    before = (cum - both)[runs.starts]
    total_c = np.add.reduceat(ci, runs.starts)
    total_p = cum[ends] - before - total_c
    # The slope right of strike j, Σ_{i≤j} call_oi − Σ_{i>j} put_oi, is not negative where
    # Σ_{i≤j} (call_oi + put_oi) ≥ Σ put_oi: exact in integers.
    right = cum - before[runs.ids] >= total_p[runs.ids]
    first = np.minimum.reduceat(np.where(right, np.arange(strikes.size), strikes.size), runs.starts)
    first = np.where(first < strikes.size, first, runs.starts)  # as argmax of no True
    out = np.where(total_c + total_p > 0, strikes[first], np.nan)
    for i in np.flatnonzero(odd_runs).tolist():
        run = slice(runs.starts[i], runs.starts[i] + runs.sizes[i])
        out[i] = max_pain(strikes[run], c[run], p[run])
    return out


def atm_index(strikes: FloatArray, forward: float) -> int:
    """Index of the listed strike nearest to ``forward`` (the chain's forward: options are at
    the money against it, not against spot); a tie goes to the lower strike."""
    return int(atm_indices(strikes, np.array([forward]), Segments.of_sizes([strikes.size]))[0])


def atm_indices(strikes: FloatArray, forwards: FloatArray, runs: Segments) -> IntArray:
    """:func:`atm_index` within every run (runs not empty), one forward per run."""
    distance = np.abs(strikes - forwards[runs.ids])
    # Decimal strikes (100.1, 100.2) are not exact in binary: a tie may differ by an ulp.
    tie = 1e-12 * np.maximum(np.abs(forwards), 1.0)
    near = distance <= (np.minimum.reduceat(distance, runs.starts) + tie)[runs.ids]
    index = np.where(near, np.arange(strikes.size), strikes.size)
    nearest: IntArray = np.minimum.reduceat(index, runs.starts) - runs.starts
    return nearest


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
    one = Segments.of_sizes([previous_strikes.size])
    pos = matching_indices(strikes, np.zeros(strikes.size, np.intp), previous_strikes, one)
    hit = pos >= 0
    out[hit] = previous_values[pos[hit]]
    return out


def _keys(runs: IntArray, values: FloatArray) -> NDArray[np.complex128]:
    """(run, value) pairs that sort lexicographically; complex, as NumPy orders complex numbers."""
    keys = np.empty(values.size, dtype=np.complex128)
    keys.real, keys.imag = runs, values  # no arithmetic: 1j·inf would give a NaN real part
    return keys


def matching_indices(
    strikes: FloatArray, runs: IntArray, previous_strikes: FloatArray, previous: Segments
) -> IntArray:
    """For each of ``strikes`` (in run ``runs[i]``), the index of the same strike (within 1e-9
    relative) in run ``runs[i]`` of ``previous_strikes``, else -1; ascending within runs."""
    out = np.full(strikes.size, -1, dtype=np.intp)
    if previous_strikes.size == 0:
        return out
    pos = np.searchsorted(_keys(previous.ids, previous_strikes), _keys(runs, strikes))
    first = previous.starts[runs]
    last = np.maximum(first + previous.sizes[runs] - 1, first)
    pos = np.minimum(np.clip(pos, first, last), previous_strikes.size - 1)
    hit = (previous.sizes[runs] > 0) & (
        np.abs(previous_strikes[pos] - strikes) <= 1e-9 * np.maximum(np.abs(strikes), 1.0)
    )
    out[hit] = pos[hit]
    return out


def vol_at_delta(delta: FloatArray, iv: FloatArray, target: float) -> float:
    """IV interpolated linearly in delta at ``target``; NaN unless ``target`` is bracketed."""
    one = Segments.of_sizes([delta.size])
    return float(vol_at_delta_segments(delta, iv, one, np.array([target]))[0])


def vol_at_delta_segments(
    delta: FloatArray, iv: FloatArray, runs: Segments, targets: FloatArray
) -> FloatArray:
    """:func:`vol_at_delta` of every run at its own target: the finite points sorted by delta
    (stable), then ``np.interp(target, d, v)`` where ``d[0] ≤ target ≤ d[-1]``, step for step
    (``np.interp``'s ``j`` is the last point with ``d[j] ≤ target``)."""
    ok = np.flatnonzero(np.isfinite(delta) & np.isfinite(iv))
    ok = ok[np.lexsort((delta[ok], runs.ids[ok]))]  # stable: ties keep their order, as argsort's
    d, v, ids = delta[ok], iv[ok], runs.ids[ok]
    out = np.full(runs.count, np.nan)
    if d.size == 0:
        return out
    count = np.bincount(ids, minlength=runs.count)
    first = np.minimum(np.cumsum(count) - count, d.size - 1)
    last = np.maximum(first + count - 1, 0)
    j = np.minimum(first + np.bincount(ids[d <= targets[ids]], minlength=runs.count) - 1, last)
    inside = (count >= 2) & (d[first] <= targets) & (targets <= d[last])
    on_point = inside & ((j == last) | (d[j] == targets))
    out[on_point] = v[j[on_point]]
    between = np.flatnonzero(inside & ~on_point)
    if between.size:
        lo, hi, x = j[between], j[between] + 1, targets[between]
        with np.errstate(all="ignore"):
            slope = (v[hi] - v[lo]) / (d[hi] - d[lo])
            value = slope * (x - d[lo]) + v[lo]
            # np.interp's fallbacks: from the other end, then the flat value.
            value = np.where(np.isnan(value), slope * (x - d[hi]) + v[hi], value)
        out[between] = np.where(np.isnan(value) & (v[lo] == v[hi]), v[lo], value)
    return out


def skew_25d(
    call_delta: FloatArray, call_iv: FloatArray, put_delta: FloatArray, put_iv: FloatArray,
    atm_iv: float,
) -> tuple[float, float]:  # fmt: skip
    """``(risk_reversal, butterfly)`` at 25 delta, in volatility (decimal) units.

    Risk reversal σ(25Δ call) − σ(25Δ put); butterfly (σ(25Δ call) + σ(25Δ put))/2 − σ_ATM.
    """
    sides = Segments.of_sizes([call_delta.size, put_delta.size])
    rr, bf = skew_25d_segments(
        np.concatenate([call_delta, put_delta]), np.concatenate([call_iv, put_iv]), sides,
        np.array([atm_iv]),
    )  # fmt: skip
    return float(rr[0]), float(bf[0])


def skew_25d_segments(
    delta: FloatArray, iv: FloatArray, sides: Segments, atm_iv: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """:func:`skew_25d` of every chain: runs ``2i`` and ``2i + 1`` of ``sides`` are chain
    ``i``'s calls and puts, ``atm_iv[i]`` its ATM volatility."""
    targets = np.resize(np.array([0.25, -0.25]), sides.count)
    vols = vol_at_delta_segments(delta, iv, sides, targets)
    call_25, put_25 = vols[0::2], vols[1::2]
    return call_25 - put_25, 0.5 * (call_25 + put_25) - atm_iv
