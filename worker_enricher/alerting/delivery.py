"""Triggers out of the outbox: the ``alert`` event, the history, the webhook.

The evaluation writes each trigger to the outbox stream in the same script that writes the
state deciding it, then hands it here at once: the event is emitted to the owner's room
through the Socket.IO Redis message queue, the history row stored (idempotent on
``trigger_id``), the webhook task queued, and the entry deleted. A worker that dies in
between leaves the entry in the outbox; :meth:`Delivery.sweep` (run by any worker every few
seconds) delivers entries older than ``STALE_MS`` again. Delivery is therefore at least
once: the dashboard ignores a ``trigger_id`` it has shown, the history skips it, webhook
receivers get ``X-OptionsFlow-Trigger`` to do the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import orjson
import redis

from common.names import ALERT_OUTBOX_STREAM, user_room
from store.alerts.port import AlertStore
from worker_enricher.alerting.observe import Trigger

log = logging.getLogger(__name__)

STALE_MS = 10_000
"""An outbox entry this old was left by a worker that died before delivering it."""
SWEEP_LOCK_KEY = "alerts:outbox:sweep"
SWEEP_LOCK_MS = 10_000
"""One sweep at a time across workers: the lock's lifetime (a dead sweeper frees it)."""
SWEEP_BATCH = 200
EVENT = "alert"

Entry = tuple[str, Trigger]
"""An outbox entry: its stream id and its trigger."""


class Emitter(Protocol):
    """What emits to a Socket.IO room from outside the servers (``socketio.RedisManager``
    with ``write_only=True``)."""

    def emit(
        self, event: str, data: Any, namespace: str | None = None, room: str | None = None
    ) -> Any: ...


def outbox_fields(trigger: Trigger) -> list[bytes]:
    """The outbox entry's field values, as the evaluation script writes them."""
    return [orjson.dumps(trigger.doc), b"1" if trigger.webhook else b"0"]


def _entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry | None:
    key = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    try:
        doc = orjson.loads(fields[b"trigger"])
        return key, Trigger(doc, fields.get(b"webhook") == b"1")
    except (KeyError, orjson.JSONDecodeError):
        log.error("unreadable outbox entry dropped", extra={"entry": key})
        return None


class Delivery:
    """Delivers triggers; ``webhook`` queues the webhook task of one trigger."""

    def __init__(
        self,
        client: redis.Redis,
        store: AlertStore,
        emitter: Emitter,
        webhook: Callable[[dict[str, Any]], None],
    ) -> None:
        self._redis, self._store, self._emitter, self._webhook = client, store, emitter, webhook

    def deliver(self, entries: Sequence[Entry]) -> None:
        """Emit, record, queue the webhooks of, then delete ``entries``."""
        if not entries:
            return
        for _, trigger in entries:
            self._emitter.emit(
                EVENT, trigger.doc, namespace="/", room=user_room(trigger.doc["owner"])
            )
        self._store.record_triggers([trigger.doc for _, trigger in entries])
        for _, trigger in entries:
            if trigger.webhook:
                self._webhook(trigger.doc)
        self._redis.xdel(ALERT_OUTBOX_STREAM, *(entry_id for entry_id, _ in entries))
        for _, trigger in entries:
            doc = trigger.doc
            log.info(
                "alert triggered",
                extra={"alert_id": doc["alert_id"], "trigger_id": doc["trigger_id"],
                       "product": doc["product"], "metric": doc["metric"],
                       "value": doc["value"], "threshold": doc["threshold"]},
            )  # fmt: skip

    def sweep(self) -> int:
        """Deliver the entries a dead worker left (older than ``STALE_MS``), one sweeper at a
        time across workers; how many."""
        if not self._redis.set(SWEEP_LOCK_KEY, b"1", nx=True, px=SWEEP_LOCK_MS):
            return 0
        seconds, micros = self._redis.time()
        newest = seconds * 1000 + micros // 1000 - STALE_MS
        raw = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            self._redis.xrange(ALERT_OUTBOX_STREAM, "-", str(newest), count=SWEEP_BATCH),
        )
        parsed = [(i, _entry(i, f)) for i, f in raw]
        entries = [e for _, e in parsed if e is not None]
        dropped = [i for i, e in parsed if e is None]
        if dropped:
            self._redis.xdel(ALERT_OUTBOX_STREAM, *dropped)
        if entries:
            log.warning("outbox entries delivered late", extra={"count": len(entries)})
            self.deliver(entries)
        return len(entries)
