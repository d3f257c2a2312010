"""When the feed installs the reference router: never for the synthetic market alone (its
messages reach the sinks as before, the same objects), always with a live venue."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.settings import load_settings
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.reference.router import ReferenceRouter
from feed_generator.venues.reference.wiring import reference_routing, source_name
from tests.support.sinks import ListSink


@dataclass
class Named:
    name: str
    health: FeedHealth = field(init=False)

    def __post_init__(self) -> None:
        self.health = FeedHealth(self.name)


def test_the_synthetic_market_alone_sends_to_the_sinks_themselves() -> None:
    sink = ListSink()
    routing = reference_routing(load_settings(), [Named("synthetic")], [sink])  # type: ignore[list-item]
    assert routing.router is None
    assert routing.sinks == [sink]
    assert routing.sinks[0] is sink
    assert routing.healths == []
    with routing.running():
        pass


def test_a_live_venue_sends_through_the_router_which_knows_its_health_by_message_name() -> None:
    sink = ListSink()
    venues = [Named("synthetic"), Named("deribit-sim"), Named("binance")]
    routing = reference_routing(load_settings(), venues, [sink])  # type: ignore[arg-type]
    router = routing.router
    assert isinstance(router, ReferenceRouter)
    assert routing.sinks == [router]
    assert router.sinks == (sink,)
    assert routing.healths == [router.health]
    assert router.health.venue == "reference"
    assert router.healths == {"deribit": venues[1].health, "binance": venues[2].health}
    assert (source_name("kite-sim"), source_name("kite")) == ("kite", "kite")
    with routing.running():
        pass
    assert router.health.state is FeedState.DOWN  # shown down once the run is over
