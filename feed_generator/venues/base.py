"""The seam between the feed's runner and a venue: what every venue connector provides.

A venue is a source of normalised market messages (the three ``market:*``
channels, the same dicts the synthetic market makes) that it hands to the feed's
sinks (:class:`feed_generator.publisher.Sink`: Redis Pub/Sub with its stream, a
capture file) in batches, from a blocking run loop on its own thread that returns
when ``stop`` is set. It keeps its :class:`~feed_generator.venues.health.FeedHealth`
up to date while it runs, so the process can publish the health snapshots and
serve ``/metrics``. Everything venue-specific (the protocol, reconnects, REST
resync and fallback, rate budget, untrusted frames) stays inside the connector.

Kept deliberately small: :class:`feed_generator.venues.deribit.connector.DeribitVenue`
builds on it, and ``feed_generator.cli`` runs the venues ``FEED_VENUES`` names.
:class:`feed_generator.venues.synthetic.SyntheticVenue` makes the synthetic market
one venue among others.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from feed_generator.publisher import Sink
from feed_generator.venues.health import FeedHealth

__all__ = ["Venue"]


@runtime_checkable
class Venue(Protocol):
    """A source of normalised market messages; see the module docstring."""

    @property
    def name(self) -> str:
        """The venue's name as ``FEED_VENUES`` spells it (``synthetic``, ``deribit``)."""
        ...

    @property
    def products(self) -> Sequence[str]:
        """The products it publishes now (instrument refreshes may change them)."""
        ...

    @property
    def health(self) -> FeedHealth:
        """Its live health tracker."""
        ...

    def run(self, sinks: Sequence[Sink], stop: threading.Event) -> None:
        """Publish batches to every sink until ``stop`` is set (or the source ends).

        Transient failures (a lost connection, a failing REST call) are handled inside
        and shown in :attr:`health`; only a configuration error escapes.
        """
        ...
