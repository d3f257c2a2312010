"""The Redis client factory's URL helper: the broker's own database beside the cache's."""

from __future__ import annotations

import pytest

from common.redis_client import redis_db_url


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
