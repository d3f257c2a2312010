"""Redis client factory: one place for timeouts, retries and health checks."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry


def make_redis(
    url: str, *, decode_responses: bool = False, socket_timeout: float | None = 5.0
) -> redis.Redis:
    """A client for ``url`` that retries transient network errors with capped, jittered backoff.

    ``socket_timeout=None`` suits a blocking Pub/Sub listener.
    """
    return redis.Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        socket_connect_timeout=5.0,
        socket_keepalive=True,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=2.0), retries=5),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
