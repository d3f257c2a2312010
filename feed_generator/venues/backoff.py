"""Capped exponential backoff with full jitter, for reconnects.

After the ``n``-th consecutive failure (``n`` from 0) the wait is drawn uniformly
from ``[0, min(cap, base·2ⁿ)]`` seconds: "full jitter" in the AWS Architecture
Blog's *Exponential Backoff And Jitter*, which spreads the reconnects of many
clients that lost the same server instead of letting them return in waves. A
success resets the count, so the next failure waits little again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(slots=True)
class Backoff:
    """Consecutive-failure counter that draws the next wait (seconds).

    ``base``: ceiling of the first wait; ``cap``: the highest ceiling; ``rng``:
    the source of the jitter (a seeded :class:`random.Random` in tests).
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0
    """Consecutive failures so far."""

    def __post_init__(self) -> None:
        if not (0.0 < self.base <= self.cap):
            raise ValueError(f"backoff needs 0 < base <= cap, got base={self.base} cap={self.cap}")

    def ceiling(self, attempt: int | None = None) -> float:
        """The highest wait of failure ``attempt`` (default: the next one), in seconds."""
        n = self.attempt if attempt is None else attempt
        # 2**n overflows a float near n = 1024; past the cap the exponent no longer matters.
        if n >= 64:
            return self.cap
        return min(self.cap, self.base * 2.0**n)

    def next_delay(self) -> float:
        """Record a failure and return how long to wait before the next try, in seconds."""
        delay = self.rng.uniform(0.0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """A success: the next failure starts from ``base`` again."""
        self.attempt = 0
