"""A circuit breaker for store calls: pybreaker's, with one trial call at a time while half-open.

pybreaker (:class:`pybreaker.CircuitBreaker`) owns the state machine: it
counts consecutive failures, opens the circuit after ``fail_max`` of them,
closes it on the trial call's success and opens it again on its failure; a
:class:`pybreaker.CircuitBreakerListener` keeps the ``CIRCUIT_STATE`` gauge
and logs the transitions. This module adds what pybreaker lacks:

- **One trial call.** pybreaker's ``call()`` holds its lock for the whole
  call (every call would queue behind a slow one) and ``calling()`` runs the
  block outside it (after the reset every concurrent caller became a trial).
  So the call runs outside pybreaker, between :meth:`Breaker.admit` and
  :meth:`Breaker.record`: the gate lets exactly one trial through while
  half-open and refuses the others at once; :meth:`Breaker.record` hands the
  outcome to pybreaker (``call()`` of a function that returns or raises at
  once), which counts it and moves the state.
- **The injected clock.** pybreaker times the reset with ``datetime.now``;
  the gate asks the injected ``clock`` instead: the state storage stamps the
  clock's reading whenever pybreaker sets ``opened_at``, and once
  ``reset_timeout`` has passed on that clock the gate half-opens the circuit
  with pybreaker's ``half_open()`` (so pybreaker's own timer never decides).
- **Neutral outcomes.** A call that says nothing about the store's health
  (e.g. a ValueError for bad arguments) is not handed to pybreaker at all:
  its ``exclude`` counts an excluded exception as a success (resetting the
  failure count, closing a half-open circuit). A neutral trial frees the slot.

Calls let in before the circuit opened no longer decide anything: once it is
open or half-open, only the trial's outcome is handed on. Thread-safe; per
process.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from enum import Enum

import pybreaker

from common.circuit import CircuitState, ClockedStorage
from storage_service.metrics import CIRCUIT_STATE, CircuitLevel

log = logging.getLogger(__name__)


class Outcome(Enum):
    """How a call admitted by the breaker ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"
    """Says nothing about the store's health (e.g. a ValueError for bad arguments)."""


_LEVELS = {
    CircuitState.CLOSED: CircuitLevel.CLOSED,
    CircuitState.HALF_OPEN: CircuitLevel.HALF_OPEN,
    CircuitState.OPEN: CircuitLevel.OPEN,
}


class CircuitOpen(Exception):  # noqa: N818  # read as a state, like the port's errors
    """The breaker refused a call: open, or half-open with its trial call in flight."""


class _StoreCallError(Exception):
    """A failed store call, raised through pybreaker so that it counts the failure."""


def _succeed() -> None:
    pass


def _fail() -> None:
    raise _StoreCallError


class _Gauge(pybreaker.CircuitBreakerListener):
    """pybreaker's transitions to the ``CIRCUIT_STATE`` gauge and the log."""

    def __init__(self, name: str) -> None:
        self._name = name
        CIRCUIT_STATE.labels(name).set(CircuitLevel.CLOSED)

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        state = CircuitState(new_state.name)
        CIRCUIT_STATE.labels(self._name).set(_LEVELS[state])
        previous = None if old_state is None else old_state.name
        if previous != state.value:
            log.warning(
                "store circuit %s", state.value, extra={"circuit": self._name, "previous": previous}
            )


class Breaker:
    """The circuit of one kind of store call; ``clock`` gives monotonic seconds."""

    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fail_max < 1 or reset_s <= 0:
            raise ValueError(f"breaker {name}: fail_max >= 1 and reset_s > 0 needed")
        self.name = name
        self._clock = clock
        self._storage = ClockedStorage(clock)
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_s,
            state_storage=self._storage,
            listeners=[_Gauge(name)],
            name=name,
            throw_new_error_on_trip=False,  # re-raise _StoreCallError, caught in _feed
        )
        self._lock = threading.Lock()  # the gate: pybreaker's state read and moved as one
        self._trial_in_flight = False
        self._epoch = 0
        """How many times the circuit has opened."""

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._current()

    def retry_after_s(self) -> int:
        """Whole seconds until the open circuit lets a trial call through; 1 when not open."""
        with self._lock:
            if self._current() is not CircuitState.OPEN:
                return 1
            remaining = self._storage.opened_at_s + self._cb.reset_timeout - self._clock()
        return max(1, math.ceil(remaining))

    def admit(self) -> bool:
        """Let a call through (True if it is the half-open trial); :class:`CircuitOpen` if not."""
        return self.admit_with_epoch()[0]

    def admit_with_epoch(self) -> tuple[bool, int]:
        """:meth:`admit` and the number of times the circuit had opened, for :meth:`record`."""
        with self._lock:
            state = self._current()
            if state is CircuitState.CLOSED:
                return False, self._epoch
            if state is CircuitState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True, self._epoch
        raise CircuitOpen(f"store circuit {self.name} open after repeated failures")

    def record(self, outcome: Outcome, *, trial: bool, epoch: int | None = None) -> None:
        """The end of a call :meth:`admit` let through (``trial`` as it answered).

        With ``epoch`` (from :meth:`admit_with_epoch`), a call let in before the
        circuit last opened says nothing about the closed period after it.
        """
        with self._lock:
            if trial:
                self._trial_in_flight = False
            elif self._current() is not CircuitState.CLOSED:
                return  # let in before the circuit opened: only the trial decides now
            elif epoch is not None and epoch != self._epoch:
                return  # let in before the circuit opened and closed again
            if outcome is not Outcome.NEUTRAL:
                self._feed(outcome)

    # -- under the lock -------------------------------------------------------------------

    def _current(self) -> CircuitState:
        """pybreaker's state, half-opened first if the reset has passed on ``clock``."""
        state = CircuitState(self._cb.current_state)
        due = self._storage.opened_at_s + self._cb.reset_timeout <= self._clock()
        if state is CircuitState.OPEN and due:
            self._trial_in_flight = False
            self._cb.half_open()
            state = CircuitState(self._cb.current_state)
        return state

    def _feed(self, outcome: Outcome) -> None:
        """Hand a success or failure to pybreaker, which counts it and moves the state."""
        if outcome is Outcome.SUCCESS:
            self._cb.call(_succeed)
            return
        was_open = self._cb.current_state == CircuitState.OPEN.value
        with contextlib.suppress(_StoreCallError):
            self._cb.call(_fail)
        if not was_open and self._cb.current_state == CircuitState.OPEN.value:
            self._epoch += 1
