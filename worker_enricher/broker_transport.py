# mypy: disallow-untyped-calls=False
# (kombu's transport classes are not annotated; this module extends them)
"""The Celery broker transport: kombu's Redis transport with a fetch that a kill cannot lose.

kombu's Redis transport takes a task with ``BRPOP`` and only then, in a second round trip,
writes it into its ``unacked`` hash, from which a dead worker's tasks are restored after the
visibility timeout. A worker killed between the two (or stopped with the ``BRPOP`` reply
unread in its socket, celery/celery#4354) loses the task: it is in neither place. At a few
hundred batches a second a ``kill -9`` lands there often enough to lose a batch now and
then (seen in CI: the killed-worker pipeline test, 1 run in ~20).

This transport takes a task with ``BLMOVE`` from the queue onto the queue's *in-flight*
list (``unacked_inflight:<queue>``), atomically, so it is always somewhere in Redis, and
moves it from there into the ``unacked`` hash in the same ``MULTI`` that writes the hash
(:meth:`QoS.append`). A live worker keeps an entry on the in-flight list for microseconds.
The periodic restore sweep (every ``unacked_restore_interval``) runs :data:`RESTORE_INFLIGHT`:
an entry it finds on the list in two sweeps at least ``visibility_timeout`` apart belonged
to a worker that died, or lost the reply with its connection, and goes back to the head of
the queue. The guarantee becomes at least once: a worker frozen (not dead) for longer than
the visibility timeout inside that microsecond window would have its batch run twice, which
the store's per-chain idempotence absorbs, exactly as for the ``unacked`` hash itself.

``BLMOVE`` takes one list, so the reliable fetch serves a channel that consumes one Redis
list: one queue and a single priority step (``priority_steps: [0]`` in the transport
options, which :func:`worker_enricher.celery_config.celery_config` sets), no global key
prefix. Any other channel falls back to kombu's ``BRPOP`` unchanged. Needs Redis >= 6.2.
Everything else (publishing, acks, the ``unacked`` restore, the Pub/Sub fanout) is kombu's.
"""

from __future__ import annotations

import logging
from queue import Empty
from time import monotonic, time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from redis.commands.core import Script

logger = logging.getLogger(__name__)

INFLIGHT_PREFIX = "unacked_inflight:"
"""The in-flight list of a queue is ``unacked_inflight:<queue>``; its sweep's memory of when
it first saw each entry is ``unacked_inflight_seen:<queue>``."""

RESTORE_INFLIGHT = """
-- KEYS[1] the in-flight list, KEYS[2] its first-seen hash, KEYS[3] the queue; ARGV[1] the
-- grace in seconds. Entries seen in an earlier sweep at least the grace ago go back to the
-- head of the queue (the end BLMOVE takes from); the hash keeps only entries still listed.
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local grace = tonumber(ARGV[1])
local seen = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do seen[flat[i]] = tonumber(flat[i + 1]) end
redis.call('DEL', KEYS[2])
local restored = 0
for _, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local id = redis.sha1hex(entry)
  local first = seen[id]
  if first and now - first >= grace then
    if redis.call('LREM', KEYS[1], 1, entry) == 1 then
      redis.call('RPUSH', KEYS[3], entry)
      restored = restored + 1
    end
  else
    redis.call('HSET', KEYS[2], id, tostring(first or now))
  end
end
return restored
"""


def inflight_key(queue: str) -> str:
    return f"{INFLIGHT_PREFIX}{queue}"


def inflight_seen_key(queue: str) -> str:
    return f"unacked_inflight_seen:{queue}"


class QoS(kombu_redis.QoS):
    """kombu's QoS; a task taken onto an in-flight list leaves it in the ``MULTI`` that
    writes it into ``unacked``."""

    def append(self, message: Any, delivery_tag: str) -> None:
        taken = self.channel.take_inflight()
        if taken is None:
            super().append(message, delivery_tag)
            return
        key, entry = taken
        delivery = message.delivery_info
        with self.pipe_or_acquire() as pipe:  # a transaction: MULTI ... EXEC
            pipe.zadd(self.unacked_index_key, {delivery_tag: time()}).hset(
                self.unacked_key,
                delivery_tag,
                dumps([message._raw, delivery["exchange"], delivery["routing_key"]]),
            ).lrem(key, 1, entry).execute()
        virtual.QoS.append(self, message, delivery_tag)

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        super().restore_visible(start, num, interval)
        self.channel.restore_inflight()


class Channel(kombu_redis.Channel):
    QoS = QoS

    _fetch_queue: str | None = None
    """The queue of the ``BLMOVE`` in flight; ``None`` when the fetch in flight (if any) is
    kombu's ``BRPOP``."""
    _inflight: tuple[str, bytes] | None = None
    """The in-flight list and entry of the task being delivered, until ``unacked`` has it."""
    _restore_script: Script | None = None

    def _reliable_queue(self, queues: list[str]) -> str | None:
        """The one list these queues read, if the reliable fetch can serve them."""
        keys = [self._q_for_pri(queue, pri) for pri in self.priority_steps for queue in queues]
        if len(keys) != 1 or self.global_keyprefix:
            return None
        return str(keys[0])

    def _brpop_start(self, timeout: float | None = None) -> None:
        if timeout is None:
            timeout = self.brpop_timeout
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        queue = self._reliable_queue(queues)
        if queue is None:
            keys = [self._q_for_pri(q, pri) for pri in self.priority_steps for q in queues]
            command: list[Any] = ["BRPOP", *keys, timeout or 0]
            if self.global_keyprefix:
                command = self.client._prefix_args(command)
        else:
            command = ["BLMOVE", queue, inflight_key(queue), "RIGHT", "LEFT", timeout or 0]
        self._fetch_queue = queue
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()  # type: ignore[assignment]  # kombu: None
        self.client.connection.send_command(*command)

    def _brpop_read(self, **options: Any) -> bool:
        queue = self._fetch_queue
        if queue is None:
            return bool(super()._brpop_read(**options))
        try:
            try:
                entry = self.client.parse_response(self.client.connection, "BLMOVE", **options)
            except self.connection_errors:
                self.client.connection.disconnect()  # reconnects on the next fetch
                raise
            if entry is None:
                raise Empty()
            self._queue_cycle.rotate(queue)
            self._inflight = (inflight_key(queue), entry)
            self.connection._deliver(loads(bytes_to_str(entry)), queue)
            if self._inflight is not None:
                # Delivered without an ``unacked`` entry (a consumer without acks, or a
                # message rejected back to the queue): nothing to restore it from.
                self._inflight = None
                with self.conn_or_acquire() as client:
                    client.lrem(inflight_key(queue), 1, entry)
            return True
        finally:
            # A delivery that raised leaves its entry listed: the sweep restores it.
            self._inflight = None
            self._in_poll = None  # type: ignore[assignment]  # kombu: None or a connection
            self._flush_brpop_reauth()

    def take_inflight(self) -> tuple[str, bytes] | None:
        taken, self._inflight = self._inflight, None
        return taken

    def restore_inflight(self) -> int:
        """Return to their queues the tasks left on in-flight lists by workers that died."""
        queues = [q for q in self.active_queues if self._reliable_queue([q]) is not None]
        if not queues:
            return 0
        restored = 0
        with self.conn_or_acquire() as client:
            if self._restore_script is None:
                self._restore_script = client.register_script(RESTORE_INFLIGHT)
            for queue in queues:
                keys = [inflight_key(queue), inflight_seen_key(queue), queue]
                n = int(self._restore_script(keys, [self.visibility_timeout], client=client))
                if n:
                    logger.warning(
                        "restored tasks a dead worker had taken", extra={"queue": queue, "n": n}
                    )
                restored += n
        return restored


class Transport(kombu_redis.Transport):
    """``broker_transport`` of the pipeline's Celery app (``redis://`` URLs)."""

    Channel = Channel
