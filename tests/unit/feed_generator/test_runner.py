"""The pacing loops and the sinks, without Redis."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import subprocess
import threading
from collections.abc import Iterator, Sequence

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from common.embedded_redis import find_redis_server, free_port
from common.timestamps import parse_ts
from feed_generator.capture import CaptureError, CaptureRecord, encode_message
from feed_generator.market import Market, Rates
from feed_generator.products import resolve_products
from feed_generator.publisher import PUBLISH_TIMEOUT, Encoded, RedisSink, publishing_client
from feed_generator.runner import MAX_WAIT, Progress, encode, run_market, run_replay
from tests.support.clock import FakeClock
from tests.support.processes import wait_until
from tests.support.stalled import StalledServer

START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
BATCH_S = 0.01
"""The loops' default ``batch_interval``: messages due within it share a batch."""


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


class TimedSink(ListSink):
    """A :class:`ListSink` that notes when each batch came, in seconds on ``clock``."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.sent_at: list[float] = []

    def send(self, batch: Sequence[Encoded]) -> None:
        super().send(batch)
        self.sent_at.append(self.clock.elapsed)


def test_realtime_run_sends_each_message_once_it_falls_due() -> None:
    clock = FakeClock()
    sink = TimedSink(clock)
    run_market(_market(), [sink], threading.Event(), duration=0.6, clock=clock, sleep=clock.sleep)
    assert sink.messages == encode(_market().advance(0.6))
    assert 0.6 <= clock.elapsed <= 0.6 + BATCH_S  # it waited for the run's simulated time
    assert len(sink.batches) > 5  # published as it fell due, in several batches
    previous = -1.0
    for sent_at, batch in zip(sink.sent_at, sink.batches, strict=True):
        # never before it is due, and in the first batch after that
        assert all(previous < offset <= sent_at for offset, _, _ in batch), (previous, sent_at)
        previous = sent_at
    assert max(clock.sleeps) <= MAX_WAIT


def test_a_stop_request_ends_a_run_at_its_next_wake_up() -> None:
    clock = FakeClock(limit=60.0)  # a run that ignored the stop would sleep past this
    stop = threading.Event()
    clock.call_at(0.3, stop.set)
    sink = TimedSink(clock)
    run_market(_market(), [sink], stop, clock=clock, sleep=clock.sleep)  # no duration
    assert 0.3 <= clock.elapsed <= 0.3 + MAX_WAIT  # the sleep in progress, and no other
    assert max(clock.sleeps) <= MAX_WAIT  # so that a stop is noticed within that
    assert sink.batches
    assert max(sink.sent_at) < 0.3  # nothing sent once stopped


def test_a_stop_request_ends_the_wait_of_a_real_run() -> None:
    # The default sleep is the stop event's wait: setting it wakes the loop at once.
    stop = threading.Event()
    sink = ListSink()
    run = threading.Thread(target=run_market, args=(_market(), [sink], stop), daemon=True)
    run.start()
    assert wait_until(lambda: len(sink.batches) >= 2, 10), "the run sent nothing"
    stop.set()
    run.join(10)
    assert not run.is_alive(), "the run did not end after the stop request"


def test_progress_is_logged_with_rates_per_channel(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="feed_generator.runner")
    clock = FakeClock()
    progress = Progress(interval=0.1, clock=clock)
    sink = ListSink()
    run_market(
        _market(), [sink], threading.Event(), duration=0.35, progress=progress, clock=clock,
        sleep=clock.sleep,
    )  # fmt: skip
    records = [r for r in caplog.records if r.getMessage() in {"progress", "finished"}]
    assert [r.getMessage() for r in records] == ["progress"] * 3 + ["finished"]
    last = records[-1]
    assert set(last.counts) == {"market:underlying", "market:option_quote", "market:option_chain"}  # type: ignore[attr-defined]
    assert last.total == len(sink.messages) > 0  # type: ignore[attr-defined]
    assert last.elapsed_s == round(clock.elapsed, 3)  # type: ignore[attr-defined]
    assert last.simulated_s == 0.35  # type: ignore[attr-defined]
    assert "rates_per_s" in last.__dict__


def _records(n: int, spacing: float) -> list[CaptureRecord]:
    market = Market(
        2, START, resolve_products(["TCS"]), rates=Rates(tick=1 / spacing, quote=0, chain=0)
    )
    messages = market.advance(n * spacing)
    return [CaptureRecord(m.offset, m.channel, m.payload) for m in messages]


def test_replay_keeps_the_recorded_pace_scaled_by_speed() -> None:
    records = _records(10, 0.1)  # one second of ticks
    span = records[-1].offset - records[0].offset
    clock = FakeClock()
    sink = TimedSink(clock)
    run_replay(records, [sink], threading.Event(), speed=2.0, clock=clock, sleep=clock.sleep)
    assert [m[2] for m in sink.messages] == encode_all(records)
    assert clock.elapsed == pytest.approx(span / 2.0)
    for sent_at, batch in zip(sink.sent_at, sink.batches, strict=True):
        # each message goes out when its scaled offset is due (within the batching slack)
        assert all(abs(sent_at - offset / 2.0) <= BATCH_S for offset, _, _ in batch)
    assert len(sink.batches) == len(records)  # 50 ms apart: one batch each


def encode_all(records: list[CaptureRecord]) -> list[str]:
    return [encode_message(r.message) for r in records]


def test_replay_at_max_speed_does_not_wait_and_batches() -> None:
    records = _records(5000, 0.5)
    sink = ListSink()
    clock = FakeClock()
    run_replay(
        records, [sink], threading.Event(), speed=None, max_batch=1000, clock=clock,
        sleep=clock.sleep,
    )  # fmt: skip
    assert clock.sleeps == []
    assert len(sink.messages) == len(records)
    assert len(sink.batches) == 5


def test_replay_restamps_to_now_and_stops_after_duration() -> None:
    records = _records(40, 1.0)
    sink = ListSink()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=1)  # stamps keep milliseconds
    run_replay(records, [sink], threading.Event(), speed=None, restamp=True, duration=9.5)
    after = dt.datetime.now(dt.UTC)
    assert len(sink.messages) == 10
    for _, _, data in sink.messages:
        assert before <= parse_ts(json.loads(data)["timestamp"]) <= after


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


@contextlib.contextmanager
def _redis_server_on(port: int) -> Iterator[None]:
    """A real redis-server on ``port`` (127.0.0.1), no persistence, until the block ends."""
    proc = subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    probe = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    try:

        def answers() -> bool:
            with contextlib.suppress(redis.ConnectionError):
                return bool(probe.ping())
            return False

        assert wait_until(answers, 10), "redis-server did not start"
        yield
    finally:
        probe.close()
        proc.terminate()
        proc.wait(10)


def test_redis_sink_resumes_publishing_after_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="feed_generator.publisher")
    clock = [0.0]
    port = free_port()  # nothing listens yet: Redis is down
    client = publishing_client(f"redis://127.0.0.1:{port}/0")
    sink = RedisSink(client, backoff_base=1.0, clock=lambda: clock[0])
    batch: list[Encoded] = [(0.0, "market:underlying", '{"n":1}')] * 3
    sink.send(batch)
    clock[0] += 1.1
    sink.send(batch)
    assert (sink.failures, sink.dropped, sink.published) == (2, 6, 0)
    with _redis_server_on(port):
        listeners = [
            redis.Redis(host="127.0.0.1", port=port).pubsub()  # type: ignore[no-untyped-call]
            for _ in range(2)
        ]
        for listener in listeners:
            listener.subscribe("market:underlying")
            assert listener.get_message(timeout=5)["type"] == "subscribe"
        clock[0] += 2.1  # past the second, longer back-off
        sink.send(batch)
        assert (sink.failures, sink.dropped, sink.published, sink.receivers) == (0, 6, 3, 6)
        resumed = [r for r in caplog.records if r.getMessage() == "redis publishing resumed"]
        assert len(resumed) == 1
        assert resumed[0].after_failures == 2  # type: ignore[attr-defined]
        sink.send(batch)  # and keeps publishing, with no back-off left over
        assert sink.published == 6
        got = [listeners[0].get_message(timeout=5) for _ in range(6)]
        assert [m["data"] for m in got if m] == [b'{"n":1}'] * 6
        for listener in listeners:
            listener.close()
        sink.close()


def test_redis_sink_counts_a_refused_batch_and_stays_in_step(redis_url: str) -> None:
    # A user that may write only market:* keys and channels gets NOPERM for the batch with a
    # message on another channel: the batch fails as a whole (nothing of it written: the
    # script's keys are checked first), and the connection stays in step (the next batch's
    # counts are right).
    admin = redis.Redis.from_url(redis_url)
    admin.acl_setuser(
        "feed",
        enabled=True,
        nopass=True,
        commands=["+publish", "+evalsha", "+eval", "+xadd"],
        keys=["market:*"],
        reset_channels=True,
        channels=["market:*"],
    )
    client = redis.Redis.from_url(redis_url, username="feed", password="")
    listener = admin.pubsub()  # type: ignore[no-untyped-call]
    listener.subscribe("market:underlying")
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    sink = RedisSink(client, backoff_base=0.0)
    sink.send([
        (0.0, "market:underlying", "1"), (0.0, "other", "2"), (0.0, "market:underlying", "3"),
    ])  # fmt: skip
    assert (sink.failures, sink.dropped, sink.published) == (1, 3, 0)
    sink.send([(0.0, "market:underlying", "4"), (0.0, "market:option_quote", "5")])
    assert (sink.failures, sink.dropped, sink.published, sink.receivers) == (0, 3, 2, 1)
    got = [listener.get_message(timeout=5) for _ in range(1)]
    assert [m["data"] for m in got if m] == [b"4"]  # the refused batch: none of it
    assert [f[b"d"] for _, f in admin.xrange("market:underlying")] == [b"4"]
    assert [f[b"d"] for _, f in admin.xrange("market:option_quote")] == [b"5"]
    listener.close()
    sink.close()
    admin.acl_deluser("feed")
    admin.close()


@pytest.mark.timeout(30)
def test_a_stalled_redis_fails_a_publish_at_the_client_timeout_without_retrying(
    stalled_redis: StalledServer,
) -> None:
    client = publishing_client(stalled_redis.url)
    options = client.connection_pool.connection_kwargs
    # the loop, and a stop request, wait at most these for a stalled Redis
    assert options["socket_timeout"] == options["socket_connect_timeout"] == PUBLISH_TIMEOUT
    sink = RedisSink(client)
    sink.send([(0.0, "market:underlying", "{}")] * 3)
    assert (sink.failures, sink.dropped, sink.published) == (1, 3, 0)
    assert stalled_redis.connections == 1  # tried once: no retries nested in the back-off
    sink.close()


@pytest.mark.timeout(30)
def test_a_stop_is_noticed_while_redis_stalls(stalled_redis_url: str) -> None:
    # No back-off: every batch tries Redis again, the worst case for a stop request.
    sink = RedisSink(publishing_client(stalled_redis_url), backoff_base=0.0)
    stop = threading.Event()
    run = threading.Thread(target=run_market, args=(_market(), [sink], stop), daemon=True)
    run.start()
    assert wait_until(lambda: sink.failures >= 1, 10), "no publish was tried"
    stop.set()
    run.join(10)  # a publish in flight ends at the client's timeout (about a second)
    assert not run.is_alive(), "the run did not end after the stop while Redis stalled"
    assert sink.published == 0
    sink.close()
