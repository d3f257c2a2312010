"""Prometheus series of the storage service's read path: store calls, cache answers, circuit
(the store's own call latency is in :mod:`store.metrics`).

They are shown by the base app's ``/metrics`` (and the worker's); under gunicorn with
``PROMETHEUS_MULTIPROC_DIR`` set, the counters add up over the workers and the
circuit gauge shows the worst live worker.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from prometheus_client import Counter, Gauge

STORE_CALLS = Counter(
    "optionsflow_store_calls_total",
    "Store calls of the read API by operation and outcome (ok, error, timeout, rejected).",
    ["op", "outcome"],
)
CACHE_REQUESTS = Counter(
    "optionsflow_cache_requests_total",
    "Cache lookups of the read API by kind and result (hit, miss, stale, unavailable, bypass).",
    ["kind", "result"],
)
CIRCUIT_STATE = Gauge(
    "optionsflow_circuit_state",
    "Store circuit breakers by circuit (store: products, latest, ping; history): "
    "0 closed, 1 half-open, 2 open.",
    ["circuit"],
    multiprocess_mode="livemax",
)


class StoreOutcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    """The store raised (unavailable, or refused the arguments)."""
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    """Not attempted: the circuit is open."""


class CacheResult(StrEnum):
    HIT = "hit"
    MISS = "miss"
    """Rebuilt from the store (or, for the underlying tick, not found)."""
    STALE = "stale"
    UNAVAILABLE = "unavailable"
    BYPASS = "bypass"
    """Read from the store and served without being cached (too large, or not cacheable)."""


class CircuitLevel(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


def count_cache(kind: str, result: CacheResult) -> None:
    CACHE_REQUESTS.labels(kind, result.value).inc()
