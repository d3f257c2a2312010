"""When and how the feed installs the reference router (``feed_generator/cli.py``).

The synthetic market alone is published as it always was: no router, the same bytes. As soon
as a live venue runs (``deribit``, ``kite``, ``binance``, … or their ``-sim``), the venues send
to a :class:`~.router.ReferenceRouter` wrapping the real sinks, its timer runs on a thread of
its own, and its health (venue ``reference``) is published and served with the venues'.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from common.deadletter import push_deadletters
from common.feeds import FeedState
from common.products import serving_registry
from common.settings import Settings
from feed_generator.publisher import RedisSink, Sink
from feed_generator.venues.base import Venue
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.reference.router import OnReject, ReferenceRouter

__all__ = ["Routing", "reference_routing", "source_name"]

SYNTHETIC = "synthetic"


def source_name(venue: str) -> str:
    """The name a venue's messages carry: a simulator (``deribit-sim``) sends as its venue."""
    return venue.removesuffix("-sim")


@dataclass(frozen=True, slots=True)
class Routing:
    """What the venues send to (``sinks``), the extra healths to publish, and the router."""

    sinks: list[Sink]
    healths: list[FeedHealth]
    router: ReferenceRouter | None

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The router's timer for the ``with`` block; on leaving, its health reads ``down``."""
        if self.router is None:
            yield
            return
        stop = threading.Event()
        context = contextvars.copy_context()  # the run's trace id on the timer's log lines
        timer = threading.Thread(
            target=context.run, args=(self.router.run, stop), name="reference-timer", daemon=True
        )
        timer.start()
        try:
            yield
        finally:
            stop.set()
            timer.join()
            self.router.health.set_state(FeedState.DOWN)


def _deadletters(sinks: Sequence[Sink], keep: int) -> OnReject | None:
    client = next((s.client for s in sinks if isinstance(s, RedisSink)), None)
    if client is None:
        return None

    def push(channel: str, raw: str, reason: str) -> None:
        push_deadletters(client, channel, [(raw, reason)], "feed", keep)

    return push


def reference_routing(
    settings: Settings, venues: Sequence[Venue], sinks: Sequence[Sink]
) -> Routing:
    """The router for ``venues`` over ``sinks``, or the sinks as they are for the synthetic
    market alone."""
    if all(v.name == SYNTHETIC for v in venues):
        return Routing(list(sinks), [], None)
    router = ReferenceRouter(
        sinks,
        settings.reference,
        serving_registry(settings),
        healths={source_name(v.name): v.health for v in venues if v.name != SYNTHETIC},
        on_reject=_deadletters(sinks, settings.pipeline.deadletter_max),
    )
    return Routing([router], [router.health], router)
