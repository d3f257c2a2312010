"""Fixtures of the feed generator's integration tests: a Pub/Sub collector on the test Redis."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from common.messages import decode_message
from common.names import Channel
from tests.support.pubsub import Collector


@pytest.fixture
def collector(redis_url: str) -> Iterator[Collector]:
    c = Collector(redis_url)
    yield c
    if not c._stop.is_set():
        c.stop()


Checker = Callable[[list[tuple[str, str]]], dict[tuple[str, str], list[dict[str, Any]]]]


@pytest.fixture
def check_stream() -> Checker:
    """The checker of a received stream (a fixture, as test modules cannot import conftest)."""
    return _check_stream


def _check_stream(raw: list[tuple[str, str]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Assert every message validates and ``seq`` rises by one per (channel, product).

    Each run starts its counters at its start instant in microseconds, far below 2**53.
    """
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for channel, data in raw:
        decode_message(Channel(channel), data)  # raises naming the field at fault
        message = json.loads(data)
        by_key[channel, message["product"]].append(message)
    for key, messages in by_key.items():
        seqs = [m["seq"] for m in messages]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"gap or reorder in {key}"
        assert 0 < seqs[0] < 2**52, key
    return by_key
