"""The watchdog of a connected-but-silent connection: ping first, then replace.

A TCP connection can stay "connected" while nothing arrives: a proxy or NAT
dropped it half-way, or the venue stopped serving this session. The read then
blocks for as long as the kernel's keep-alive allows (hours), while the feed
shows stale prices as if live — the failure users of other platforms complain
about most. Every frame (data or heartbeat) :meth:`SilenceWatchdog.touch`\\es the
watchdog; once nothing came for ``ping_after_s`` the connector sends one ping
(a venue's test request), and once nothing came for ``replace_after_s`` even
after it, the connection is closed and a new one made. The same pattern as the
socket gateway's Redis listener (``SILENT_PING_S`` / ``SILENT_DEAD_S``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

__all__ = ["SilenceAction", "SilenceWatchdog"]


class SilenceAction(StrEnum):
    """What the connector should do about the silence now."""

    NONE = "none"
    PING = "ping"
    """Silent for ``ping_after_s``: send one ping (once per silence)."""
    REPLACE = "replace"
    """Silent for ``replace_after_s``: close the connection and make a new one."""


class SilenceWatchdog:
    """Seconds of silence on one connection; ``clock`` gives monotonic seconds.

    Not thread-safe by design: one connection's reader touches and checks it.
    """

    def __init__(
        self,
        ping_after_s: float,
        replace_after_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < ping_after_s < replace_after_s:
            raise ValueError("a watchdog needs 0 < ping_after_s < replace_after_s")
        self.ping_after_s = ping_after_s
        self.replace_after_s = replace_after_s
        self._clock = clock
        self.last_heard = clock()
        self._pinged = False

    def touch(self, now: float | None = None) -> None:
        """A frame arrived (data, heartbeat or the answer to a ping)."""
        self.last_heard = self._clock() if now is None else now
        self._pinged = False

    def silence(self, now: float | None = None) -> float:
        """Seconds since the last frame."""
        return max((self._clock() if now is None else now) - self.last_heard, 0.0)

    def is_silent(self, now: float | None = None) -> bool:
        """True once nothing arrived for ``replace_after_s``: the connection is to be replaced."""
        return self.silence(now) >= self.replace_after_s

    def check(self, now: float | None = None) -> SilenceAction:
        """The decision now; :attr:`SilenceAction.PING` is returned once per silence."""
        silence = self.silence(now)
        if silence >= self.replace_after_s:
            return SilenceAction.REPLACE
        if silence >= self.ping_after_s and not self._pinged:
            self._pinged = True
            return SilenceAction.PING
        return SilenceAction.NONE

    def next_check_in(self, now: float | None = None) -> float:
        """Seconds until the decision can change without a frame: a reader's read timeout."""
        silence = self.silence(now)
        due = (
            self.replace_after_s
            if self._pinged or silence >= self.ping_after_s
            else self.ping_after_s
        )
        return max(due - silence, 0.0)
