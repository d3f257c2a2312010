"""The synthetic market as a venue: the protocol, its health, and the same messages as before."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Sequence

import orjson

from feed_generator.market import Market
from feed_generator.products import resolve_products
from feed_generator.publisher import Encoded
from feed_generator.runner import encode
from feed_generator.session import SessionMode
from feed_generator.venues.base import Venue
from feed_generator.venues.health import FeedState
from feed_generator.venues.synthetic import SyntheticVenue
from tests.support.clock import FakeClock

START = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)  # a Saturday


class ListSink:
    def __init__(self) -> None:
        self.batches: list[Sequence[Encoded]] = []

    def send(self, batch: Sequence[Encoded]) -> None:
        self.batches.append(batch)

    def close(self) -> None:
        pass


def _market(session: SessionMode = SessionMode.SIMULATED) -> Market:
    return Market(4, START, resolve_products(["NIFTY", "BANKNIFTY"]), session=session)


def test_the_synthetic_market_is_a_venue_with_its_health() -> None:
    clock = FakeClock()
    venue = SyntheticVenue(_market(), realtime=False, duration=3.0, clock=clock)
    assert isinstance(venue, Venue)
    assert venue.products == ["NIFTY", "BANKNIFTY"]
    assert venue.health.state is FeedState.CONNECTING
    sink = ListSink()
    venue.run([sink], threading.Event())
    sent = [orjson.loads(data) for batch in sink.batches for _, _, data in batch]
    snap = venue.health.snapshot()
    assert snap.state is FeedState.DOWN  # the run ended
    assert snap.session == "simulated"
    assert snap.messages == len(sent)
    per_product = Counter(m["product"] for m in sent)
    assert {p.product: p.messages for p in snap.products} == dict(per_product)


def test_the_venue_publishes_what_run_market_did() -> None:
    sink = ListSink()
    SyntheticVenue(_market(), realtime=False, duration=2.0, clock=FakeClock()).run(
        [sink], threading.Event()
    )
    direct = encode(_market().advance_to(2.0))
    assert [e for batch in sink.batches for e in batch] == direct


def test_the_exchange_mode_is_reported() -> None:
    venue = SyntheticVenue(_market(SessionMode.EXCHANGE), realtime=False, duration=1.0)
    assert venue.health.snapshot().session == "exchange"
