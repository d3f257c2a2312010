"""The connectors' Prometheus series: names in the project's scheme, state levels."""

from __future__ import annotations

from prometheus_client import REGISTRY

from feed_generator.venues.health import FeedState
from feed_generator.venues.metrics import FEED_STATE, StateLevel, state_level


def test_every_state_has_a_level_and_live_is_best() -> None:
    assert [state_level(s) for s in FeedState] == [
        StateLevel.CONNECTING,
        StateLevel.LIVE,
        StateLevel.DEGRADED,
        StateLevel.DOWN,
    ]
    assert min(StateLevel) is StateLevel.LIVE


def test_the_state_gauge_is_exposed_under_the_project_prefix() -> None:
    FEED_STATE.labels("test-venue").set(state_level(FeedState.DEGRADED))
    value = REGISTRY.get_sample_value("optionsflow_feed_state", {"venue": "test-venue"})
    assert value == 2.0
