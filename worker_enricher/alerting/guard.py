"""Alert evaluation called from the enrichment tasks, after their data is out.

The batch is stored, cached and published before its alerts are evaluated, so an alert
never holds data back. An outage (Redis, the store) is raised for the task to retry: the
enrichment repeats idempotently and the evaluation skips what it evaluated already. Any
other error is a bug in the alerts, logged, never a reason to fail the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis

from store import StoreUnavailable

log = logging.getLogger(__name__)

_OUTAGES = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, StoreUnavailable)


def evaluate_alerts(
    evaluate: Callable[[Sequence[Mapping[str, Any]]], int],
    messages: Sequence[Mapping[str, Any]],
    what: str = "alert evaluation",
) -> int:
    """``evaluate(messages)`` (one of the evaluator's ``on_*``, or the resting paper
    orders' ``on_chains``: the same rule); its count."""
    if not messages:
        return 0
    try:
        return evaluate(messages)
    except _OUTAGES:
        raise
    except Exception:
        log.exception(f"{what} failed", extra={"count": len(messages)})
        return 0
