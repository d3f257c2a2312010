"""The time range of a request: defaults (the last hour) and limits (31 days)."""

from __future__ import annotations

from analytics_service.calc.times import DAY_MS, HOUR_MS

DEFAULT_SPAN_MS = HOUR_MS
MAX_SPAN_MS = 31 * DAY_MS


class RangeError(ValueError):
    """A range the API refuses; ``field`` names the query parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def resolve_range(
    start: int | None,
    end: int | None,
    now: int,
    *,
    names: tuple[str, str] = ("start", "end"),
    max_span: int | None = MAX_SPAN_MS,
) -> tuple[int, int]:
    """``[start, end)`` in epoch ms with the defaults filled in.

    Without ``end``: now. Without ``start``: an hour before ``end``. Raises
    :class:`RangeError` unless start < end and (with ``max_span``) the span fits. As
    storage_service does, the error names the end when it is not after the start, even
    when the end is the default (a start in the future), and the start when the span is
    too long.
    """
    end_ms = now if end is None else end
    start_ms = end_ms - DEFAULT_SPAN_MS if start is None else start
    if start_ms >= end_ms:
        if end is None:  # only start was given: it lies in the future
            raise RangeError(names[1], f"{names[1]} (default: now) must be after {names[0]}")
        raise RangeError(names[1], f"{names[1]} must be after {names[0]}")
    if max_span is not None and end_ms - start_ms > max_span:
        days = max_span // DAY_MS
        raise RangeError(names[0], f"{names[0]} must be at most {days} days before {names[1]}")
    return start_ms, end_ms
