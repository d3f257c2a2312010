"""Reading numbers out of stored documents, where a field may be missing or ``null``."""

from __future__ import annotations

import math
from typing import Any


def number(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else ``None`` (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def count(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (OI, volume), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


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
