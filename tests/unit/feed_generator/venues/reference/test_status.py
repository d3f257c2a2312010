"""The reference price's status: its health snapshot carries each product's sources, a reader
ages them and shows a product without a live source stale; transitions are logged and
counted."""

from __future__ import annotations

import datetime as dt
import logging

import msgspec
import pytest
from prometheus_client import REGISTRY

from common.feeds import SourceStatus, VenueHealth, judge
from common.messages.enums import SourceState
from feed_generator.venues.reference.book import Transition
from feed_generator.venues.reference.status import ReferenceHealth, record
from tests.support.clock import FakeClock

AT = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def health(states: dict[str, SourceState]) -> ReferenceHealth:
    clock = FakeClock(0.0)
    sources = [SourceStatus(source=n, state=s, price=100.0, age_s=0.5) for n, s in states.items()]
    ref = ReferenceHealth(lambda: {"BTC": sources}, clock=clock, wall=lambda: AT)
    ref.on_message("BTC")
    clock.advance(1.0)
    return ref


def test_the_snapshot_lists_the_sources_and_survives_the_wire() -> None:
    snap = health({"binance": SourceState.LIVE, "coinbase": SourceState.QUARANTINED}).snapshot()
    wire = msgspec.json.decode(msgspec.json.encode(snap), type=VenueHealth)
    assert wire.venue == "reference"
    (product,) = wire.products
    assert product.sources == [
        SourceStatus(source="binance", state=SourceState.LIVE, price=100.0, age_s=0.5),
        SourceStatus(source="coinbase", state=SourceState.QUARANTINED, price=100.0, age_s=0.5),
    ]


@pytest.mark.parametrize(
    ("states", "stale"),
    [
        ({"binance": SourceState.LIVE, "coinbase": SourceState.STALE}, False),
        ({"binance": SourceState.QUARANTINED, "coinbase": SourceState.STALE}, True),
        ({"deribit": SourceState.DOWN}, True),
    ],
)
def test_a_reader_ages_the_sources_and_shows_stale_without_a_live_one(
    states: dict[str, SourceState], stale: bool
) -> None:
    status = judge(health(states).snapshot(), AT + dt.timedelta(seconds=2))
    (product,) = status.products
    assert product.stale is stale
    assert [s.age_s for s in product.sources or []] == [2.5] * len(states)
    assert product.last_message_age_s == 3.0


def test_transitions_are_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    def count(source: str, state: str) -> float:
        labels = {"product": "ZZZ", "source": source, "state": state}
        return REGISTRY.get_sample_value("optionsflow_reference_transitions_total", labels) or 0.0

    before = count("coinbase", "quarantined"), count("", "suspect")
    with caplog.at_level(logging.INFO, logger="feed_generator.reference"):
        record(
            [
                Transition("ZZZ", "coinbase", "live", "quarantined", "off"),
                Transition("ZZZ", None, "live", "suspect", "the two live sources disagree"),
            ]
        )
    after = count("coinbase", "quarantined"), count("", "suspect")
    assert after == (before[0] + 1, before[1] + 1)
    first, second = caplog.records
    assert (first.levelno, first.getMessage()) == (logging.WARNING, "reference source state")
    assert (first.product, first.source, first.before, first.after) == (  # type: ignore[attr-defined]
        "ZZZ", "coinbase", "live", "quarantined")  # fmt: skip
    assert (second.getMessage(), second.reason) == (  # type: ignore[attr-defined]
        "reference state", "the two live sources disagree")  # fmt: skip
