"""IV rank and IV percentile of the current ATM volatility against sampled history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def iv_rank(samples: Sequence[float], current: float | None) -> dict[str, Any]:
    """``{observations, current_iv, min_iv, max_iv, iv_rank, iv_percentile}``.

    rank = (current − min)/(max − min)·100 with min and max over the samples and
    the current value (so 0 ≤ rank ≤ 100); ``None`` without samples or current
    value, or when max == min. percentile = share of samples strictly below the
    current value ·100. Without both, min and max are the samples' (``None`` if none).
    """
    if not samples or current is None:
        low = min(samples, default=None)
        high = max(samples, default=None)
        return {"observations": len(samples), "current_iv": current, "min_iv": low,
                "max_iv": high, "iv_rank": None, "iv_percentile": None}  # fmt: skip
    low, high = min(*samples, current), max(*samples, current)
    rank = None if high == low else (current - low) / (high - low) * 100.0
    below = sum(1 for s in samples if s < current)
    return {
        "observations": len(samples),
        "current_iv": current,
        "min_iv": low,
        "max_iv": high,
        "iv_rank": rank,
        "iv_percentile": below / len(samples) * 100.0,
    }
