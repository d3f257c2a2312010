"""IV rank and IV percentile of the current ATM volatility against sampled history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def iv_rank(samples: Sequence[float], current: float | None) -> dict[str, Any]:
    """``{observations, current_iv, min_iv, max_iv, iv_rank, iv_percentile}``.

    min and max are over the samples and the current value, whichever exist (``None``
    when neither does). rank = (current − min)/(max − min)·100 (so 0 ≤ rank ≤ 100);
    ``None`` without samples or current value, or when max == min. percentile = share
    of samples strictly below the current value ·100; ``None`` without both.
    """
    values = [*samples] if current is None else [*samples, current]
    answer: dict[str, Any] = {
        "observations": len(samples),
        "current_iv": current,
        "min_iv": min(values, default=None),
        "max_iv": max(values, default=None),
        "iv_rank": None,
        "iv_percentile": None,
    }
    if not samples or current is None:
        return answer
    low, high = answer["min_iv"], answer["max_iv"]
    if high != low:
        answer["iv_rank"] = (current - low) / (high - low) * 100.0
    answer["iv_percentile"] = sum(1 for s in samples if s < current) / len(samples) * 100.0
    return answer
