"""The embedded Redis with a data directory (``make up``'s ``var/redis``): an append-only file,
fsynced every second, that a restart after a crash, or a new run, reads back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from common.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from common.redis_client import make_redis
from tests.support.processes import wait_until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    embedded = EmbeddedRedis(data_dir=tmp_path / "redis")
    embedded.start()
    yield embedded
    embedded.stop()


def server_time(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return float(seconds) + micros / 1e6


def test_the_data_dir_holds_an_append_only_file_fsynced_every_second(
    server: EmbeddedRedis, tmp_path: Path
) -> None:
    client = make_redis(server.url)
    try:
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("dir") == {"dir": str(tmp_path / "redis")}
        assert client.info("persistence")["aof_enabled"] == 1
    finally:
        client.close()


def test_a_key_written_before_a_kill_9_is_there_after_the_restart(
    server: EmbeddedRedis, tmp_path: Path
) -> None:
    port = server.port
    client = make_redis(server.url)
    client.set("survivor", "written before the crash")
    written_at = server_time(client)
    aof = tmp_path / "redis" / "appendonly.aof"
    assert wait_until(lambda: aof.exists() and b"survivor" in aof.read_bytes(), 10)
    # Past the everysec window, as measured by the server: an fsync has run since the write.
    assert wait_until(lambda: server_time(client) - written_at > 1.0, 10)
    client.close()

    server.kill()  # SIGKILL: no shutdown, no final write
    with pytest.raises(redis.ConnectionError):
        make_redis(server.url).ping()
    url = server.restart()

    assert server.port == port  # the same address: every process's REDIS_URL still holds
    client = make_redis(url)
    try:
        assert client.get("survivor") == b"written before the crash"
    finally:
        client.close()


def test_a_new_run_on_the_same_directory_finds_the_data(tmp_path: Path) -> None:
    with EmbeddedRedis(data_dir=tmp_path / "redis") as first:
        client = make_redis(first.url)
        client.hset("latest-order", "k", "1:2")
        client.close()
    # make up stopped (SIGTERM: Redis writes its file out), then started again on a new port
    with EmbeddedRedis(data_dir=tmp_path / "redis") as second:
        client = make_redis(second.url)
        assert client.hgetall("latest-order") == {b"k": b"1:2"}
        client.close()


def test_one_directory_serves_one_server_at_a_time(server: EmbeddedRedis, tmp_path: Path) -> None:
    with pytest.raises(EmbeddedRedisError, match="in use by another Redis"):
        EmbeddedRedis(data_dir=tmp_path / "redis").start()
    assert make_redis(server.url).ping()  # the first one is unharmed


def test_without_a_data_dir_nothing_is_persisted() -> None:
    with EmbeddedRedis() as server:
        client = make_redis(server.url)
        assert client.config_get("appendonly") == {"appendonly": "no"}
        client.set("k", "v")
        server.kill()
        server.restart()
        client.close()
        client = make_redis(server.url)
        assert client.get("k") is None
        client.close()
