"""Publishes each venue's feed health to Redis for the other services (:mod:`common.feeds`).

Every ``interval_s`` (seconds) each venue's :meth:`FeedHealth.snapshot` is written
as JSON to ``feed:health:{venue}``, to expire at ``D`` = Redis's now + ``ttl_s``,
and the venue is scored in ``feed:venues`` with that same ``D``, in one script so
the key and its index never disagree (the pattern of ``latest:*``). A last snapshot
is written when the run stops, so a clean stop shows ``down`` rather than fading out.
A Redis failure is logged and retried at the next period: health publishing never
stops the feed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

import msgspec
import redis
from redis.commands.core import Script

from common.feeds import HEALTH_INTERVAL_S, HEALTH_TTL_S
from common.names import FEED_VENUES_KEY, feed_health_key
from feed_generator.venues.health import FeedHealth

__all__ = ["HealthPublisher", "publishing_health"]

log = logging.getLogger(__name__)

WRITE = """
-- KEYS: the venue's health key, the venues index. ARGV: snapshot JSON, ttl_ms, venue.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = now + tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', deadline)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)  -- venues whose entry expired
redis.call('ZADD', KEYS[2], deadline, ARGV[3])
-- the index lives as long as its longest-lived member
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], last[2])
return 1
"""

_encoder = msgspec.json.Encoder()


class HealthPublisher:
    """Writes the snapshots of ``healths`` through ``client`` every ``interval_s`` seconds;
    each lives ``ttl_s`` seconds."""

    def __init__(
        self,
        client: redis.Redis,
        healths: Sequence[FeedHealth],
        *,
        interval_s: float = HEALTH_INTERVAL_S,
        ttl_s: float = HEALTH_TTL_S,
    ) -> None:
        if interval_s <= 0 or ttl_s <= interval_s:
            raise ValueError("need 0 < interval_s < ttl_s")
        self.client = client
        self.healths = tuple(healths)
        self.interval_s, self.ttl_s = interval_s, ttl_s
        self._write: Script = client.register_script(WRITE)
        self.published = 0
        self.failures = 0

    def publish_once(self) -> bool:
        """Write every venue's snapshot now, in one round trip; False when Redis failed."""
        ttl_ms = round(self.ttl_s * 1000)
        pipe = self.client.pipeline(transaction=False)
        for health in self.healths:
            payload = _encoder.encode(health.snapshot())
            keys = [feed_health_key(health.venue), FEED_VENUES_KEY]
            self._write(keys=keys, args=[payload, ttl_ms, health.venue], client=pipe)
        try:
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self.failures += 1
            log.warning("feed health not published", extra={"error": str(exc)})
            return False
        self.published += 1
        return True

    def run(self, stop: threading.Event) -> None:
        """Publish now and every ``interval_s`` until ``stop``, then once more."""
        while True:
            self.publish_once()
            if stop.wait(self.interval_s):
                break
        self.publish_once()


@contextlib.contextmanager
def publishing_health(publisher: HealthPublisher) -> Iterator[None]:
    """Run ``publisher`` on a thread for the ``with`` block; on leaving, it publishes a last
    snapshot (the venues' final state) and the thread is joined."""
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,), name="feed-health", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
