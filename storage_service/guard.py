"""A store behind a timeout and a circuit breaker, so the read API fails fast while it is down.

Every call runs on a small thread pool and is abandoned after the timeout (the
thread finishes it in the background; a call still queued is cancelled). A
:class:`StoreError` — unavailable, timed out, or refused by the server (bad
credentials, a failed query) — counts as a failure; a ``ValueError`` (bad
arguments, refused before the store is asked) and :class:`DuplicateUser` say
nothing about the store's health and count neither way. After ``fail_max``
consecutive failures the circuit opens and calls raise
:class:`StoreUnavailable` at once; after ``reset_s`` one trial call is let
through (half-open) while the others are still refused: its success closes
the circuit, its failure reopens it. The breaker is per process (each
gunicorn worker learns on its own).

The read API uses two guards on one store (:class:`StoreGuards`): history
pages, the heavy calls, have their own pool, breaker and a longer timeout, so
slow history reads cannot open the circuit of the product listing and the
newest chains.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from common.circuit import CircuitState
from common.settings import HttpSettings
from storage_service.breaker import Breaker, CircuitOpen, Outcome
from storage_service.metrics import STORE_CALLS, StoreOutcome
from store.lazy import LazyStore
from store.port import DuplicateUser, Store, StoreError, StoreUnavailable

__all__ = [
    "DEFAULT_WORKERS",
    "HISTORY_TIMEOUT_FACTOR",
    "CircuitState",
    "GuardedStore",
    "LazyStore",
    "StoreGuards",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_WORKERS = 8
"""Store calls in flight per process and guard (gunicorn's default threads per worker)."""
HISTORY_TIMEOUT_FACTOR = 2
"""History calls may take this many times ``STORE_TIMEOUT_MS``."""


def _outcome(exc: BaseException) -> Outcome:
    """A failure for errors of the store itself; neutral for refused arguments and the like."""
    if isinstance(exc, StoreError) and not isinstance(exc, DuplicateUser):
        return Outcome.FAILURE
    return Outcome.NEUTRAL


class GuardedStore:
    """Calls to the store opened by ``opener`` (lazily, so a service starts while it is down).

    ``opener`` may be a :class:`LazyStore` shared with other guards (then
    :meth:`close` leaves it open). ``timeout_s`` bounds each call, queueing in
    the pool included. ``clock`` (monotonic seconds) times the breaker's reset.
    """

    def __init__(
        self,
        opener: Callable[[], Store] | LazyStore,
        *,
        timeout_s: float,
        fail_max: int,
        reset_s: float,
        max_workers: int = DEFAULT_WORKERS,
        name: str = "store",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owns_store = not isinstance(opener, LazyStore)
        # retry_s=0: the circuit paces the attempts to open the store
        self._store = opener if isinstance(opener, LazyStore) else LazyStore(opener, retry_s=0.0)
        self._timeout_s = timeout_s
        self.name = name
        self._breaker = Breaker(name, fail_max=fail_max, reset_s=reset_s, clock=clock)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix=f"{name}-call")

    @property
    def timeout_s(self) -> float:
        return self._timeout_s

    # -- state ------------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        return self._breaker.state

    def retry_after_s(self) -> int:
        """Whole seconds until the open circuit lets a trial call through; 1 when not open."""
        return self._breaker.retry_after_s()

    # -- calls ------------------------------------------------------------------------

    def run(self, op: str, call: Callable[[Store], T]) -> T:
        """``call(store)`` under the timeout and the breaker; ``op`` labels the metrics."""
        try:
            trial, epoch = self._breaker.admit_with_epoch()
        except CircuitOpen as exc:
            STORE_CALLS.labels(op, StoreOutcome.REJECTED.value).inc()
            raise StoreUnavailable(
                f"store circuit open after repeated failures ({self.name} calls); "
                f"retry in {self.retry_after_s()} s"
            ) from exc
        outcome = Outcome.NEUTRAL
        try:
            result = self._timed(op, call)
            outcome = Outcome.SUCCESS
            return result
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            self._breaker.record(outcome, trial=trial, epoch=epoch)

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
        return call(self._store.get())

    # -- the operations of the read API ---------------------------------------------------

    def products(self) -> dict[str, list[str]]:
        return self.run("products", lambda s: s.products())

    def latest_chain(self, product: str, expiry: str) -> dict[str, Any] | None:
        return self.run("latest_chain", lambda s: s.latest_chain(product, expiry))

    def chain_at(self, product: str, expiry: str, at: dt.datetime) -> dict[str, Any] | None:
        return self.run("chain_at", lambda s: s.chain_at(product, expiry, at))

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
        """Stop the pool (calls in flight finish on their own) and close the store if it
        is this guard's own."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owns_store:
            self._store.close()


@dataclass(frozen=True, slots=True)
class StoreGuards:
    """The read API's two guards on one lazily opened store.

    ``light``: products, the newest chain and the chain at an instant (one index seek each),
    readiness (``STORE_TIMEOUT_MS``).
    ``history``: history pages, with their own pool and breaker and
    ``HISTORY_TIMEOUT_FACTOR`` × ``STORE_TIMEOUT_MS``.
    """

    light: GuardedStore
    history: GuardedStore
    store: LazyStore

    @classmethod
    def from_settings(cls, opener: Callable[[], Store], http: HttpSettings) -> StoreGuards:
        store = LazyStore(opener, retry_s=0.0)  # the circuits pace the attempts to open it
        timeout_s = http.store_timeout_ms / 1000

        def guard(name: str, timeout_s: float) -> GuardedStore:
            return GuardedStore(
                store,
                timeout_s=timeout_s,
                fail_max=http.breaker_fail_max,
                reset_s=http.breaker_reset_s,
                name=name,
            )

        return cls(
            light=guard("store", timeout_s),
            history=guard("history", timeout_s * HISTORY_TIMEOUT_FACTOR),
            store=store,
        )

    def close(self) -> None:
        """Stop both pools, then close the store."""
        self.light.close()
        self.history.close()
        self.store.close()
