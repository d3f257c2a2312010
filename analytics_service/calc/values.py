"""Reading numbers out of stored documents, where a field may be missing or ``null``."""

from __future__ import annotations

import math
from typing import Any

from common.messages import wire_quantity


def number(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else ``None`` (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def quantity(value: Any) -> int | float | None:
    """``value`` as a volume or OI: an ``int`` when it is a whole number, the ``float`` when a
    fraction (a venue counting in coins: 0.3 BTC), ``None`` when it is no finite, non-negative
    number (bools are not numbers)."""
    result = number(value)
    if result is None or result < 0:
        return None
    return value if isinstance(value, int) else wire_quantity(result)


def rows_by_strike(rows: Any) -> dict[float, dict[str, Any]]:
    """Chain rows (``calls`` or ``puts``) keyed by strike; rows without a numeric strike skipped."""
    out: dict[float, dict[str, Any]] = {}
    if not isinstance(rows, list):
        return out
    for row in rows:
        if isinstance(row, dict):
            strike = number(row.get("strike"))
            if strike is not None:
                out[strike] = row
    return out
