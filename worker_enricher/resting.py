"""Resting paper limit orders filled as enriched chains arrive.

For each product in a chain batch, one round trip reads ``paper:version:{product}`` (set by
paper_service when a limit order of the product rests or is cancelled); the process keeps
each product's open limit orders and reads them from the store again when the token
changes (or every ``REFRESH_S`` without one). An order whose instrument the batch quotes
and whose limit the quote crosses (``paper.account.fills_now``: a cheap test) goes to
``PaperStore.fill_resting``, which decides and writes in one transaction and is idempotent
per order and market timestamp: two workers on the same chain fill it once. A chain older
than the product's staleness limit fills nothing. The owner then gets ``order_update``,
``position_update`` (each position touched) and ``account_update`` (the wallet) through
the Socket.IO message queue; amounts are decimal strings, as the REST API gives them.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec
import redis

from common.names import paper_version_key, user_room
from common.timestamps import parse_ts
from paper.account import fills_now
from paper.documents import Order
from paper.market import chain_quote
from store.paper.port import Outcome, PaperStore

log = logging.getLogger(__name__)


class Emitter(Protocol):
    """Emits to a Socket.IO room in one publish (``common.queue_emitter.QueueEmitter``)."""

    def emit_many(self, events: Sequence[tuple[str, Any]], *, namespace: str, room: str) -> Any: ...


REFRESH_S = 30.0
"""How long open orders read without a version token are trusted."""


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RestingOrders:
    """This process's view of the open limit orders, and their fills."""

    def __init__(
        self,
        client: redis.Redis,
        store: PaperStore,
        emitter: Emitter,
        stale_after_s: Callable[[str], float],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._redis, self._store, self._emitter = client, store, emitter
        self._stale_after_s, self._clock, self._wall = stale_after_s, clock, wall
        self._held: dict[str, tuple[str | None, float, list[Order]]] = {}

    def on_chains(self, chains: Sequence[Mapping[str, Any]]) -> int:
        """Try the open limit orders of the chains' products; how many orders changed."""
        newest: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
        for chain in chains:
            expiries = newest[str(chain["product"])]
            kept = expiries.get(str(chain["expiry"]))
            if kept is None or (kept["timestamp"], kept["seq"]) < (
                chain["timestamp"],
                chain["seq"],
            ):
                expiries[str(chain["expiry"])] = chain
        products = list(newest)
        tokens = self._redis.mget([paper_version_key(p) for p in products])
        changed = 0
        for product, token in zip(products, tokens, strict=True):
            orders = self._open_orders(product, _text(token))
            if orders:
                changed += self._try(product, orders, newest[product])
        return changed

    def _open_orders(self, product: str, token: str | None) -> list[Order]:
        now = self._clock()
        held = self._held.get(product)
        fresh = held is not None and (token is not None or now - held[1] < REFRESH_S)
        if held is not None and held[0] == token and fresh:
            return held[2]
        orders = self._store.open_limit_orders(product)
        self._held[product] = (token, now, orders)
        return orders

    def _stale(self, product: str, chain: Mapping[str, Any]) -> bool:
        age = self._wall() - parse_ts(str(chain["timestamp"])).timestamp()
        return age > self._stale_after_s(product)

    def _try(
        self, product: str, orders: list[Order], chains: Mapping[str, Mapping[str, Any]]
    ) -> int:
        changed = 0
        newest = max(chains.values(), key=lambda c: (c["timestamp"], c["seq"]))
        for order in list(orders):
            # the underlying is quoted by any of the product's chains: the newest
            chain = newest if order.option_type is None else chains.get(order.expiry or "")
            if chain is None or self._stale(product, chain):
                continue
            quote = chain_quote(chain, order.instrument)
            if quote is None or not fills_now(order, quote):
                continue
            outcome = self._store.fill_resting(order.id, quote)
            if outcome is None or not outcome.changed:
                orders.remove(order)  # gone or filled elsewhere: read again on the next token
                continue
            changed += 1
            self._replace(orders, outcome.orders)
            self._announce(order.owner, outcome)
        return changed

    @staticmethod
    def _replace(orders: list[Order], now: Sequence[Order]) -> None:
        by_id = {o.id: o for o in now}
        orders[:] = [by_id.get(o.id, o) for o in orders if by_id.get(o.id, o).is_open]

    def _announce(self, owner: str, outcome: Outcome) -> None:
        events = [(name, msgspec.to_builtins(doc)) for name, doc in outcome.updates()]
        self._emitter.emit_many(events, namespace="/", room=user_room(owner))
        log.info(
            "resting order filled",
            extra={"owner": owner, "orders": [o.id for o in outcome.orders],
                   "trades": len(outcome.trades)},
        )  # fmt: skip
