"""A local credit budget that keeps a connector under its venue's request limits.

Venues meter requests as a leaky bucket of credits: each request costs credits,
credits refill continuously at a fixed rate up to a maximum, and a request made
with too few credits is refused. Deribit refuses with ``too_many_requests``
(10028) and ends the session, so the connector must never get there: it spends
from this local mirror of the venue's bucket first and waits when it is empty.

Deribit's default for non-matching-engine requests (everything a market-data
connector sends) is 500 credits per request, 50,000 credits at most, refilled at
10,000 credits per second: 20 requests/s sustained, bursts of 100
(support.deribit.com/hc/en-us/articles/25944617523357-Rate-Limits, "Default
Settings for Non-Matching Engine Requests"). Those figures are the defaults of
:data:`DERIBIT_NON_MATCHING`; they are per sub-account for authenticated
clients, and public requests are limited per IP on terms Deribit does not publish,
so a connector should also treat a 10028 as a sign to slow down.

The budget also adds up how long refused requests have to wait (:attr:`RateBudget.waited_s`,
served at the feed's ``/metrics``): each refusal counts the wait it implies, the time until the
bucket holds the request's cost, which is what :meth:`RateBudget.acquire` sleeps and what a
caller's own loop of :meth:`~RateBudget.try_acquire` then :meth:`~RateBudget.wait_time` sleeps.
Requests waiting at the same time each count (request-seconds).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DERIBIT_NON_MATCHING", "BudgetLimits", "RateBudget"]


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """A venue's bucket: ``max_credits`` held at most, ``refill_per_s`` credits per second."""

    max_credits: float
    refill_per_s: float
    default_cost: float = 1.0
    """Credits of one ordinary request."""

    def __post_init__(self) -> None:
        if self.max_credits <= 0 or self.refill_per_s <= 0 or self.default_cost <= 0:
            raise ValueError("a rate budget needs positive max_credits, refill_per_s and cost")
        if self.default_cost > self.max_credits:
            raise ValueError("a request cannot cost more than the bucket holds")


DERIBIT_NON_MATCHING = BudgetLimits(max_credits=50_000, refill_per_s=10_000, default_cost=500)
"""Deribit's documented default for non-matching-engine requests (see the module docstring)."""


class RateBudget:
    """The local bucket: starts full; ``clock`` gives monotonic seconds. Thread-safe."""

    def __init__(
        self, limits: BudgetLimits, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._credits = limits.max_credits
        self._at = clock()
        self._waited_s = 0.0
        self._lock = threading.Lock()

    def _refill(self) -> float:
        """Credits now, after the refill since the last look (under the lock)."""
        now = self._clock()
        elapsed = max(now - self._at, 0.0)
        self._credits = min(
            self.limits.max_credits, self._credits + elapsed * self.limits.refill_per_s
        )
        self._at = now
        return self._credits

    @property
    def credits(self) -> float:
        """Credits available now."""
        with self._lock:
            return self._refill()

    def _cost(self, cost: float | None) -> float:
        value = self.limits.default_cost if cost is None else cost
        if not 0 < value <= self.limits.max_credits:
            raise ValueError(f"cost must be in (0, {self.limits.max_credits:g}], got {value}")
        return value

    @property
    def waited_s(self) -> float:
        """Seconds refused requests have had to wait so far (see the module docstring)."""
        with self._lock:
            return self._waited_s

    def try_acquire(self, cost: float | None = None) -> bool:
        """Spend ``cost`` credits (default: one request) if available; False leaves the bucket."""
        value = self._cost(cost)
        with self._lock:
            if self._refill() < value:
                self._waited_s += (value - self._credits) / self.limits.refill_per_s
                return False
            self._credits -= value
            return True

    def wait_time(self, cost: float | None = None) -> float:
        """Seconds until ``cost`` credits are available; 0 when they are now."""
        value = self._cost(cost)
        with self._lock:
            missing = value - self._refill()
        return max(missing, 0.0) / self.limits.refill_per_s

    def acquire(
        self, cost: float | None = None, *, sleep: Callable[[float], object] = time.sleep
    ) -> float:
        """Spend ``cost`` credits, sleeping until they are there; returns seconds waited."""
        waited = 0.0
        while not self.try_acquire(cost):
            delay = self.wait_time(cost)
            sleep(delay)
            waited += delay
        return waited

    def drain(self) -> None:
        """Empty the bucket: the venue refused a request (10028), so its bucket is empty too."""
        with self._lock:
            self._refill()
            self._credits = 0.0
