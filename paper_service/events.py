"""What a placement or a cancel tells the rest of the platform.

The owner's ``order_update`` (each order), ``position_update`` (each position its fills
touched) and ``account_update`` (the wallet of each currency filled in) go to the
Socket.IO message queue (``common.queue_emitter.QueueEmitter``, as the workers send theirs),
amounts as decimal strings (``msgspec.to_builtins``). When a LIMIT order rests or is
cancelled, ``paper:version:{product}`` gets a new random token, so the workers read the
product's open limit orders again. Both happen after the store committed: a failure is
logged and the answer stands (the workers also read the orders again every 30 s; a client
reading the REST routes sees the truth).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import msgspec
import redis

from common.names import paper_version_key, user_room
from paper.documents import Order, OrderType
from store.paper.port import Outcome

log = logging.getLogger(__name__)

__all__ = ["Announcer", "Emitter"]


class Emitter(Protocol):
    """What :class:`common.queue_emitter.QueueEmitter` offers: emits in one publish."""

    def emit_many(self, events: Sequence[tuple[str, Any]], *, namespace: str, room: str) -> Any: ...


class Announcer:
    """Emits the owner's updates and moves the products' version tokens."""

    def __init__(self, client: redis.Redis, emitter: Emitter | None) -> None:
        self._redis, self._emitter = client, emitter

    def placed(self, outcome: Outcome) -> None:
        """After a placement that changed something: its events and version tokens (the
        positions and the wallet as the write left them: nothing is read again)."""
        self._rested(o for o in outcome.orders if o.type is OrderType.LIMIT and o.is_open)
        if outcome.orders:
            self._emit(user_room(outcome.orders[0].owner), outcome.updates())

    def cancelled(self, order: Order) -> None:
        """After a cancel: the order's event and its product's version token."""
        self._rested([order])
        self._emit(user_room(order.owner), [("order_update", order)])

    def _rested(self, orders: Iterable[Order]) -> None:
        for product in sorted({o.product for o in orders}):
            try:
                self._redis.set(paper_version_key(product), secrets.token_hex(8))
            except redis.RedisError as exc:
                log.warning(
                    "paper version token not set",
                    extra={"product": product, "error": type(exc).__name__},
                )

    def _emit(self, room: str, events: list[tuple[str, msgspec.Struct]]) -> None:
        if self._emitter is None:
            return
        try:
            self._emitter.emit_many(
                [(name, msgspec.to_builtins(document)) for name, document in events],
                namespace="/", room=room,
            )  # fmt: skip
        except redis.RedisError as exc:
            log.warning(
                "paper events not published",
                extra={"events": [name for name, _ in events], "room": room,
                       "error": type(exc).__name__},
            )  # fmt: skip
