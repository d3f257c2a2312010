"""The subscriber on the raw streams' consumer group, against a real redis-server: what it
enqueues (read back from the broker's ``enrich`` list), what it acknowledges, what it claims
from a reader that died, and the backlog it reports."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections import Counter
from collections.abc import Iterator

import msgpack
import orjson
import pytest
import redis
from prometheus_client import REGISTRY

from common.embedded_redis import free_port
from common.names import (
    ENRICH_QUEUE,
    MARKET_CHANNELS,
    SUBSCRIBER_GROUP,
    Channel,
    raw_stream_key,
    seq_last_key,
)
from common.rawfeed import publish_raw
from common.redis_client import make_redis, redis_db_url
from common.settings import Settings, load_settings
from tests.support.processes import wait_until
from worker_enricher.celery_config import BROKER_DB, TASKS
from worker_enricher.subscriber.backlog import StreamBacklogCollector, read_backlog
from worker_enricher.subscriber.service import Subscriber
from worker_enricher.subscriber.streams import RawStreams

pytestmark = pytest.mark.redis

TICKS = Channel.MARKET_UNDERLYING
CHAINS = Channel.MARKET_OPTION_CHAIN
CLAIM_IDLE_MS = 400


def _settings(redis_url: str, **pipeline: object) -> Settings:
    settings = load_settings()
    return dataclasses.replace(
        settings, redis_url=redis_url,
        pipeline=dataclasses.replace(settings.pipeline, claim_idle_ms=CLAIM_IDLE_MS,
                                     queue_high_water=1_000_000, broker_url=None, **pipeline),
    )  # fmt: skip


class Running:
    """A :class:`Subscriber` running its loop on a thread until :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self.subscriber = Subscriber(settings)
        self.subscriber.celery.conf.task_publish_retry = False
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.subscriber.run, args=(self._stop,))
        self.thread.start()
        assert self.subscriber.ready.wait(10)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.subscriber.close()


@pytest.fixture
def running(redis_url: str) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for run in started:
        if run.thread.is_alive():
            run.stop()


@pytest.fixture
def broker(redis_url: str) -> Iterator[redis.Redis]:
    client = make_redis(redis_db_url(redis_url, BROKER_DB))
    client.flushdb()
    yield client
    client.close()


def _messages(channel: Channel, seqs: range, product: str = "NIFTY") -> list[tuple[str, bytes]]:
    extra = {"expiry": "2026-12-31"} if channel is CHAINS else {}
    return [(channel.value, orjson.dumps({"product": product, "seq": s, **extra})) for s in seqs]


def _raws(item: bytes) -> list[bytes]:
    """The raw payloads of one queued batch task: msgpack bytes, as read from the stream."""
    message = json.loads(item)
    assert message["content-type"] == "application/x-msgpack"
    args, _, _ = msgpack.unpackb(base64.b64decode(message["body"]))
    assert all(type(raw) is bytes for raw in args[0])
    return list(args[0])


def _enqueued(broker: redis.Redis) -> list[tuple[str, str, int]]:
    """(task, product, seq) of every message in the tasks queued, oldest task first."""
    out = []
    for item in reversed(broker.lrange(ENRICH_QUEUE, 0, -1)):  # kombu LPUSHes
        message = json.loads(item)
        for raw in _raws(item):
            body = json.loads(raw)
            out.append((message["headers"]["task"], body["product"], body["seq"]))
    return out


def _total(name: str, channel: Channel) -> float:
    return REGISTRY.get_sample_value(name, {"channel": channel.value}) or 0.0


def _pending(client: redis.Redis, channel: Channel) -> int:
    return int(client.xpending(raw_stream_key(channel), SUBSCRIBER_GROUP)["pending"])


def test_every_entry_is_enqueued_once_then_acknowledged_and_trimmed(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    gaps = _total("optionsflow_subscriber_seq_gaps_total", TICKS)
    running.append(Running(_settings(redis_url)))
    sent = _messages(TICKS, range(1, 1001)) + _messages(CHAINS, range(1, 301))
    for start in range(0, len(sent), 100):
        publish_raw(redis_client, sent[start : start + 100], maxlen=100_000)
    expected = Counter([(TASKS[TICKS], "NIFTY", s) for s in range(1, 1001)]
                       + [(TASKS[CHAINS], "NIFTY", s) for s in range(1, 301)])  # fmt: skip
    assert wait_until(lambda: len(_enqueued(broker)) >= len(sent), 20)
    assert wait_until(lambda: _pending(redis_client, TICKS) == _pending(redis_client, CHAINS) == 0,
                      10)  # fmt: skip
    # Consumed entries are trimmed, within a second (whole nodes of 100: some are left).
    assert wait_until(lambda: redis_client.xlen(raw_stream_key(TICKS)) <= 100, 5)
    running[0].stop()

    assert Counter(_enqueued(broker)) == expected  # each exactly once
    assert _total("optionsflow_subscriber_seq_gaps_total", TICKS) == gaps
    assert redis_client.hgetall(seq_last_key(TICKS)) == {b"NIFTY": b"1000"}


def _batches(broker: redis.Redis) -> list[int]:
    """The number of messages in each task queued, oldest first."""
    return [len(_raws(item)) for item in reversed(broker.lrange(ENRICH_QUEUE, 0, -1))]


@pytest.fixture
def stepped(redis_url: str) -> Iterator[Subscriber]:
    """A subscriber whose loop the test turns one :meth:`Subscriber.cycle` at a time; its
    time bound (a minute) never falls due during a test, only the reads decide."""
    subscriber = Subscriber(_settings(redis_url, batch_size=100, batch_ms=60_000.0))
    subscriber.celery.conf.task_publish_retry = False
    subscriber.streams.ensure_groups()
    yield subscriber
    subscriber.close()


def test_a_batch_goes_out_as_soon_as_the_read_finds_nothing_more(
    redis_client: redis.Redis, broker: redis.Redis, stepped: Subscriber
) -> None:
    publish_raw(redis_client, _messages(TICKS, range(1, 4)), maxlen=100_000)
    stepped.cycle()  # reads the 3 ticks: fewer than it asked for, so nothing more waits
    assert stepped.drained
    assert _batches(broker) == [3]
    assert _enqueued(broker) == [(TASKS[TICKS], "NIFTY", s) for s in range(1, 4)]
    assert _pending(redis_client, TICKS) == 0  # enqueued and checked: acknowledged


def test_under_load_batches_grow_to_the_size_bound(
    redis_client: redis.Redis, broker: redis.Redis, stepped: Subscriber
) -> None:
    publish_raw(redis_client, _messages(TICKS, range(1, 251)), maxlen=100_000)
    stepped.cycle()  # a full read: more is waiting, the batch goes out at its size bound
    assert not stepped.drained
    assert _batches(broker) == [100]
    stepped.cycle()
    assert _batches(broker) == [100, 100]
    stepped.cycle()  # the last 50: the read comes back short, but 2 tasks wait for a worker
    assert stepped.drained
    assert stepped.queued == 2
    assert _batches(broker) == [100, 100]
    taken = [broker.rpop(ENRICH_QUEUE) for _ in range(2)]  # the workers take both
    stepped.cycle()  # nothing more to read, no task waiting: the 50 go out
    assert stepped.queued == 0
    assert _batches(broker) == [50]
    seqs = [json.loads(raw)["seq"] for item in [*taken, *broker.lrange(ENRICH_QUEUE, 0, -1)]
            for raw in _raws(item)]  # fmt: skip
    assert seqs == list(range(1, 251))


def test_a_third_party_publishing_with_multi_xadd_publish_exec_is_read(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    """The commands docs/PIPELINE.md gives a publisher in another language."""
    running.append(Running(_settings(redis_url)))
    for seq in (1, 2):
        message = orjson.dumps({"product": "ACME", "seq": seq})
        tx = redis_client.pipeline(transaction=True)  # MULTI … EXEC
        tx.execute_command("XADD", TICKS.value, "MAXLEN", "~", 2_000_000, "*", "d", message)
        tx.execute_command("PUBLISH", TICKS.value, message)
        tx.execute()
    assert wait_until(lambda: len(_enqueued(broker)) == 2, 10)
    running[0].stop()
    assert _enqueued(broker) == [(TASKS[TICKS], "ACME", 1), (TASKS[TICKS], "ACME", 2)]


def test_a_dead_readers_entries_are_claimed_and_the_runs_after_them_wait_for_their_check(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    RawStreams(redis_client, "setup", count=10, claim_idle_ms=CLAIM_IDLE_MS).ensure_groups()
    publish_raw(redis_client, _messages(TICKS, range(1, 51)), maxlen=100_000)
    dead = RawStreams(redis_client, "dead-reader", count=50, claim_idle_ms=CLAIM_IDLE_MS)
    assert len(dead.read(None)[0][1]) == 50  # read, never checked nor acknowledged
    claimed = _total("optionsflow_subscriber_claimed_total", TICKS)
    gaps = _total("optionsflow_subscriber_seq_gaps_total", TICKS)
    repeats = _total("optionsflow_subscriber_seq_repeats_total", TICKS)

    running.append(Running(_settings(redis_url)))
    publish_raw(redis_client, _messages(TICKS, range(51, 101)), maxlen=100_000)
    assert wait_until(lambda: len(_enqueued(broker)) >= 100, 20)
    assert wait_until(lambda: _pending(redis_client, TICKS) == 0, 10)
    running[0].stop()

    assert sorted(s for _, _, s in _enqueued(broker)) == list(range(1, 101))
    assert _total("optionsflow_subscriber_claimed_total", TICKS) - claimed == 50
    # Seqs 51.. were read first but checked after 1..50, once those were claimed: no gap.
    assert _total("optionsflow_subscriber_seq_gaps_total", TICKS) == gaps
    assert _total("optionsflow_subscriber_seq_repeats_total", TICKS) == repeats
    assert redis_client.hget(seq_last_key(TICKS), "NIFTY") == b"100"


def test_pending_entries_trimmed_before_the_claim_are_counted_and_acknowledged(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    RawStreams(redis_client, "setup", count=10, claim_idle_ms=CLAIM_IDLE_MS).ensure_groups()
    publish_raw(redis_client, _messages(CHAINS, range(1, 31)), maxlen=100_000)
    RawStreams(redis_client, "dead-reader", count=30, claim_idle_ms=CLAIM_IDLE_MS).read(None)
    redis_client.xtrim(raw_stream_key(CHAINS), maxlen=0, approximate=False)
    trimmed = _total("optionsflow_subscriber_trimmed_pending_total", CHAINS)

    running.append(Running(_settings(redis_url)))
    lost = "optionsflow_subscriber_trimmed_pending_total"
    assert wait_until(lambda: _total(lost, CHAINS) - trimmed == 30, 10)
    assert _pending(redis_client, CHAINS) == 0
    running[0].stop()
    assert _enqueued(broker) == []


def test_two_instances_share_the_entries_with_no_gap_and_no_double(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    gaps = _total("optionsflow_subscriber_seq_gaps_total", TICKS)
    repeats = _total("optionsflow_subscriber_seq_repeats_total", TICKS)
    running += [Running(_settings(redis_url, batch_size=20)) for _ in range(2)]
    sent = [m for s in range(1, 601) for p in ("NIFTY", "TCS") for m in
            _messages(TICKS, range(s, s + 1), product=p)]  # fmt: skip
    for start in range(0, len(sent), 20):
        publish_raw(redis_client, sent[start : start + 20], maxlen=100_000)
    assert wait_until(lambda: len(_enqueued(broker)) >= len(sent), 30)
    assert wait_until(lambda: _pending(redis_client, TICKS) == 0, 10)
    acked = [len(r.subscriber.holding[TICKS]) for r in running]
    for run in running:
        run.stop()

    assert acked == [0, 0]
    assert Counter((p, s) for _, p, s in _enqueued(broker)) == Counter(
        (p, s) for s in range(1, 601) for p in ("NIFTY", "TCS"))  # fmt: skip
    consumers = redis_client.xinfo_consumers(raw_stream_key(TICKS), SUBSCRIBER_GROUP)
    assert len(consumers) == 2  # both read: the group handed entries to each
    assert _total("optionsflow_subscriber_seq_gaps_total", TICKS) == gaps
    assert _total("optionsflow_subscriber_seq_repeats_total", TICKS) == repeats
    assert redis_client.hgetall(seq_last_key(TICKS)) == {b"NIFTY": b"600", b"TCS": b"600"}


def test_entries_waiting_for_a_slow_readers_check_are_touched_so_nobody_claims_them(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    """A slow (live) reader holds 1..10; the subscriber reads and enqueues 11..20 but cannot
    acknowledge them before 1..10 are checked. Neither set is claimable meanwhile; once the
    slow reader stops touching its entries, the subscriber claims them: each seq once."""
    RawStreams(redis_client, "setup", count=10, claim_idle_ms=CLAIM_IDLE_MS).ensure_groups()
    publish_raw(redis_client, _messages(TICKS, range(1, 11)), maxlen=100_000)
    slow = RawStreams(redis_client, "slow-reader", count=10, claim_idle_ms=CLAIM_IDLE_MS)
    held = [i for i, _ in slow.read(None)[0][1]]
    gaps = _total("optionsflow_subscriber_seq_gaps_total", TICKS)
    running.append(Running(_settings(redis_url)))
    publish_raw(redis_client, _messages(TICKS, range(11, 21)), maxlen=100_000)
    assert wait_until(lambda: len(_enqueued(broker)) == 10, 10)
    other = RawStreams(redis_client, "other", count=100, claim_idle_ms=CLAIM_IDLE_MS)
    for _ in range(3 * CLAIM_IDLE_MS // 50):  # past the idle time many times over
        slow.touch({TICKS: held})
        assert other.claim(TICKS)[1] == []
        threading.Event().wait(0.05)
    assert _pending(redis_client, TICKS) == 20
    assert len(running[0].subscriber.unchecked[TICKS]) == 10

    assert wait_until(lambda: len(_enqueued(broker)) == 20, 10)  # claimed once left idle
    assert wait_until(lambda: _pending(redis_client, TICKS) == 0, 10)
    running[0].stop()
    assert sorted(s for _, _, s in _enqueued(broker)) == list(range(1, 21))
    assert _total("optionsflow_subscriber_seq_gaps_total", TICKS) == gaps


def test_a_lost_group_is_created_again(
    redis_url: str, redis_client: redis.Redis, broker: redis.Redis, running: list[Running]
) -> None:
    running.append(Running(_settings(redis_url)))
    publish_raw(redis_client, _messages(TICKS, range(1, 11)), maxlen=100_000)
    assert wait_until(lambda: len(_enqueued(broker)) == 10, 10)
    redis_client.xgroup_destroy(raw_stream_key(TICKS), SUBSCRIBER_GROUP)
    assert wait_until(lambda: bool(redis_client.xinfo_groups(raw_stream_key(TICKS))), 10)
    publish_raw(redis_client, _messages(TICKS, range(11, 21)), maxlen=100_000)
    assert wait_until(lambda: len(_enqueued(broker)) == 20, 10)
    running[0].stop()
    assert [s for _, _, s in _enqueued(broker)] == list(range(1, 21))


def test_the_backlog_behind_the_group(redis_client: redis.Redis) -> None:
    assert read_backlog(redis_client) == {}  # no stream, no group: nothing reported
    streams = RawStreams(redis_client, "reader", count=5, claim_idle_ms=CLAIM_IDLE_MS)
    streams.ensure_groups()
    publish_raw(redis_client, _messages(TICKS, range(1, 21)), maxlen=100_000)
    ids = [i for i, _ in redis_client.xrange(raw_stream_key(TICKS))]
    streams.read(None)  # 5 delivered, none acknowledged
    seconds, micros = redis_client.time()
    now_ms = seconds * 1000 + micros // 1000

    backlog = read_backlog(redis_client)
    assert set(backlog) == set(MARKET_CHANNELS)  # the group exists on every stream
    ticks = backlog[TICKS]
    assert (ticks.length, ticks.pending) == (20, 5)
    newest, delivered = (int(ids[i].split(b"-")[0]) for i in (19, 4))
    assert ticks.lag_s == (newest - delivered) / 1000
    assert ticks.lag_entries in (None, 15)  # Redis 7 counts them; 6.2 cannot
    oldest = int(ids[0].split(b"-")[0])
    assert (now_ms - oldest) / 1000 <= ticks.oldest_pending_s <= (now_ms - oldest) / 1000 + 5
    assert backlog[CHAINS].length == backlog[CHAINS].pending == 0

    families = {f.name: f for f in StreamBacklogCollector(redis_client, 1234).collect()}
    pending = {s.labels["channel"]: s.value for s in
               families["optionsflow_subscriber_stream_pending"].samples}  # fmt: skip
    assert pending == {TICKS.value: 5.0, Channel.MARKET_OPTION_QUOTE.value: 0.0, CHAINS.value: 0.0}
    assert families["optionsflow_subscriber_stream_maxlen"].samples[0].value == 1234


def test_the_backlog_of_an_unreachable_redis_is_no_series() -> None:
    client = make_redis(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5, retries=0)
    assert list(StreamBacklogCollector(client, 1).collect()) == []
