"""A circuit breaker for store calls, with one trial call at a time while half-open.

Closed: calls pass; ``fail_max`` consecutive failures open the circuit. Open:
calls are refused at once until ``reset_s`` has passed; then the circuit is
half-open and lets exactly one trial call through, refusing the others while
it is in flight. The trial's success closes the circuit, its failure opens it
again; a trial that ends neither way (the arguments were refused before the
store was asked) frees the slot for the next one.

Thread-safe; per process. pybreaker's ``calling()`` runs the guarded block
outside its lock, so every concurrent caller became a "trial" after a reset.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from enum import Enum, StrEnum

from storage_service.metrics import CIRCUIT_STATE, CircuitLevel

log = logging.getLogger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half-open"
    OPEN = "open"


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
        self._fail_max = fail_max
        self._reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        CIRCUIT_STATE.labels(name).set(CircuitLevel.CLOSED)

    @property
    def state(self) -> CircuitState:
        with self._lock:
            self._half_open_if_due()
            return self._state

    def retry_after_s(self) -> int:
        """Whole seconds until the open circuit lets a trial call through; 1 when not open."""
        with self._lock:
            self._half_open_if_due()
            if self._state is not CircuitState.OPEN:
                return 1
            remaining = self._opened_at + self._reset_s - self._clock()
        return max(1, math.ceil(remaining))

    def admit(self) -> bool:
        """Let a call through (True if it is the half-open trial); :class:`CircuitOpen` if not."""
        with self._lock:
            self._half_open_if_due()
            if self._state is CircuitState.CLOSED:
                return False
            if self._state is CircuitState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
        raise CircuitOpen(f"store circuit {self.name} open after repeated failures")

    def record(self, outcome: Outcome, *, trial: bool) -> None:
        """The end of a call :meth:`admit` let through (``trial`` as it answered)."""
        with self._lock:
            if trial:
                self._trial_in_flight = False
                if outcome is Outcome.SUCCESS:
                    self._failures = 0
                    self._move(CircuitState.CLOSED)
                elif outcome is Outcome.FAILURE:
                    self._open()
                return
            if self._state is not CircuitState.CLOSED:
                return  # let in before the circuit opened: only the trial decides now
            if outcome is Outcome.SUCCESS:
                self._failures = 0
            elif outcome is Outcome.FAILURE:
                self._failures += 1
                if self._failures >= self._fail_max:
                    self._open()

    # -- under the lock -------------------------------------------------------------------

    def _half_open_if_due(self) -> None:
        due = self._opened_at + self._reset_s <= self._clock()
        if self._state is CircuitState.OPEN and due:
            self._trial_in_flight = False
            self._move(CircuitState.HALF_OPEN)

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._move(CircuitState.OPEN)

    def _move(self, state: CircuitState) -> None:
        previous, self._state = self._state, state
        CIRCUIT_STATE.labels(self.name).set(_LEVELS[state])
        if previous is not state:
            log.warning(
                "store circuit %s", state.value, extra={"circuit": self.name, "previous": previous}
            )
