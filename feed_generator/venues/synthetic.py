"""The synthetic market as a venue: :class:`~feed_generator.venues.base.Venue` over ``run_market``.

A thin adapter: the market and the runner are unchanged; the adapter keeps the
feed's health (live while it runs, down after; messages per product) and carries
the market's session mode (``simulated`` / ``exchange``) in the health snapshot,
where the dashboard can show which calendar the synthetic options trade on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from feed_generator.market import Market
from feed_generator.messages import Message
from feed_generator.publisher import Sink
from feed_generator.runner import Progress, run_market
from feed_generator.venues.health import FeedHealth, FeedState

__all__ = ["SyntheticVenue"]


class SyntheticVenue:
    """``market`` run by :func:`run_market` (``realtime``, ``duration``, ``clock``, ``sleep``
    as there) with its feed health."""

    name = "synthetic"

    def __init__(
        self,
        market: Market,
        *,
        realtime: bool = True,
        duration: float | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.market = market
        self._realtime, self._duration, self._progress = realtime, duration, progress
        self._clock, self._sleep = clock, sleep
        self._health = FeedHealth(self.name, session=market.session.value, clock=clock)

    @property
    def products(self) -> Sequence[str]:
        return [p.name for p in self.market.products]

    @property
    def health(self) -> FeedHealth:
        return self._health

    def _observe(self, messages: Sequence[Message]) -> None:
        for product, count in Counter(m.payload["product"] for m in messages).items():
            self._health.on_message(product, count)

    def run(self, sinks: Sequence[Sink], stop: threading.Event) -> None:
        """Generate until ``stop`` or the duration; the market cannot fail midway."""
        self._health.set_state(FeedState.LIVE)
        try:
            run_market(
                self.market,
                sinks,
                stop,
                duration=self._duration,
                realtime=self._realtime,
                progress=self._progress,
                clock=self._clock,
                sleep=self._sleep,
                observe=self._observe,
            )
        finally:
            self._health.set_state(FeedState.DOWN)
