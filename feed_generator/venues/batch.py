"""The pending messages of a connector, handed to the feed's sinks in batches.

A connector appends each normalised ``market:*`` dict with :meth:`Batch.add`; its flush
loop calls :meth:`Batch.flush`, which encodes the messages (msgspec, compact JSON in the
order the dict was built), gives one batch to every sink and counts what went out per
product in the venue's :class:`~feed_generator.venues.health.FeedHealth`. A message that
cannot be encoded goes to ``on_reject`` with the reason and is never published; a sink
that fails (a full disk) is logged and does not stop the others.

Venue-independent: the Kite connector uses it (``venues/kite/connector.py``); the Deribit
connector's ``Outbox`` does the same for its own messages.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from common.names import Channel
from feed_generator.publisher import Encoded, Sink
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.rejects import Rejected

__all__ = ["Batch"]

log = logging.getLogger(__name__)
_ENCODE = msgspec.json.Encoder().encode


class Batch:
    """Messages waiting for the next flush; not thread-safe (one event loop adds and flushes)."""

    def __init__(self, health: FeedHealth, on_reject: Callable[[Rejected], None]) -> None:
        self.health, self.on_reject = health, on_reject
        self.pending: list[tuple[Channel, dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, channel: Channel, message: dict[str, Any]) -> None:
        self.pending.append((channel, message))

    def flush(self, sinks: Sequence[Sink], offset: float) -> int:
        """Encode and send everything pending; ``offset`` is the seconds since the venue
        started (a capture file's time axis). Returns the messages sent."""
        if not self.pending:
            return 0
        taken, self.pending = self.pending, []
        encoded: list[Encoded] = []
        per_product: Counter[str] = Counter()
        for channel, message in taken:
            try:
                data = _ENCODE(message)
            except (TypeError, ValueError, OverflowError) as exc:
                reason = f"unencodable {channel.value}: {exc}"
                self.on_reject(Rejected(reason, repr(message)[:200]))
                continue
            encoded.append((offset, channel.value, data.decode()))
            per_product[message["product"]] += 1
        for sink in sinks:
            try:
                sink.send(encoded)
            except Exception:  # one failing sink must not stop the others
                log.exception("venue batch not sent", extra={"size": len(encoded)})
        for product, count in per_product.items():
            self.health.on_message(product, count)
        return len(encoded)
