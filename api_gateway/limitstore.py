"""A ``limits`` Redis storage whose fixed-window hit also reads its window, so the
``X-RateLimit-*`` headers written after it cost no more Redis round trips.

Flask-Limiter writes the headers of the limit a request just hit from
``get_window_stats``: a GET of the counter and a TTL, two round trips after the
counting script. Here the counting script returns the new count and the
window's remaining milliseconds together, and the storage remembers both for
the calling thread; the ``get`` and ``get_expiry`` of the same request answer
from that memo. It holds the state right after this request's own hit, which
is what the headers describe. :meth:`WindowMemoRedisStorage.forget` clears it
at the start of every request, so nothing carries over to the next one; a key
not in the memo is read from Redis as usual.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from limits.storage import RedisStorage

SCHEME_PREFIX = "optionsflow+"

# A counter without an expiry (a crash between INCRBY and EXPIRE in an older
# client) gets one here too, so it cannot block its key forever.
_INCR_WINDOW = b"""
local current = redis.call('incrby', KEYS[1], ARGV[2])
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then
    redis.call('pexpire', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {current, ttl}
"""


class WindowMemoRedisStorage(RedisStorage):
    """``optionsflow+redis://…`` (or ``+rediss``, ``+redis+unix``): RedisStorage with the memo."""

    STORAGE_SCHEME = [SCHEME_PREFIX + s for s in ("redis", "rediss", "redis+unix")]  # noqa: RUF012 (limits declares it a list)

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)
        self._memo = threading.local()
        self._incr_window = self.get_connection().register_script(_INCR_WINDOW)

    def _windows(self) -> dict[str, tuple[int, float]]:
        windows: dict[str, tuple[int, float]] | None = getattr(self._memo, "windows", None)
        if windows is None:
            windows = self._memo.windows = {}
        return windows

    def forget(self) -> None:
        """Drop this thread's memo (call at the start of each request)."""
        self._memo.windows = {}

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter of ``key``; a new window lasts ``expiry`` seconds."""
        count, ttl_ms = self._incr_window([self.prefixed_key(key)], [int(expiry * 1000), amount])
        self._windows()[key] = (int(count), time.time() + int(ttl_ms) / 1000)
        return int(count)

    def get(self, key: str) -> int:
        memo = self._windows().get(key)
        return memo[0] if memo is not None else super().get(key)

    def get_expiry(self, key: str) -> float:
        memo = self._windows().get(key)
        return memo[1] if memo is not None else super().get_expiry(key)

    def clear(self, key: str) -> None:
        self._windows().pop(key, None)
        super().clear(key)
