"""The feed process's ``/metrics``: each venue's health, read when Prometheus scrapes.

Nothing here runs on the path of a message. :class:`FeedCollector` is a
prometheus_client collector: at each scrape it takes every venue's
:meth:`~feed_generator.venues.health.FeedHealth.snapshot` (the same snapshot
``healthpub.py`` writes to Redis) and the counters of a connector's rate budget and
REST breaker, and yields them as series. The connectors only keep their health up
to date, as they do for Redis.

Series (labels stay low-cardinality: venue, product, never an instrument):

- ``optionsflow_feed_state{venue}``: :class:`StateLevel`, 0 live, 1 connecting,
  2 degraded (REST only), 3 down; ``optionsflow_feed_state_age_seconds{venue}``: time in it;
- ``optionsflow_feed_messages_total{venue,product}``, ``optionsflow_feed_messages_per_second``
  (over the health's sliding window), ``optionsflow_feed_last_message_age_seconds`` (on the
  feed's monotonic clock) and ``optionsflow_feed_last_message_timestamp_seconds`` (Unix
  time), the last two once a product has had a message;
- ``optionsflow_feed_reconnects_total{venue}``, ``optionsflow_feed_resyncs_total{venue}``;
- ``optionsflow_feed_dead_letters_total{venue,product}``: frames rejected; those that could
  not be told a product have ``product=""``;
- for connectors with them (Deribit): ``optionsflow_feed_rate_wait_seconds_total{venue}``
  (:attr:`RateBudget.waited_s`) and ``optionsflow_feed_circuit_open_total{venue}``
  (:attr:`RestBreaker.opened`).

Counters start at 0 with the process, as the health's counters do.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.timestamps import parse_ts
from feed_generator.venues.breaker import RestBreaker
from feed_generator.venues.health import FeedHealth, FeedState, VenueHealth
from feed_generator.venues.ratebudget import RateBudget

__all__ = ["FeedCollector", "StateLevel", "VenueSources", "serving_metrics", "state_level"]

log = logging.getLogger(__name__)


class StateLevel(IntEnum):
    """``optionsflow_feed_state``'s value: higher is worse, so an alert can say ``>= 2``."""

    LIVE = 0
    CONNECTING = 1
    DEGRADED = 2
    DOWN = 3


def state_level(state: FeedState) -> StateLevel:
    """The gauge value of ``state``."""
    return StateLevel[state.name]


@dataclass(frozen=True, slots=True)
class VenueSources:
    """What the collector reads of one venue: its health, and the rate budget and REST
    breaker of a connector that has them."""

    health: FeedHealth
    budget: RateBudget | None = None
    breaker: RestBreaker | None = None


class _Families:
    """One scrape's families, empty until filled."""

    def __init__(self) -> None:
        venue, product = ["venue"], ["venue", "product"]
        self.state = GaugeMetricFamily(
            "optionsflow_feed_state",
            "A venue's state: 0 live, 1 connecting, 2 degraded (REST only), 3 down.",
            labels=venue,
        )
        self.state_age = GaugeMetricFamily(
            "optionsflow_feed_state_age_seconds",
            "Seconds a venue has been in its current state.",
            labels=venue,
        )
        self.messages = CounterMetricFamily(
            "optionsflow_feed_messages_total",
            "Normalised messages a venue published, by product.",
            labels=product,
        )
        self.rate = GaugeMetricFamily(
            "optionsflow_feed_messages_per_second",
            "Messages a venue published per second over the last seconds, by product.",
            labels=product,
        )
        self.age = GaugeMetricFamily(
            "optionsflow_feed_last_message_age_seconds",
            "Seconds since a product's newest message (none before its first).",
            labels=product,
        )
        self.last = GaugeMetricFamily(
            "optionsflow_feed_last_message_timestamp_seconds",
            "Unix time of a product's newest message (none before its first).",
            labels=product,
        )
        self.reconnects = CounterMetricFamily(
            "optionsflow_feed_reconnects_total",
            "Stream reconnections of a venue.",
            labels=venue,
        )
        self.resyncs = CounterMetricFamily(
            "optionsflow_feed_resyncs_total",
            "REST snapshots that re-synchronised a venue's products after a (re)connection.",
            labels=venue,
        )
        self.dead = CounterMetricFamily(
            "optionsflow_feed_dead_letters_total",
            'Venue frames rejected instead of published, by product ("": not known).',
            labels=product,
        )
        self.rate_wait = CounterMetricFamily(
            "optionsflow_feed_rate_wait_seconds_total",
            "Seconds a venue's requests waited for its local rate budget.",
            labels=venue,
        )
        self.circuit_open = CounterMetricFamily(
            "optionsflow_feed_circuit_open_total",
            "Times a venue's REST circuit breaker opened.",
            labels=venue,
        )

    def all(self) -> list[Metric]:
        return [
            self.state, self.state_age, self.messages, self.rate, self.age, self.last,
            self.reconnects, self.resyncs, self.dead, self.rate_wait, self.circuit_open,
        ]  # fmt: skip

    def add(self, snap: VenueHealth) -> None:
        venue = snap.venue
        self.state.add_metric([venue], state_level(snap.state))
        self.state_age.add_metric([venue], snap.state_age_s)
        self.reconnects.add_metric([venue], snap.reconnects)
        self.resyncs.add_metric([venue], snap.resyncs)
        at = parse_ts(snap.at).timestamp()
        for p in snap.products:
            labels = [venue, p.product]
            self.messages.add_metric(labels, p.messages)
            self.rate.add_metric(labels, p.messages_per_s)
            self.dead.add_metric(labels, p.dead_letters)
            if p.last_message_age_s is not None:
                self.age.add_metric(labels, p.last_message_age_s)
                self.last.add_metric(labels, at - p.last_message_age_s)
        unattributed = snap.dead_letters - sum(p.dead_letters for p in snap.products)
        self.dead.add_metric([venue, ""], unattributed)


class FeedCollector(Collector):
    """The series of ``venues``, read at each scrape (see the module docstring)."""

    def __init__(self, venues: Sequence[VenueSources]) -> None:
        self.venues = tuple(venues)

    def describe(self) -> Iterable[Metric]:
        return _Families().all()

    def collect(self) -> Iterable[Metric]:
        families = _Families()
        for source in self.venues:
            families.add(source.health.snapshot())
            venue = source.health.venue
            if source.budget is not None:
                families.rate_wait.add_metric([venue], source.budget.waited_s)
            if source.breaker is not None:
                families.circuit_open.add_metric([venue], source.breaker.opened)
        return families.all()


@contextlib.contextmanager
def serving_metrics(
    host: str,
    port: int,
    venues: Sequence[VenueSources],
    *,
    registry: CollectorRegistry = REGISTRY,
) -> Iterator[int | None]:
    """Serve ``registry`` with the series of ``venues`` at ``http://host:port/metrics`` for the
    ``with`` block; yields the port, or ``None`` when ``port`` is 0 (off) or cannot be bound
    (logged: the feed runs on without metrics, as the worker does). On leaving, the server
    stops and the collector leaves the registry, so a process may run the feed again."""
    if not port:
        yield None
        return
    collector = FeedCollector(venues)
    registry.register(collector)
    try:
        served: tuple[WSGIServer, threading.Thread] | None
        try:
            served = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            log.error("feed metrics not served", extra={"host": host, "port": port,
                                                        "error": str(exc)})  # fmt: skip
            served = None
        if served is None:
            yield None
            return
        server, thread = served
        log.info("feed metrics served", extra={"host": host, "port": port})
        try:
            yield port
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
    finally:
        registry.unregister(collector)
