"""Redis client factory: one place for timeouts, retries and health checks."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry


def make_redis(
    url: str,
    *,
    decode_responses: bool = False,
    socket_timeout: float | None = 5.0,
    connect_timeout: float = 5.0,
    retries: int = 5,
    max_connections: int | None = None,
    pool_wait_s: float = 2.0,
) -> redis.Redis:
    """A client for ``url`` that retries transient network errors with capped, jittered backoff.

    ``socket_timeout=None`` suits a blocking Pub/Sub listener. ``retries=0`` suits a
    caller that handles failures itself: it also turns off health checks, which
    would retry on their own and nest inside the caller's back-off.

    ``max_connections`` bounds the pool: a caller waits up to ``pool_wait_s`` for a
    free connection, then gets ``redis.ConnectionError``. Without it the pool
    grows with the callers waiting at once. That suits threads, but not thousands
    of green threads.
    """
    retry = (
        Retry(ExponentialWithJitterBackoff(base=0.05, cap=2.0), retries=retries)
        if retries
        else Retry(NoBackoff(), 0)
    )
    options = {
        "decode_responses": decode_responses,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "socket_keepalive": True,
        "health_check_interval": 30 if retries else 0,
        "retry": retry,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError] if retries else [],
    }
    if max_connections is None:
        return redis.Redis.from_url(url, **options)
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_wait_s, **options
    )
    return redis.Redis.from_pool(pool)


def redis_db_url(url: str, db: int) -> str:
    """``url`` pointed at database ``db`` (the Celery broker lives in its own database)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("db="))
        return f"unix://{parts.path}?" + "&".join(filter(None, [query, f"db={db}"]))
    return urlunsplit(parts._replace(path=f"/{db}"))
