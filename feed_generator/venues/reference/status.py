"""What the reference price shows of itself: its feed health entry, logs and counters.

:class:`ReferenceHealth` is the :class:`~feed_generator.venues.health.FeedHealth` of the venue
``reference`` (its reference ticks per product, published by ``healthpub.py`` at
``feed:health:reference`` and served at ``/metrics`` like any venue's), whose snapshot adds
each product's sources with their states (``common.feeds.SourceStatus``). :func:`record`
logs every transition of a source or of a product's reference (JSON, ``extra=``) and counts
it in ``optionsflow_reference_transitions_total{product,source,state}`` (``source=""``: the
product's reference: ``live`` / ``suspect`` / ``stale``), a process-wide Prometheus counter
served with the feed's ``/metrics`` (``FEED_METRICS_PORT``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping

import msgspec
from prometheus_client import Counter

from common.feeds import SourceStatus, VenueHealth
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.reference.book import Transition

__all__ = ["REFERENCE_VENUE", "TRANSITIONS", "ReferenceHealth", "record"]

log = logging.getLogger("feed_generator.reference")

REFERENCE_VENUE = "reference"
"""The reference price's name among the venues (``feed:health:reference``)."""

TRANSITIONS = Counter(
    "optionsflow_reference_transitions_total",
    'Changes of state of a reference price\'s sources, and of its products ("" source).',
    ["product", "source", "state"],
)

_QUIET = frozenset({"live"})
"""States entered without a warning: everything else leaves a source or a price out."""


def record(transitions: Iterable[Transition]) -> None:
    """Log and count each transition."""
    for t in transitions:
        TRANSITIONS.labels(t.product, t.source or "", t.after).inc()
        level = logging.INFO if t.after in _QUIET or t.before is None else logging.WARNING
        log.log(
            level,
            "reference source state" if t.source else "reference state",
            extra={"product": t.product, "source": t.source, "before": t.before,
                   "after": t.after, "reason": t.reason},
        )  # fmt: skip


class ReferenceHealth(FeedHealth):
    """The ``reference`` venue's health; ``sources()`` gives each product's sources now
    (the router's, taken under its lock)."""

    def __init__(
        self,
        sources: Callable[[], Mapping[str, list[SourceStatus]]],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        super().__init__(REFERENCE_VENUE, clock=clock, wall=wall)
        self._sources = sources

    def snapshot(self) -> VenueHealth:
        snap = super().snapshot()
        sources = self._sources()
        products = [
            msgspec.structs.replace(p, sources=sources.get(p.product, [])) for p in snap.products
        ]
        return msgspec.structs.replace(snap, products=products)
