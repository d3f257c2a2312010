"""A Pub/Sub collector for tests: every message of some channels, in arrival order."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from common.names import MARKET_CHANNELS
from common.redis_client import make_redis


class Collector:
    """Subscribes to ``channels`` (the market ones by default) and keeps every message in order."""

    def __init__(self, url: str, channels: Sequence[str] = MARKET_CHANNELS) -> None:
        self.client = make_redis(url, socket_timeout=None)
        self.pubsub = self.client.pubsub()
        self.pubsub.subscribe(*(str(c) for c in channels))
        confirmed = 0
        while confirmed < len(channels):  # subscribed before anyone publishes
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
                    data = reply["data"].decode(errors="replace")  # hostile bytes included
                    self.raw.append((reply["channel"].decode(), data))
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
