"""Fixtures of the feed generator's integration tests: a Pub/Sub collector on the test Redis."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from common.names import MARKET_CHANNELS, Channel
from common.redis_client import make_redis
from common.schemas import SCHEMAS


class Collector:
    """Subscribes to the three market channels and keeps every message, in arrival order."""

    def __init__(self, url: str) -> None:
        self.client = make_redis(url, socket_timeout=None)
        self.pubsub = self.client.pubsub()
        self.pubsub.subscribe(*(c.value for c in MARKET_CHANNELS))
        confirmed = 0
        while confirmed < len(MARKET_CHANNELS):  # subscribed before anyone publishes
            reply = self.pubsub.get_message(timeout=5.0)
            assert reply is not None, "no subscribe confirmation"
            confirmed += reply["type"] == "subscribe"
        self.raw: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="collector", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            reply = self.pubsub.get_message(timeout=0.2)
            if reply is not None:
                if reply["type"] == "message":
                    self.raw.append((reply["channel"].decode(), reply["data"].decode()))
            elif self._stop.is_set():
                return

    def stop(self) -> list[tuple[str, str]]:
        """Wait until everything published so far has arrived; the messages."""
        self._stop.set()
        self._thread.join(timeout=30.0)
        self.pubsub.close()
        self.client.close()
        return self.raw

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = threading.Event()
        for _ in range(int(timeout / 0.05)):
            if len(self.raw) >= count:
                return True
            deadline.wait(0.05)
        return False


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
        message = json.loads(data)
        errors = SCHEMAS[Channel(channel)].validate(message)
        assert errors == {}, (channel, errors)
        by_key[channel, message["product"]].append(message)
    for key, messages in by_key.items():
        seqs = [m["seq"] for m in messages]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"gap or reorder in {key}"
        assert 0 < seqs[0] < 2**52, key
    return by_key
