"""A Pub/Sub collector for tests: every message of some channels, in arrival order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

from common.names import MARKET_CHANNELS
from common.redis_client import make_redis


class Collector:
    """Subscribes to ``channels`` (the market ones by default) and keeps every message in order.

    It also listens on a marker channel of its own: :meth:`stop` publishes a marker
    there, and since Redis delivers one subscriber's messages in the order they were
    published, the marker's arrival proves that everything published before it has
    arrived too.
    """

    def __init__(self, url: str, channels: Sequence[str] = MARKET_CHANNELS) -> None:
        self.client = make_redis(url, socket_timeout=None)
        self.pubsub = self.client.pubsub()
        self._marker = f"test:collector:{uuid.uuid4().hex}"
        self.pubsub.subscribe(*(str(c) for c in channels), self._marker)
        confirmed = 0
        while confirmed < len(channels) + 1:  # subscribed before anyone publishes
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
            if reply is None or reply["type"] != "message":
                continue
            channel = reply["channel"].decode()
            if channel == self._marker:
                return
            data = reply["data"].decode(errors="replace")  # hostile bytes included
            self.raw.append((channel, data))

    def stop(self, timeout: float = 30.0) -> list[tuple[str, str]]:
        """Wait until everything published so far has arrived (the marker); the messages."""
        self._stop.set()
        self.client.publish(self._marker, b"")
        self._thread.join(timeout=timeout)
        alive = self._thread.is_alive()
        self.pubsub.close()
        self.client.close()
        assert not alive, f"the collector's marker did not arrive within {timeout} s"
        return self.raw

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = threading.Event()
        for _ in range(int(timeout / 0.05)):
            if len(self.raw) >= count:
                return True
            deadline.wait(0.05)
        return False
