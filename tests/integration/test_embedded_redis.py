"""The embedded Redis launcher against the real redis-server binary."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from common.embedded_redis import EmbeddedRedis, EmbeddedRedisError, find_redis_server, free_ports
from common.redis_client import make_redis


def test_starts_on_a_free_loopback_port_and_stops() -> None:
    server = EmbeddedRedis()
    url = server.start()
    port = server.port
    assert port is not None
    assert port != 6379
    assert url == f"redis://127.0.0.1:{port}/0"
    client = make_redis(url)
    assert client.ping()
    client.set("k", "v")
    assert client.get("k") == b"v"
    client.close()
    server.stop()
    server.stop()  # idempotent
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    with pytest.raises(EmbeddedRedisError):
        _ = server.url


def test_free_ports_are_distinct_and_bindable() -> None:
    """A test's services get one call's ports: never the same port twice (one after another,
    the OS may hand back a port it just gave)."""
    ports = free_ports(64)
    assert len(set(ports)) == 64
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", ports[0]))  # released when the call returned


def test_binary_is_found() -> None:
    assert find_redis_server().endswith("redis-server")


def test_bad_binary_gives_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(EmbeddedRedisError, match="did not start"):
        EmbeddedRedis(binary=str(fake), startup_timeout=2).start(attempts=1)


def test_session_fixture_server_is_flushed(redis_client: redis.Redis) -> None:
    assert redis_client.dbsize() == 0
