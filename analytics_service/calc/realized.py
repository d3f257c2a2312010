"""Realised volatility from candle closes, annualised on calendar time (ACT/365)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from analytics_service.calc.times import MINUTE_MS

MINUTES_PER_YEAR = 365 * 24 * 60


def periods_per_year(minutes_per_candle: int) -> float:
    """Candles in a 365-day year: 525,600 / minutes per candle (8,760 for 1 hour)."""
    return MINUTES_PER_YEAR / minutes_per_candle


def log_returns(closes: Sequence[float | None]) -> list[float | None]:
    """``ln(c[i]/c[i-1])`` for each slot of a regular grid (``None`` at 0 and next to a gap).

    A missing or non-positive close leaves the returns on both sides of it
    ``None``: a return must span exactly one candle.
    """
    out: list[float | None] = [None]
    for previous, close in itertools.pairwise(closes):
        ok = previous is not None and close is not None and previous > 0 and close > 0
        out.append(math.log(close / previous) if ok else None)  # type: ignore[operator]
    return out


def realized_by_candle(
    closes: Mapping[int, float], first: int, end: int, width: int, window: int
) -> list[tuple[int, float | None]]:
    """(start, realised vol) of each candle of ``closes`` (start ms → close) on the grid
    ``first, first + width, …`` before ``end``, ascending."""
    slots = range(first, end, width)
    vols = rolling_realized_vol(
        log_returns([closes.get(s) for s in slots]), window, width // MINUTE_MS
    )
    return [(s, vol) for s, vol in zip(slots, vols, strict=True) if s in closes]


def rolling_realized_vol(
    returns: Sequence[float | None], window: int, minutes_per_candle: int
) -> list[float | None]:
    """At each slot: sample stdev (ddof=1) of the ``window`` returns ending there
    × √(periods per year); ``None`` until ``window`` returns are known in a row."""
    if window < 2:
        raise ValueError(f"window must be at least 2 returns, got {window}")
    values = np.array([np.nan if r is None else r for r in returns], dtype=float)
    out: list[float | None] = [None] * len(values)
    if len(values) < window:
        return out
    # a window holding a NaN (a gap) gives NaN, which stays None
    stdev = np.std(sliding_window_view(values, window), axis=1, ddof=1)
    scale = math.sqrt(periods_per_year(minutes_per_candle))
    for i, s in enumerate(stdev, start=window - 1):
        out[i] = float(s) * scale if math.isfinite(s) else None
    return out
