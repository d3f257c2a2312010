"""A circuit breaker around a venue's REST calls: pybreaker's state machine on an injected clock.

When a venue's REST endpoint fails repeatedly (down, overloaded, refusing), the
connector stops calling it for ``reset_s`` seconds instead of piling requests on a
server that cannot answer (and spending the rate budget on them); then one trial
call decides: success closes the circuit, failure opens it for another ``reset_s``.

pybreaker (:class:`pybreaker.CircuitBreaker`) counts the failures and moves the
state; this wrapper times the open period on the injected ``clock`` (pybreaker
uses ``datetime.now``, which a test cannot move): the state storage stamps
``clock()`` whenever pybreaker opens the circuit, and the wrapper half-opens it
once ``reset_s`` has passed on that clock, so pybreaker's own timer never decides.
A connector's REST calls are sequential (snapshot, poll, instrument refresh), so
pybreaker's lock around the whole call costs nothing here and a half-open circuit
lets exactly one call through.

``storage_service/breaker.py`` holds a richer breaker on the same clocked storage (one trial
among concurrent callers, neutral outcomes); services may not be imported from here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import pybreaker

from common.circuit import CircuitState, ClockedStorage

__all__ = ["CircuitOpenError", "CircuitState", "RestBreaker"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class CircuitOpenError(Exception):
    """The breaker refused the call without trying it: the circuit is open."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        super().__init__(f"circuit {name} open; next trial in {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class _Transitions(pybreaker.CircuitBreakerListener):
    """Logs every change of state and counts the openings."""

    def __init__(self) -> None:
        self.opened = 0

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        previous = None if old_state is None else old_state.name
        if previous != new_state.name:
            if new_state.name == pybreaker.STATE_OPEN:
                self.opened += 1  # under pybreaker's lock
            log.warning(
                "venue circuit %s", new_state.name, extra={"circuit": cb.name, "previous": previous}
            )


class RestBreaker:
    """The circuit of one venue's REST endpoint; ``clock`` gives monotonic seconds.

    ``fail_max`` consecutive failures open it; ``exclude`` lists exceptions that say
    nothing about the endpoint's health (pybreaker counts them as successes).
    """

    def __init__(
        self,
        name: str,
        *,
        fail_max: int = 5,
        reset_s: float = 30.0,
        exclude: tuple[type[BaseException], ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fail_max < 1 or reset_s <= 0:
            raise ValueError(f"breaker {name}: fail_max >= 1 and reset_s > 0 needed")
        self.name = name
        self._clock = clock
        self._storage = ClockedStorage(clock)
        self._transitions = _Transitions()
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_s,
            exclude=list(exclude),
            state_storage=self._storage,
            listeners=[self._transitions],
            name=name,
            throw_new_error_on_trip=False,  # the caller sees the REST error itself
        )

    @property
    def state(self) -> CircuitState:
        """The state now: an open circuit whose ``reset_s`` has passed reads half-open."""
        state = CircuitState(self._cb.current_state)
        if state is CircuitState.OPEN and self.retry_after_s() == 0.0:
            self._cb.half_open()
            state = CircuitState(self._cb.current_state)
        return state

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return int(self._cb.fail_counter)

    @property
    def opened(self) -> int:
        """Times the circuit has opened (from closed, or again from half-open)."""
        return self._transitions.opened

    def retry_after_s(self) -> float:
        """Seconds until an open circuit lets its trial call through; 0 when not open."""
        if self._cb.current_state != pybreaker.STATE_OPEN:
            return 0.0
        return max(self._storage.opened_at_s + self._cb.reset_timeout - self._clock(), 0.0)

    def call(self, func: Callable[[], T]) -> T:
        """``func()`` through the circuit: its result, its error, or :class:`CircuitOpenError`."""
        if self.state is CircuitState.OPEN:
            raise CircuitOpenError(self.name, self.retry_after_s())
        return self._cb.call(func)
