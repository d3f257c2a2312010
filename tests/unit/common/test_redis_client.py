"""The Redis client factory: the broker's own database beside the cache's; bounded pools."""

from __future__ import annotations

import pytest
import redis

from common.redis_client import make_redis, redis_db_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6380/0", "redis://127.0.0.1:6380/1"),
        ("redis://127.0.0.1:6380", "redis://127.0.0.1:6380/1"),
        ("rediss://:secret@cache.example:6380/4?ssl_cert_reqs=none",
         "rediss://:secret@cache.example:6380/1?ssl_cert_reqs=none"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock?db=1"),
        ("unix:///run/redis.sock?db=0&password=x", "unix:///run/redis.sock?password=x&db=1"),
    ],
)  # fmt: skip
def test_redis_db_url_points_at_the_database(url: str, expected: str) -> None:
    assert redis_db_url(url, 1) == expected


@pytest.mark.redis
def test_a_bounded_client_waits_for_a_free_connection_then_refuses(redis_url: str) -> None:
    client = make_redis(redis_url, socket_timeout=1.5, max_connections=2, pool_wait_s=0.2)
    pool = client.connection_pool
    held = [pool.get_connection(), pool.get_connection()]
    assert held[0].socket_timeout == 1.5  # the client's options reach its connections
    with pytest.raises(redis.ConnectionError, match="No connection available"):
        client.ping()
    pool.release(held.pop())
    assert client.ping() is True
    pool.release(held.pop())
    client.close()


@pytest.mark.redis
def test_an_unbounded_client_opens_what_its_callers_need(redis_url: str) -> None:
    client = make_redis(redis_url)
    pool = client.connection_pool
    held = [pool.get_connection() for _ in range(5)]
    assert client.ping() is True
    for connection in held:
        pool.release(connection)
    client.close()
