"""Which expiries have a ``latest:chain`` entry: the product listing's stand-in while the
store is down.

Finding them takes a SCAN over the whole keyspace, so one scan, of every
product at once, serves a process for ``ttl_s`` seconds: requests for any
product, known or not, cost a dictionary lookup until then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis

from common.names import latest_chain_key
from common.timestamps import parse_expiry

SCAN_TTL_S = 5.0
"""How long one scan's answer is used (seconds)."""
_SCAN_COUNT = 1000


class LatestExpiries:
    """Product → sorted expiries of the ``latest:chain:*`` keys in ``client``'s Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl_s: float = SCAN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._found: dict[str, list[str]] = {}
        self._until = float("-inf")

    def of(self, product: str) -> list[str]:
        """The expiries of ``product`` as of a scan at most ``ttl_s`` old (RedisError goes on)."""
        with self._lock:  # one scan at a time; the others wait for its answer
            if self._clock() >= self._until:
                self._found = self._scan()
                self._until = self._clock() + self._ttl_s
            return list(self._found.get(product, ()))

    def _scan(self) -> dict[str, list[str]]:
        prefix = latest_chain_key("", "")[:-1]  # "latest:chain:"
        found: dict[str, list[str]] = {}
        for raw in self._redis.scan_iter(match=prefix + "*", count=_SCAN_COUNT):
            product, _, expiry = raw.decode(errors="replace")[len(prefix) :].rpartition(":")
            try:
                parse_expiry(expiry)
            except ValueError:
                continue
            if product:
                found.setdefault(product, []).append(expiry)
        return {product: sorted(expiries) for product, expiries in found.items()}
