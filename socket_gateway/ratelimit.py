"""A token bucket per connection for ``subscribe`` / ``unsubscribe``.

Each subscribe reads Redis and may send a ~12 KB snapshot; a review sent 1,000
subscribes in a second on one connection and got 504 snapshots back. The bucket
bounds what one connection can ask for; over it the event is answered with a
``rate_limited`` error (never a disconnect, which a client would answer with a
reconnect and a fresh burst). No I/O; the caller passes ``now``.
"""

from __future__ import annotations


class TokenBucket:
    """``burst`` events at once, refilled at ``rate_hz`` a second."""

    __slots__ = ("_at", "_tokens", "burst", "rate_hz")

    def __init__(self, rate_hz: float, burst: int, now: float) -> None:
        self.rate_hz = rate_hz
        self.burst = burst
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> float:
        """Spend one token: 0.0 when there was one, else the seconds until there is (none
        spent)."""
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate_hz)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate_hz
