"""The stream consumers on a real Redis: file then acknowledge, retry what a sink could
not file, re-read after a restart, claim what a gone consumer left, count trims."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
import redis

from common.logship import FIELD
from common.redis_client import make_redis
from logging_service.archive import Archive
from logging_service.collector import SinkError, StreamConsumer
from logging_service.index import LogIndex, Query
from logging_service.metrics import FILED, TRIMMED
from logging_service.records import Record, parse
from logging_service.sinks import ArchiveSink
from tests.support.processes import wait_until

STREAM = "logs"


class Recording:
    """A sink that keeps what it is given, failing the first ``fail`` batches."""

    name = "recording"

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.filed: list[Record] = []

    def file(self, records: Sequence[Record]) -> Sequence[str]:
        if self.fail:
            self.fail -= 1
            raise OSError("disk full")
        self.filed.extend(records)
        return [r.id for r in records]


def _add(client: redis.Redis, count: int, start: int = 0) -> list[str]:
    ids = []
    for n in range(start, start + count):
        line = orjson.dumps({"n": n, "service": "worker", "level": "INFO", "trace_id": f"t{n}"})
        ids.append(client.xadd(STREAM, {FIELD: line}).decode())
    return ids


def _consumer(url: str, sink: object, name: str = "c1", **options: int) -> StreamConsumer:
    return StreamConsumer(lambda: make_redis(url, retries=0), sink, name, block_ms=50, **options)  # type: ignore[arg-type]


def _pending(client: redis.Redis, group: str) -> int:
    return int(client.xpending(STREAM, group)["pending"])


def _counter(metric: object, label: str) -> float:
    return float(metric.labels(label)._value.get())  # type: ignore[attr-defined]


@pytest.mark.redis
def test_lines_written_before_the_group_existed_are_filed_and_acknowledged(
    redis_url: str, redis_client: redis.Redis
) -> None:
    ids = _add(redis_client, 5)
    sink = Recording()
    consumer = _consumer(redis_url, sink)
    filed_before = _counter(FILED, sink.name)
    while consumer.step():
        pass
    assert [r.id for r in sink.filed] == ids
    assert [orjson.loads(r.line)["n"] for r in sink.filed] == [0, 1, 2, 3, 4]
    assert _pending(redis_client, sink.name) == 0
    assert _counter(FILED, sink.name) - filed_before == 5


@pytest.mark.redis
def test_a_failed_batch_stays_pending_and_is_filed_on_the_retry(
    redis_url: str, redis_client: redis.Redis
) -> None:
    ids = _add(redis_client, 3)
    sink = Recording(fail=1)
    consumer = _consumer(redis_url, sink)
    with pytest.raises(SinkError, match="disk full"):
        consumer.step()
    assert _pending(redis_client, sink.name) == 3  # delivered, not acknowledged
    while consumer.step():
        pass
    assert [r.id for r in sink.filed] == ids
    assert _pending(redis_client, sink.name) == 0


@pytest.mark.redis
def test_a_restarted_consumer_reads_its_pending_entries_first(
    redis_url: str, redis_client: redis.Redis
) -> None:
    ids = _add(redis_client, 4)
    crashed = Recording(fail=1)
    with pytest.raises(SinkError):
        _consumer(redis_url, crashed).step()  # delivered, then the process "died"
    _add(redis_client, 2, start=4)
    restarted = Recording()
    consumer = _consumer(redis_url, restarted)  # same consumer name, new process
    while consumer.step():
        pass
    assert [r.id for r in restarted.filed][:4] == ids
    assert len(restarted.filed) == 6
    assert _pending(redis_client, restarted.name) == 0


@pytest.mark.redis
def test_entries_left_by_a_gone_consumer_are_claimed(
    redis_url: str, redis_client: redis.Redis
) -> None:
    ids = _add(redis_client, 3)
    with pytest.raises(SinkError):
        _consumer(redis_url, Recording(fail=1), name="gone").step()
    sink = Recording()
    consumer = _consumer(redis_url, sink, name="other", claim_idle_ms=1)
    assert wait_until(lambda: consumer.step() == 0 and len(sink.filed) == 3, timeout=5)
    assert sorted(r.id for r in sink.filed) == sorted(ids)
    assert _pending(redis_client, sink.name) == 0


@pytest.mark.redis
def test_pending_entries_trimmed_from_the_stream_are_counted_and_acknowledged(
    redis_url: str, redis_client: redis.Redis
) -> None:
    _add(redis_client, 3)
    with pytest.raises(SinkError):
        _consumer(redis_url, Recording(fail=1)).step()
    redis_client.xtrim(STREAM, maxlen=0)  # MAXLEN caught up with them
    sink = Recording()
    trimmed_before = _counter(TRIMMED, sink.name)
    consumer = _consumer(redis_url, sink)
    while consumer.step():
        pass
    assert sink.filed == []
    assert _counter(TRIMMED, sink.name) - trimmed_before == 3
    assert _pending(redis_client, sink.name) == 0


@pytest.mark.redis
def test_the_archive_sink_files_to_disk_and_index_and_survives_redelivery(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    ids = _add(redis_client, 10)
    index = LogIndex(tmp_path / "index.sqlite3")
    archive = Archive(tmp_path, max_bytes=1 << 20, backups=2)
    sink = ArchiveSink(archive, index, retention_s=3600)
    sink.file(_records(redis_client, ids[:4]))  # filed, then "crashed" before acknowledging
    stop = threading.Event()
    consumer = _consumer(redis_url, sink)
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    try:
        assert wait_until(lambda: index.count() == 10 and _pending(redis_client, "archive") == 0, 5)
    finally:
        stop.set()
        thread.join(5)
        archive.close()
    assert [orjson.loads(x)["n"] for x in index.search(Query(limit=100))] == list(range(10))
    assert index.search(Query(trace_id="t7")) == [_records(redis_client, [ids[7]])[0].line]
    archived = archive.path.read_text().splitlines()
    assert len(archived) == 14  # the archive keeps the redelivered lines; the index does not
    assert {orjson.loads(x)["n"] for x in archived} == set(range(10))
    index.close()


def _records(client: redis.Redis, ids: list[str]) -> list[Record]:
    entries = {i.decode(): f for i, f in client.xrange(STREAM)}
    return [parse(i, entries[i][FIELD.encode()].decode()) for i in ids]
