"""The pacing loops and the sinks, without Redis."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from common.embedded_redis import free_port
from common.timestamps import parse_ts
from feed_generator.capture import CaptureError, CaptureRecord, encode_message
from feed_generator.market import Market, Rates
from feed_generator.products import resolve_products
from feed_generator.publisher import Encoded, RedisSink, publishing_client
from feed_generator.runner import Progress, encode, run_market, run_replay

START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


class ListSink:
    def __init__(self) -> None:
        self.batches: list[list[Encoded]] = []
        self.closed = False

    def send(self, batch: Sequence[Encoded]) -> None:
        self.batches.append(list(batch))

    def close(self) -> None:
        self.closed = True

    @property
    def messages(self) -> list[Encoded]:
        return [m for b in self.batches for m in b]


def _market(seed: int = 1) -> Market:
    return Market(seed, START, resolve_products(["NIFTY", "INFY"]))


def test_fast_run_sends_what_the_market_produces() -> None:
    sink = ListSink()
    progress = run_market(_market(), [sink], threading.Event(), duration=30.0, realtime=False)
    assert sink.messages == encode(_market().advance(30.0))
    assert sum(progress.counts.values()) == len(sink.messages)
    assert len(sink.batches) == 30  # one batch per simulated second


def test_fast_run_needs_a_duration() -> None:
    with pytest.raises(ValueError, match="duration"):
        run_market(_market(), [], threading.Event(), realtime=False)


def test_realtime_run_follows_the_wall_clock() -> None:
    sink = ListSink()
    began = time.monotonic()
    run_market(_market(), [sink], threading.Event(), duration=0.6)
    took = time.monotonic() - began
    assert 0.55 <= took < 2.0
    assert sink.messages == encode(_market().advance(0.6))
    assert len(sink.batches) > 5  # published as it fell due, in several batches


def test_stop_ends_a_run_promptly() -> None:
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    began = time.monotonic()
    run_market(_market(), [ListSink()], stop)
    assert time.monotonic() - began < 1.0
    timer.join()


def test_progress_is_logged_with_rates_per_channel(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="feed_generator.runner")
    progress = Progress(interval=0.1)
    run_market(_market(), [ListSink()], threading.Event(), duration=0.35, progress=progress)
    records = [r for r in caplog.records if r.getMessage() in {"progress", "finished"}]
    assert len(records) >= 3
    last = records[-1]
    assert set(last.counts) == {"market:underlying", "market:option_quote", "market:option_chain"}  # type: ignore[attr-defined]
    assert last.total > 0  # type: ignore[attr-defined]
    assert "rates_per_s" in last.__dict__


def _records(n: int, spacing: float) -> list[CaptureRecord]:
    market = Market(
        2, START, resolve_products(["TCS"]), rates=Rates(tick=1 / spacing, quote=0, chain=0)
    )
    messages = market.advance(n * spacing)
    return [CaptureRecord(m.offset, m.channel, m.payload) for m in messages]


def test_replay_keeps_the_recorded_pace_scaled_by_speed() -> None:
    records = _records(10, 0.1)  # one second of ticks
    sink = ListSink()
    began = time.monotonic()
    run_replay(records, [sink], threading.Event(), speed=2.0)
    assert 0.4 <= time.monotonic() - began < 1.5
    assert [m[2] for m in sink.messages] == encode_all(records)


def encode_all(records: list[CaptureRecord]) -> list[str]:
    return [encode_message(r.message) for r in records]


def test_replay_at_max_speed_does_not_wait_and_batches() -> None:
    records = _records(5000, 0.5)
    sink = ListSink()
    began = time.monotonic()
    run_replay(records, [sink], threading.Event(), speed=None, max_batch=1000)
    assert time.monotonic() - began < 2.0
    assert len(sink.messages) == len(records)
    assert len(sink.batches) == 5


def test_replay_restamps_to_now_and_stops_after_duration() -> None:
    records = _records(40, 1.0)
    sink = ListSink()
    run_replay(records, [sink], threading.Event(), speed=None, restamp=True, duration=9.5)
    assert len(sink.messages) == 10

    now = dt.datetime.now(dt.UTC)
    for _, _, data in sink.messages:
        stamp = parse_ts(json.loads(data)["timestamp"])
        assert abs((now - stamp).total_seconds()) < 5.0


def test_a_capture_error_midway_sends_what_came_before_and_propagates() -> None:
    records = _records(30, 0.5)

    def broken() -> Iterator[CaptureRecord]:
        yield from records[:20]
        raise CaptureError("capture.gz:21: not JSON")

    sink = ListSink()
    with pytest.raises(CaptureError, match="21"):
        run_replay(broken(), [sink], threading.Event(), speed=None)
    assert [m[2] for m in sink.messages] == encode_all(records[:20])


def test_redis_sink_drops_and_backs_off_while_redis_is_down() -> None:
    clock = [100.0]
    client = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    sink = RedisSink(client, backoff_base=1.0, clock=lambda: clock[0])
    batch: list[Encoded] = [(0.0, "market:underlying", "{}")] * 3
    sink.send(batch)
    assert sink.dropped == 3
    attempts_before = sink.failures
    clock[0] += 0.2  # inside the back-off: dropped without trying
    sink.send(batch)
    assert sink.dropped == 6
    assert sink.failures == attempts_before
    clock[0] += 10.0  # after it: tries again, fails again, backs off longer
    sink.send(batch)
    assert sink.failures == attempts_before + 1
    assert sink.published == 0
    sink.close()


class _FlakyClient:
    """Stands in for redis.Redis: the first ``failures`` pipelines fail, then all succeed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.closed = False

    def pipeline(self, transaction: bool = True) -> _FlakyPipeline:
        return _FlakyPipeline(self)

    def close(self) -> None:
        self.closed = True


class _FlakyPipeline:
    def __init__(self, client: _FlakyClient) -> None:
        self.client = client
        self.queued = 0

    def publish(self, channel: str, data: str) -> None:
        self.queued += 1

    def execute(self) -> list[int]:
        if self.client.failures:
            self.client.failures -= 1
            raise redis.ConnectionError("Redis is down")
        return [2] * self.queued  # two subscribers


def test_redis_sink_resumes_publishing_after_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="feed_generator.publisher")
    clock = [0.0]
    sink = RedisSink(_FlakyClient(failures=2), backoff_base=1.0, clock=lambda: clock[0])  # type: ignore[arg-type]
    batch: list[Encoded] = [(0.0, "market:underlying", "{}")] * 3
    sink.send(batch)
    clock[0] += 1.1
    sink.send(batch)
    assert (sink.failures, sink.dropped, sink.published) == (2, 6, 0)
    clock[0] += 2.1  # past the second, longer back-off
    sink.send(batch)
    assert (sink.failures, sink.dropped, sink.published, sink.receivers) == (0, 6, 3, 6)
    resumed = [r for r in caplog.records if r.getMessage() == "redis publishing resumed"]
    assert len(resumed) == 1
    assert resumed[0].after_failures == 2  # type: ignore[attr-defined]
    sink.send(batch)  # and keeps publishing, with no back-off left over
    assert sink.published == 6
    sink.close()


@pytest.mark.timeout(15)
def test_a_stalled_redis_holds_a_publish_for_about_a_second(stalled_redis_url: str) -> None:
    sink = RedisSink(publishing_client(stalled_redis_url))
    began = time.monotonic()
    sink.send([(0.0, "market:underlying", "{}")] * 3)
    assert time.monotonic() - began < 2.0
    assert (sink.failures, sink.dropped, sink.published) == (1, 3, 0)
    sink.close()


@pytest.mark.timeout(15)
def test_a_stop_is_noticed_promptly_while_redis_stalls(stalled_redis_url: str) -> None:
    # No back-off: every batch tries Redis again, the worst case for a stop request.
    sink = RedisSink(publishing_client(stalled_redis_url), backoff_base=0.0)
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    began = time.monotonic()
    run_market(_market(), [sink], stop)
    assert time.monotonic() - began < 2.5
    assert sink.failures >= 1
    assert sink.published == 0
    timer.join()
    sink.close()
