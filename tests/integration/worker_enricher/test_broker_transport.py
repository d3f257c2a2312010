"""The broker transport's reliable fetch, against a real Redis: a task taken by a worker that
dies before kombu records it in ``unacked`` is not lost but returned to the queue."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from kombu import Connection, Exchange, Queue

from common.names import ENRICH_QUEUE
from common.settings import load_settings
from tests.support.processes import wait_until
from worker_enricher import broker_transport
from worker_enricher.broker_transport import QoS, Transport, inflight_key, inflight_seen_key
from worker_enricher.celery_config import BROKER_DB, make_celery

pytestmark = pytest.mark.redis

QUEUE = Queue(ENRICH_QUEUE, Exchange(ENRICH_QUEUE, "direct"), ENRICH_QUEUE)
GRACE_S = 1


class Killed(BaseException):
    """The worker dying at that instant (nothing below it runs, nothing catches it)."""


@pytest.fixture
def broker_url(redis_url: str, redis_client: redis.Redis) -> Iterator[str]:
    url = redis_url.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    broker = redis.Redis.from_url(url)
    broker.flushdb()
    yield url
    broker.flushdb()
    broker.close()


@pytest.fixture
def broker(broker_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(broker_url)
    yield client
    client.close()


def connect(url: str, **options: Any) -> Connection:
    return Connection(
        url,
        transport=Transport,
        transport_options={"priority_steps": [0], "visibility_timeout": GRACE_S, **options},
    )


def publish(url: str, bodies: list[int]) -> None:
    with connect(url) as conn, conn.Producer() as producer:
        for body in bodies:
            producer.publish({"batch": body}, exchange=QUEUE.exchange, routing_key=ENRICH_QUEUE,
                             declare=[QUEUE])  # fmt: skip


class Worker:
    """A consumer as a Celery worker holds one: acks late, one task at a time."""

    def __init__(self, url: str) -> None:
        self.conn = connect(url)
        self.channel = self.conn.default_channel
        self.got: list[Any] = []
        self.consumer = self.conn.Consumer([QUEUE], channel=self.channel, no_ack=False,
                                           callbacks=[self._on_message])  # fmt: skip
        self.consumer.consume()

    def _on_message(self, body: Any, message: Any) -> None:
        self.got.append((body["batch"], message))

    def take(self) -> Any:
        self.conn.drain_events(timeout=5)
        return self.got[-1]

    def close(self) -> None:
        self.conn.release()


def test_a_task_is_taken_into_unacked_and_off_the_inflight_list(
    broker_url: str, broker: redis.Redis
) -> None:
    publish(broker_url, [1, 2])
    worker = Worker(broker_url)
    try:
        assert worker.channel._reliable_queue([ENRICH_QUEUE]) == ENRICH_QUEUE
        body, message = worker.take()
        assert body == 1  # in publishing order
        assert broker.llen(ENRICH_QUEUE) == 1
        assert broker.llen(inflight_key(ENRICH_QUEUE)) == 0
        assert broker.hexists("unacked", message.delivery_tag)
        message.ack()
        assert broker.hlen("unacked") == 0
        assert worker.take()[0] == 2
    finally:
        worker.close()


def test_a_worker_killed_after_the_fetch_leaves_its_task_in_redis_and_it_is_restored(
    broker_url: str, broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kombu's own transport loses the task here: BRPOP has removed it from the queue and the
    ``unacked`` write never ran."""
    publish(broker_url, [1, 2, 3])
    dying = Worker(broker_url)

    def killed(*_: Any) -> None:
        raise Killed

    monkeypatch.setattr(QoS, "append", killed)
    with pytest.raises(Killed):
        dying.conn.drain_events(timeout=5)
    monkeypatch.undo()
    (entry,) = broker.lrange(inflight_key(ENRICH_QUEUE), 0, -1)
    assert json.loads(base64.b64decode(json.loads(entry)["body"])) == {"batch": 1}  # task 1
    assert broker.llen(ENRICH_QUEUE) == 2
    assert broker.hlen("unacked") == 0
    dying.conn.release()  # the connection gone, as with the process

    survivor = Worker(broker_url)
    try:
        # The first sweep only notes the entry (a live worker's would be gone by the next).
        assert survivor.channel.restore_inflight() == 0
        assert broker.hlen(inflight_seen_key(ENRICH_QUEUE)) == 1
        assert wait_until(lambda: survivor.channel.restore_inflight() == 1, 5 * GRACE_S)
        assert broker.llen(inflight_key(ENRICH_QUEUE)) == 0
        assert broker.hlen(inflight_seen_key(ENRICH_QUEUE)) == 0
        taken = []
        for _ in range(3):
            body, message = survivor.take()
            taken.append(body)
            message.ack()
        assert taken == [1, 2, 3]  # restored to the head of the queue, each task once
        assert broker.llen(ENRICH_QUEUE) == 0 == broker.hlen("unacked")
        assert survivor.channel.restore_inflight() == 0
    finally:
        survivor.close()


def test_the_periodic_restore_sweeps_the_inflight_list(
    broker_url: str, broker: redis.Redis
) -> None:
    """The event loop calls ``qos.restore_visible`` every ``unacked_restore_interval``."""
    broker.lpush(inflight_key(ENRICH_QUEUE), b'{"orphan": true}')
    worker = Worker(broker_url)
    try:
        sweep = worker.channel.qos.restore_visible
        sweep(interval=1)
        assert broker.llen(inflight_key(ENRICH_QUEUE)) == 1  # noted

        def restored() -> bool:
            sweep(interval=1)
            return bool(broker.llen(ENRICH_QUEUE) == 1)

        assert wait_until(restored, 5 * GRACE_S, 0.2)
        assert broker.lrange(ENRICH_QUEUE, 0, -1) == [b'{"orphan": true}']
    finally:
        worker.close()


def test_an_entry_seen_once_is_not_restored_and_one_gone_is_forgotten(
    broker_url: str, broker: redis.Redis
) -> None:
    worker = Worker(broker_url)
    try:
        broker.lpush(inflight_key(ENRICH_QUEUE), b"a")
        assert worker.channel.restore_inflight() == 0
        broker.lrem(inflight_key(ENRICH_QUEUE), 1, b"a")  # its worker moved it into unacked
        broker.lpush(inflight_key(ENRICH_QUEUE), b"b")
        assert worker.channel.restore_inflight() == 0
        assert broker.hlen(inflight_seen_key(ENRICH_QUEUE)) == 1  # only b is remembered
        assert broker.llen(ENRICH_QUEUE) == 0
    finally:
        worker.close()


def test_several_lists_fall_back_to_kombus_brpop(broker_url: str, broker: redis.Redis) -> None:
    """Priority sub-queues (kombu's default steps) are several lists: BLMOVE cannot serve
    them, so the channel fetches as kombu does, and still delivers."""
    conn = Connection(broker_url, transport=Transport,
                      transport_options={"visibility_timeout": GRACE_S})  # fmt: skip
    try:
        with conn.Producer() as producer:
            producer.publish({"batch": 7}, exchange=QUEUE.exchange, routing_key=ENRICH_QUEUE,
                             declare=[QUEUE])  # fmt: skip
        got: list[Any] = []
        channel = conn.default_channel
        assert channel._reliable_queue([ENRICH_QUEUE]) is None
        conn.Consumer([QUEUE], channel=channel, no_ack=False,
                      callbacks=[lambda body, m: got.append((body, m))]).consume()  # fmt: skip
        conn.drain_events(timeout=5)
        assert got[0][0] == {"batch": 7}
        assert broker.hexists("unacked", got[0][1].delivery_tag)
        assert not broker.exists(inflight_key(ENRICH_QUEUE))
        assert channel.restore_inflight() == 0
    finally:
        conn.release()


def test_the_pipeline_app_uses_the_reliable_fetch(redis_url: str) -> None:
    app = make_celery(replace(load_settings(), redis_url=redis_url))
    try:
        with app.connection_for_read() as conn:
            channel = conn.default_channel
            assert isinstance(conn.transport, Transport)
            assert isinstance(channel, broker_transport.Channel)
            assert channel._reliable_queue([ENRICH_QUEUE]) == ENRICH_QUEUE
    finally:
        app.close()
