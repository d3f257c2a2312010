"""Updates to rooms, in order while the emitter keeps up, coalesced and rate-capped when not.

Normal mode: every update is emitted, oldest first. When an update has waited
longer than ``degrade_lag_s`` before its turn, the emitter has fallen behind:
the degraded mode keeps only the newest update per room and sends each room at
most ``rate_hz`` times a second, so the time spent emitting is bounded by the
number of rooms, not by the feed's rate. Clients are told each change of mode.
The normal mode returns once the emitter would keep up again (a relapse within
a minute doubles the calm asked for next time): for ``recover_s``, the time
normal mode would have spent emitting (updates offered × the measured cost of
one emit) stayed under half the elapsed time,
and green threads woke on time (:meth:`Fanout.note_lateness`, from a probe
that sleeps a fixed period: an emit only queues packets, the sockets are
written by other green threads, and a busy hub shows as late wake-ups).

No I/O here: ``emit`` and ``announce`` are given, the clock is injectable, and
:meth:`Fanout.step` does the work due now and says how long to wait, so the
policy is tested without a server.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

_EWMA = 0.05
"""Weight of the newest emit in the average emit cost."""
_IDLE_S = 0.5
"""Longest wait between steps when nothing is due."""
_RELAPSE_S = 60.0
"""Degraded again within this long of recovering counts as a relapse (longer calm needed)."""


class Mode(StrEnum):
    NORMAL = "normal"
    DEGRADED = "degraded"


@dataclass(slots=True)
class Update:
    room: str
    event: str
    payload: dict[str, Any]
    received: float = field(default=0.0)
    """Clock reading when it arrived (set by :meth:`Fanout.offer`)."""


Emit = Callable[[Update], None]
Announce = Callable[[Mode], None]


@dataclass(slots=True)
class FanoutStats:
    offered: int = 0
    emitted: int = 0
    superseded: int = 0
    """Updates replaced by a newer one of their room before they were sent (degraded mode)."""
    mode_changes: int = 0


class Fanout:
    """The emit policy of one gateway instance."""

    def __init__(
        self,
        emit: Emit,
        announce: Announce,
        *,
        degrade_lag_s: float,
        rate_hz: float,
        recover_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_emitted: Callable[[Update, float], None] | None = None,
    ) -> None:
        self._emit = emit
        self._announce = announce
        self._degrade_lag = degrade_lag_s
        self._interval = 1.0 / rate_hz
        self._recover_base = recover_s
        self._recover = recover_s
        self._recovered_at = float("-inf")
        self._clock = clock
        self._on_emitted = on_emitted
        self._queue: deque[Update] = deque()
        self._held: dict[str, Update] = {}
        self._sent_at: dict[str, float] = {}
        self._emit_cost = 0.0
        self._window_start = clock()
        self._window_offered = 0
        self._calm_since: float | None = None
        self._window_late = 0.0
        self.mode = Mode.NORMAL
        self.stats = FanoutStats()

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._held)

    def offer(self, update: Update) -> None:
        """Queue an update (called by the listener, never blocks)."""
        update.received = self._clock()
        self.stats.offered += 1
        self._window_offered += 1
        if self.mode is Mode.NORMAL:
            self._queue.append(update)
        else:
            self._hold(update)

    def note_lateness(self, seconds: float) -> None:
        """How much later than asked the loop woke (the hub's congestion)."""
        self._window_late = max(self._window_late, seconds)

    def _hold(self, update: Update) -> None:
        if update.room in self._held:
            self.stats.superseded += 1
        self._held[update.room] = update

    def _send(self, update: Update) -> None:
        started = self._clock()
        self._emit(update)
        done = self._clock()
        self._emit_cost += _EWMA * ((done - started) - self._emit_cost)
        self.stats.emitted += 1
        if self._on_emitted is not None:
            self._on_emitted(update, done - update.received)

    def _switch(self, mode: Mode) -> None:
        now = self._clock()
        if mode is Mode.DEGRADED:
            # Falling behind again soon after recovering: wait twice as long for calm next
            # time (up to 12×), so a load near capacity does not swing the mode to and fro.
            soon = now - self._recovered_at < _RELAPSE_S
            self._recover = (
                min(self._recover * 2, 12 * self._recover_base) if soon else self._recover_base
            )
        else:
            self._recovered_at = now
        self.mode = mode
        self.stats.mode_changes += 1
        self._calm_since = None
        self._announce(mode)

    def step(self) -> float:
        """Emit what is due now; the seconds until the next step is worth running."""
        if self.mode is Mode.NORMAL:
            return self._step_normal()
        return self._step_degraded()

    def _step_normal(self) -> float:
        while self._queue:
            update = self._queue[0]
            if self._clock() - update.received > self._degrade_lag:
                while self._queue:
                    self._hold(self._queue.popleft())
                self._switch(Mode.DEGRADED)
                self._window_start, self._window_offered = self._clock(), 0
                self._window_late = 0.0
                return self._step_degraded()
            self._queue.popleft()
            self._send(update)
        return _IDLE_S

    def _step_degraded(self) -> float:
        now = self._clock()
        next_due = _IDLE_S
        for room in list(self._held):
            wait = self._sent_at.get(room, float("-inf")) + self._interval - now
            if wait <= 0:
                update = self._held.pop(room)
                self._send(update)
                self._sent_at[room] = self._clock()
                wait = self._interval
            next_due = min(next_due, wait)
        self._check_recovery()
        return max(next_due, 0.0) if self.mode is Mode.DEGRADED else 0.0

    def _check_recovery(self) -> None:
        now = self._clock()
        elapsed = now - self._window_start
        if elapsed < min(1.0, self._recover):
            return
        busy = self._window_offered * self._emit_cost  # what normal mode would have spent
        late = self._window_late
        self._window_start, self._window_offered, self._window_late = now, 0, 0.0
        if busy >= 0.5 * elapsed or late > self._degrade_lag / 2:
            self._calm_since = None
            return
        if self._calm_since is None:
            self._calm_since = now - elapsed
        if now - self._calm_since >= self._recover:
            self._switch(Mode.NORMAL)
            for room in list(self._held):  # each room's newest, in the order they came
                self._send(self._held.pop(room))
