"""The Celery worker survives its Redis broker being killed -9 and restarted.

First Celery's own teardown of a lost connection, run against a killed Redis exactly as a
worker under load meets it (``worker_enricher/kombu_close_patch.py`` says why it died);
then a real worker, as ``make up`` runs it, with tasks flowing through a kill -9 and a
restart of Redis on the same port with its append-only file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import redis
from celery.worker.consumer.consumer import Consumer
from kombu import Connection, Exchange, Queue
from kombu.transport import redis as kombu_redis

from common.devstack import processes
from common.embedded_redis import EmbeddedRedis
from common.names import ENRICH_QUEUE
from common.settings import load_settings
from store import open_store
from tests.support.chains import EXPIRY, build_chain
from tests.support.processes import ProcessSet, wait_until
from worker_enricher import kombu_close_patch
from worker_enricher.celery_config import BROKER_DB, make_celery

pytestmark = pytest.mark.redis


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own (it gets killed), persisted like make up's."""
    server = EmbeddedRedis(data_dir=tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker_connection(broker: EmbeddedRedis) -> Iterator[tuple[Connection, Any]]:
    """A broker connection in the state a busy worker's is in between two polls: its task
    channel holds an unacknowledged batch and has a BRPOP in flight, and a second channel
    consumes an auto-delete fanout queue (Celery's remote control)."""
    assert broker.port is not None
    conn = Connection(f"redis://127.0.0.1:{broker.port}/{BROKER_DB}")
    queue = Queue(ENRICH_QUEUE, Exchange(ENRICH_QUEUE, "direct"), ENRICH_QUEUE)
    with conn.Producer() as producer:
        for i in range(3):
            producer.publish({"batch": i}, exchange=queue.exchange, routing_key=ENRICH_QUEUE,
                             declare=[queue])  # fmt: skip
    tasks = conn.default_channel
    conn.Consumer([queue], channel=tasks, callbacks=[lambda *_: None], no_ack=False).consume()
    conn.drain_events(timeout=5)
    assert len(tasks.qos._delivered) == 1  # taken, not acknowledged (acks_late)
    control = conn.channel()
    pidbox = Queue("worker.pidbox", Exchange("pidbox", "fanout"), auto_delete=True)
    conn.Consumer([pidbox], channel=control, callbacks=[lambda *_: None], no_ack=True).consume()
    tasks._brpop_start()  # what the event loop sends while it waits for the next batch
    yield conn, tasks
    conn.release()


def celery_teardown(connection: Connection) -> None:
    """What a Celery worker runs when its broker connection is lost
    (``Consumer.on_connection_error_after_connected``), on a consumer with no task running."""
    conf = SimpleNamespace(
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_enable_prefetch_count_reduction=False,
    )
    consumer = SimpleNamespace(connection=connection, app=SimpleNamespace(conf=conf))
    Consumer.on_connection_error_after_connected(consumer, redis.ConnectionError("lost"))


def persisted(server: EmbeddedRedis, text: bytes) -> bool:
    assert server.data_dir is not None
    aof = server.data_dir / "appendonly.aof"
    return aof.exists() and text in aof.read_bytes()


def test_celery_tears_a_lost_connection_down_with_the_patch(
    broker: EmbeddedRedis, worker_connection: tuple[Connection, Any]
) -> None:
    kombu_close_patch.apply()
    conn, tasks = worker_connection
    assert wait_until(lambda: persisted(broker, b"unacked"), 10)
    broker.kill()

    celery_teardown(conn)  # raised AttributeError('...hostname') and ended the worker

    assert tasks.closed
    broker.restart()  # the batch taken before the crash is still owed, not lost
    client = redis.Redis.from_url(broker.url.replace("/0", f"/{BROKER_DB}"))
    try:
        assert client.hlen("unacked") == 1  # restored to the queue after the visibility timeout
    finally:
        client.close()


def test_the_celery_app_installs_the_patch(broker: EmbeddedRedis) -> None:
    app = make_celery(replace(load_settings(), redis_url=broker.url))
    assert kombu_close_patch.applied()
    app.close()


def test_without_the_patch_the_teardown_dies_on_the_detached_transport(
    broker: EmbeddedRedis, worker_connection: tuple[Connection, Any], monkeypatch: Any
) -> None:
    """kombu 5.7.0 and celery 5.7.0 as released. When this fails after an upgrade, they fix
    it themselves: remove ``worker_enricher/kombu_close_patch.py``."""
    monkeypatch.setattr(kombu_redis.Channel, "close", kombu_close_patch.ORIGINAL_CLOSE)
    conn, _ = worker_connection
    broker.kill()
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'hostname'"):
        celery_teardown(conn)


# -- a real worker ---------------------------------------------------------------------


class Load:
    """Sends one chain task after another (seq 1, 2, …) until stopped; sends that fail
    while Redis is down are counted and the next seq is tried."""

    def __init__(self, broker_url: str) -> None:
        settings = load_settings()
        self.app = make_celery(replace(settings, redis_url=broker_url))
        self.sent: list[int] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = 0
        while not self._stop.is_set():
            seq += 1
            raw = orjson.dumps(build_chain(5, seq=seq)).decode()
            try:
                self.app.send_task("optionsflow.enrich.enrich_chains", args=[[raw]])
            except Exception:  # OperationalError while Redis is down
                self.failed += 1
                self._stop.wait(0.2)
                continue
            self.sent.append(seq)
            self._stop.wait(0.01)  # about 100 batches a second

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self.app.close()


def first_error(log: str) -> str:
    """The worker's log from its first critical line (the cause, not the shutdown after it)."""
    start = log.find('"CRITICAL"')
    return log[max(start, 0) :][:4000] if start >= 0 else log[-3000:]


def test_a_worker_under_load_survives_redis_killed_and_restarted(
    broker: EmbeddedRedis, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(
        REDIS_URL=broker.url, STORE_URL=store_url, VAR_DIR=str(tmp_path / "var"),
        LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", CELERY_VISIBILITY_TIMEOUT_S="10",
    )  # fmt: skip
    procs = ProcessSet(tmp_path, env)
    store = open_store(store_url)
    try:
        argv = processes(replace(load_settings(), var_dir=tmp_path / "var"))["worker"]
        worker = procs.start("worker", argv, ready=" ready.")  # as make up runs it
        with Load(broker.url) as load:

            def stored_past(seq: int) -> bool:
                return any(s > seq for s in store.chain_seqs("NIFTY", EXPIRY))

            assert wait_until(lambda: stored_past(20), 60), first_error(procs.log("worker"))
            broker.kill()
            assert wait_until(lambda: load.failed > 0, 30)  # sends fail: Redis is gone
            broker.restart()  # same port, its append-only file read back
            after = max(load.sent)  # every task sent from here went to the restarted Redis
            assert wait_until(lambda: stored_past(after + 20), 60), first_error(procs.log("worker"))

        assert worker.poll() is None, first_error(procs.log("worker"))  # the same process
        log = procs.log("worker")
        assert "Connection to broker lost" in log
        assert "Unrecoverable error" not in log
    finally:
        store.close()
        procs.close()
