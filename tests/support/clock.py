"""A fake clock for tests: time moves only when the test or the code under test sleeps.

Code that takes ``clock=`` (monotonic seconds) and ``sleep=`` runs on :class:`FakeClock`
as fast as the machine allows, and a test asserts exactly how long it waited on the
fake clock instead of how long the wall clock took (which a loaded machine stretches).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["FakeClock", "SimulatedTimeExceededError"]

RESOLUTION = 1e-6
"""Seconds a sleep takes at least: as on a real clock, a wait for a due time a rounding
error away ends past it instead of leaving the waiter to spin."""


class SimulatedTimeExceededError(AssertionError):
    """The code under test slept past the clock's ``limit``: a loop that would never end."""


class FakeClock:
    """Monotonic seconds that move only through :meth:`advance` and :meth:`sleep`.

    The instance is the ``clock`` (call it for the time) and :meth:`sleep` the
    ``sleep``. :meth:`call_at` schedules an action at an elapsed time (a stop
    request, say), run when the clock passes it. Sleeping past ``limit`` seconds
    of elapsed time, or more than ``max_sleeps`` times, raises
    :class:`SimulatedTimeExceededError`, so a test of a loop that never ends fails at
    once instead of hanging. Thread-safe.
    """

    def __init__(
        self, start: float = 1_000.0, *, limit: float = 3_600.0, max_sleeps: int = 100_000
    ) -> None:
        self.start = start
        self.limit = limit
        self.max_sleeps = max_sleeps
        self.sleeps: list[float] = []
        """Every duration asked of :meth:`sleep`, in seconds, in order."""
        self._now = start
        self._due: list[tuple[float, Callable[[], object]]] = []
        self._lock = threading.RLock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        with self._lock:
            return self._now - self.start

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, running the actions that fall due on the way."""
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        with self._lock:
            target = self._now + seconds
            if target - self.start > self.limit:
                raise SimulatedTimeExceededError(f"slept past {self.limit} s of simulated time")
            while self._due and self._due[0][0] <= target:
                at, action = self._due.pop(0)
                self._now = max(self._now, at)
                action()
            self._now = target

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance by it, by :data:`RESOLUTION` at least."""
        with self._lock:
            self.sleeps.append(seconds)
            if len(self.sleeps) > self.max_sleeps:
                raise SimulatedTimeExceededError(f"slept more than {self.max_sleeps} times")
            self.advance(max(seconds, RESOLUTION))

    def call_at(self, elapsed: float, action: Callable[[], object]) -> None:
        """Run ``action`` when the clock reaches ``elapsed`` seconds since the start."""
        with self._lock:
            self._due.append((self.start + elapsed, action))
            self._due.sort(key=lambda item: item[0])
