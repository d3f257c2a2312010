"""The feed's Prometheus series, read from a venue's health on a fake clock at each scrape."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from feed_generator.venues.breaker import RestBreaker
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.metrics import (
    FeedCollector,
    StateLevel,
    VenueSources,
    serving_metrics,
    state_level,
)
from feed_generator.venues.ratebudget import BudgetLimits, RateBudget
from tests.support.clock import FakeClock
from tests.support.scrape import parse

WALL = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def _registry(*sources: VenueSources) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(FeedCollector(sources))
    return registry


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_every_state_has_a_level_and_live_is_best() -> None:
    assert [state_level(s) for s in FeedState] == [
        StateLevel.CONNECTING,
        StateLevel.LIVE,
        StateLevel.DEGRADED,
        StateLevel.DOWN,
    ]
    assert min(StateLevel) is StateLevel.LIVE


def test_a_scrape_reads_the_venues_health_per_product() -> None:
    clock = FakeClock(start=1_000.0)
    health = FeedHealth("deribit", window_s=10.0, clock=clock, wall=lambda: WALL)
    clock.advance(2.0)
    health.set_state(FeedState.LIVE)
    health.on_message("BTC", 30)
    clock.advance(1.0)
    health.on_message("ETH", 10)
    health.on_reconnect()
    health.on_reconnect()
    health.on_resync()
    health.on_dead_letter()  # a frame no product could be told of
    health.on_dead_letter("ETH")
    health.on_dead_letter("SOL")  # a product known only from a reject: no message yet
    clock.advance(2.0)  # 5 s since the start: the rates are over 5 s
    registry = _registry(VenueSources(health))

    def value(name: str, **labels: str) -> float | None:
        return _value(registry, name, venue="deribit", **labels)

    assert value("optionsflow_feed_state") == 0.0  # live
    assert value("optionsflow_feed_state_age_seconds") == 3.0
    assert value("optionsflow_feed_messages_total", product="BTC") == 30.0
    assert value("optionsflow_feed_messages_total", product="ETH") == 10.0
    assert value("optionsflow_feed_messages_total", product="SOL") == 0.0
    assert value("optionsflow_feed_messages_per_second", product="BTC") == 6.0
    assert value("optionsflow_feed_messages_per_second", product="ETH") == 2.0
    assert value("optionsflow_feed_last_message_age_seconds", product="BTC") == 3.0
    assert value("optionsflow_feed_last_message_age_seconds", product="ETH") == 2.0
    assert value("optionsflow_feed_last_message_age_seconds", product="SOL") is None
    stamp = WALL.timestamp()
    assert value("optionsflow_feed_last_message_timestamp_seconds", product="BTC") == stamp - 3
    assert value("optionsflow_feed_last_message_timestamp_seconds", product="ETH") == stamp - 2
    assert value("optionsflow_feed_last_message_timestamp_seconds", product="SOL") is None
    assert value("optionsflow_feed_reconnects_total") == 2.0
    assert value("optionsflow_feed_resyncs_total") == 1.0
    assert value("optionsflow_feed_dead_letters_total", product="ETH") == 1.0
    assert value("optionsflow_feed_dead_letters_total", product="SOL") == 1.0
    assert value("optionsflow_feed_dead_letters_total", product="") == 1.0
    # without a budget or a breaker, no such series
    assert value("optionsflow_feed_rate_wait_seconds_total") is None
    assert value("optionsflow_feed_circuit_open_total") is None

    clock.advance(10.0)  # silence, then the stream is lost: the next scrape shows it
    health.set_state(FeedState.DEGRADED)
    clock.advance(1.5)
    assert value("optionsflow_feed_state") == 2.0
    assert value("optionsflow_feed_state_age_seconds") == 1.5
    assert value("optionsflow_feed_messages_per_second", product="BTC") == 0.0
    assert value("optionsflow_feed_last_message_age_seconds", product="BTC") == 14.5
    health.set_state(FeedState.DOWN)
    assert value("optionsflow_feed_state") == 3.0


def test_a_connectors_rate_wait_and_circuit_openings() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=1, refill_per_s=2), clock=clock)
    breaker = RestBreaker("deribit-rest", fail_max=1, reset_s=10.0, clock=clock)
    synthetic = FeedHealth("synthetic", clock=clock, wall=lambda: WALL)
    deribit = FeedHealth("deribit", clock=clock, wall=lambda: WALL)
    registry = _registry(
        VenueSources(synthetic), VenueSources(deribit, budget=budget, breaker=breaker)
    )
    assert _value(registry, "optionsflow_feed_rate_wait_seconds_total", venue="deribit") == 0.0
    assert _value(registry, "optionsflow_feed_circuit_open_total", venue="deribit") == 0.0
    assert budget.try_acquire()
    assert not budget.try_acquire()
    clock.advance(0.5)
    assert budget.try_acquire()
    with pytest.raises(ConnectionError):
        breaker.call(_refused)
    assert _value(registry, "optionsflow_feed_rate_wait_seconds_total", venue="deribit") == 0.5
    assert _value(registry, "optionsflow_feed_circuit_open_total", venue="deribit") == 1.0
    assert _value(registry, "optionsflow_feed_circuit_open_total", venue="synthetic") is None
    # each venue has its own state; a new one is connecting
    assert _value(registry, "optionsflow_feed_state", venue="synthetic") == 1.0
    assert _value(registry, "optionsflow_feed_state", venue="deribit") == 1.0


def _refused() -> None:
    raise ConnectionError("refused")


def test_describe_names_what_collect_yields() -> None:
    clock = FakeClock()
    health = FeedHealth("deribit", clock=clock, wall=lambda: WALL)
    health.on_message("BTC")
    budget = RateBudget(BudgetLimits(max_credits=1, refill_per_s=1), clock=clock)
    collector = FeedCollector([VenueSources(health, budget, RestBreaker("r", clock=clock))])
    described = [m.name for m in collector.describe()]
    collected = [m.name for m in collector.collect() if m.samples]
    assert described == collected
    assert all(name.startswith("optionsflow_feed_") for name in described)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_served_over_http_while_the_block_runs_then_gone() -> None:
    clock = FakeClock()
    health = FeedHealth("synthetic", clock=clock, wall=lambda: WALL)
    health.set_state(FeedState.LIVE)
    health.on_message("NIFTY", 4)
    registry = CollectorRegistry()
    with serving_metrics(
        "127.0.0.1", _free_port(), [VenueSources(health)], registry=registry
    ) as port:
        assert port is not None
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            page = parse(resp.read().decode())
        assert page.families["optionsflow_feed_messages"] == "counter"
        assert page.value("optionsflow_feed_messages_total", product="NIFTY") == 4.0
        assert page.value("optionsflow_feed_state", venue="synthetic") == 0.0
    assert registry.get_sample_value("optionsflow_feed_state", {"venue": "synthetic"}) is None
    with pytest.raises(urllib.error.URLError, match="refused"):
        urllib.request.urlopen(url, timeout=2)


def test_port_zero_serves_nothing() -> None:
    registry = CollectorRegistry()
    health = FeedHealth("synthetic", clock=FakeClock())
    with serving_metrics("127.0.0.1", 0, [VenueSources(health)], registry=registry) as port:
        assert port is None
        assert registry.get_sample_value("optionsflow_feed_state", {"venue": "synthetic"}) is None


def test_a_port_in_use_is_logged_and_the_feed_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    health = FeedHealth("synthetic", clock=FakeClock())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (
            caplog.at_level(logging.ERROR, logger="feed_generator.venues.metrics"),
            serving_metrics("127.0.0.1", port, [VenueSources(health)], registry=registry) as served,
        ):
            assert served is None
    assert [r.getMessage() for r in caplog.records] == ["feed metrics not served"]
    assert registry.get_sample_value("optionsflow_feed_state", {"venue": "synthetic"}) is None
