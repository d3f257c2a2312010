"""What every circuit breaker of the project shares: pybreaker's states and its state
storage read on an injected clock.

pybreaker (:class:`pybreaker.CircuitBreaker`) counts failures and moves the state, but
times the open period with ``datetime.now``, which a test cannot move. A breaker built
on :class:`ClockedStorage` reads the moment pybreaker opened the circuit on its own
``clock`` (monotonic seconds) and half-opens it itself once its reset time has passed
on that clock, so pybreaker's own timer never decides. Used by the storage read API's
breaker and by the venue connectors' REST breaker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import pybreaker

__all__ = ["CircuitState", "ClockedStorage"]


class CircuitState(StrEnum):
    CLOSED = pybreaker.STATE_CLOSED
    HALF_OPEN = pybreaker.STATE_HALF_OPEN
    OPEN = pybreaker.STATE_OPEN


class ClockedStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's in-memory state, with ``opened_at`` also read on the injected clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self._clock = clock
        self.opened_at_s = 0.0
        """``clock()`` when pybreaker last set :attr:`opened_at`."""

    @property
    def opened_at(self) -> datetime | None:
        return self._opened_at

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._opened_at = value
        self.opened_at_s = self._clock()
