"""A store behind a timeout and a circuit breaker, so the read API fails fast while it is down.

Every call runs on a small thread pool and is abandoned after the timeout (the
thread finishes it in the background; a call still queued is cancelled). Only
:class:`StoreUnavailable` — raised by the store or by a timeout — counts as a
failure: a ``ValueError`` or :class:`StoreError` means the store answered
(pybreaker counts it as a success, ending a run of failures). After
``fail_max`` consecutive failures the circuit opens and calls raise
:class:`StoreUnavailable` at once; after ``reset_s`` calls are let through
again (half-open): a success closes the circuit, a failure reopens it.
The breaker is per process (each gunicorn worker learns on its own).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from enum import StrEnum
from typing import Any, TypeVar

import pybreaker

from common.settings import HttpSettings
from storage_service.metrics import CIRCUIT_STATE, STORE_CALLS, CircuitLevel, StoreOutcome
from storage_service.store.port import Store, StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_WORKERS = 8
"""Store calls in flight per process (gunicorn's default threads per worker)."""


class CircuitState(StrEnum):
    CLOSED = pybreaker.STATE_CLOSED
    HALF_OPEN = pybreaker.STATE_HALF_OPEN
    OPEN = pybreaker.STATE_OPEN


_LEVELS = {
    CircuitState.CLOSED: CircuitLevel.CLOSED,
    CircuitState.HALF_OPEN: CircuitLevel.HALF_OPEN,
    CircuitState.OPEN: CircuitLevel.OPEN,
}


def _answered(exc: BaseException) -> bool:
    """True for errors that prove the store answered (they never open the circuit)."""
    return not isinstance(exc, StoreUnavailable)


class _StateWatch(pybreaker.CircuitBreakerListener):
    """Keeps the gauge and the time the circuit last opened."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.opened_at = 0.0

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        state = CircuitState(new_state.name)
        if state is CircuitState.OPEN:
            self.opened_at = time.monotonic()
        CIRCUIT_STATE.set(_LEVELS[state])
        old = old_state.name if old_state is not None else None
        log.warning("store circuit %s", state.value, extra={"circuit": self.name, "previous": old})


class GuardedStore:
    """Calls to the store opened by ``opener`` (lazily, so a service starts while it is down).

    ``timeout_s`` bounds each call, queueing in the pool included.
    """

    def __init__(
        self,
        opener: Callable[[], Store],
        *,
        timeout_s: float,
        fail_max: int,
        reset_s: float,
        max_workers: int = DEFAULT_WORKERS,
        name: str = "store",
    ) -> None:
        self._opener = opener
        self._store: Store | None = None
        self._open_lock = threading.Lock()
        self._timeout_s = timeout_s
        self._reset_s = reset_s
        self._watch = _StateWatch(name)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_s,
            exclude=[_answered],
            listeners=[self._watch],
            throw_new_error_on_trip=False,  # the caller sees the failure that tripped it
            name=name,
        )
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix=f"{name}-call")
        CIRCUIT_STATE.set(CircuitLevel.CLOSED)

    @classmethod
    def from_settings(cls, opener: Callable[[], Store], http: HttpSettings) -> GuardedStore:
        return cls(
            opener,
            timeout_s=http.store_timeout_ms / 1000,
            fail_max=http.breaker_fail_max,
            reset_s=http.breaker_reset_s,
        )

    # -- state ------------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        return CircuitState(self._breaker.current_state)

    def retry_after_s(self) -> int:
        """Whole seconds until the open circuit lets a trial call through; 1 when not open."""
        if self.state is not CircuitState.OPEN:
            return 1
        remaining = self._watch.opened_at + self._reset_s - time.monotonic()
        return max(1, math.ceil(remaining))

    # -- calls ------------------------------------------------------------------------

    def run(self, op: str, call: Callable[[Store], T]) -> T:
        """``call(store)`` under the timeout and the breaker; ``op`` labels the metrics."""
        try:
            # calling() runs the body outside the breaker's lock: calls proceed in
            # parallel, where CircuitBreaker.call would serialise them.
            with self._breaker.calling():
                return self._timed(op, call)
        except pybreaker.CircuitBreakerError as exc:
            STORE_CALLS.labels(op, StoreOutcome.REJECTED.value).inc()
            raise StoreUnavailable(
                f"store circuit open after repeated failures; retry in {self.retry_after_s()} s"
            ) from exc

    def _timed(self, op: str, call: Callable[[Store], T]) -> T:
        future = self._pool.submit(self._invoke, call)
        done, _ = wait((future,), timeout=self._timeout_s)
        if not done:
            future.cancel()  # still queued behind stuck calls: never run it
            STORE_CALLS.labels(op, StoreOutcome.TIMEOUT.value).inc()
            raise StoreUnavailable(f"store {op} took longer than {self._timeout_s * 1000:g} ms")
        try:
            result = future.result()
        except BaseException:
            STORE_CALLS.labels(op, StoreOutcome.ERROR.value).inc()
            raise
        STORE_CALLS.labels(op, StoreOutcome.OK.value).inc()
        return result

    def _invoke(self, call: Callable[[Store], T]) -> T:
        return call(self._opened())

    def _opened(self) -> Store:
        with self._open_lock:
            if self._store is None:
                self._store = self._opener()
            return self._store

    # -- the operations of the read API ---------------------------------------------------

    def products(self) -> dict[str, list[str]]:
        return self.run("products", lambda s: s.products())

    def latest_chain(self, product: str, expiry: str) -> dict[str, Any] | None:
        return self.run("latest_chain", lambda s: s.latest_chain(product, expiry))

    def chain_history(
        self,
        product: str,
        expiry: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 500,
        after: tuple[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        return self.run(
            "chain_history",
            lambda s: s.chain_history(
                product, expiry, start, end, fields=fields, limit=limit, after=after
            ),
        )

    def ping(self) -> None:
        """Readiness: the store answers (an open circuit answers for it, without a call)."""
        self.run("ping", lambda s: s.ping())

    def close(self) -> None:
        """Stop the pool (calls in flight finish on their own) and close an opened store."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._open_lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
