"""Fixtures of the feed generator's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stalled import StalledServer, stalled_server


@pytest.fixture
def stalled_redis() -> Iterator[StalledServer]:
    """A stalled Redis: a server on 127.0.0.1 that accepts connections and never answers."""
    with stalled_server() as stalled:
        yield stalled


@pytest.fixture
def stalled_redis_url(stalled_redis: StalledServer) -> str:
    return stalled_redis.url
