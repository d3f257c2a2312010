"""Placing orders and baskets: idempotent on the client order id, against the live market.

A client order id stored already (every leg's, for a basket) is answered from the store,
200, without reading the market: the same order and its fills, never a second placement.
The body must ask for what is stored (the same instrument, side, quantity, type and limit;
a basket the same legs of one basket): a different one is 409
``client_order_id_conflict``, nothing changed. Otherwise the legs' quotes are read from the
live chains and the store places them in one transaction, 201; two requests racing with one
id both reach the store, which places once: the loser is answered 200 with the winner's
order (checked against its body the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from common.timestamps import format_ts
from paper.documents import Order, OrderRequest, Trade
from paper.ids import order_id
from paper_service.context import PaperContext
from paper_service.orders import same_request
from paper_service.paper_errors import conflict, paper_store_errors
from paper_service.quotes import order_quotes
from store.paper.port import Outcome

__all__ = ["order_document", "place"]


def _check_same(requests: Sequence[OrderRequest], orders: Sequence[Order]) -> None:
    """409 unless ``orders`` (stored under the requests' ids) are what the requests ask."""
    baskets = {o.basket_id for o in orders}
    one_placement = len(baskets) == 1 and (None in baskets) == (len(requests) == 1)
    for request, order in zip(requests, orders, strict=True):
        if not one_placement or not same_request(request, order):
            raise conflict(
                f"client_order_id {request.client_order_id!r} was placed before with another "
                "body: nothing changed (send a new client_order_id for a new order)"
            )


def place(
    context: PaperContext, owner: str, requests: Sequence[OrderRequest], prefixes: Sequence[str]
) -> tuple[int, Outcome]:
    """(201, the placement) or (200, the stored one) of ``owner``'s ``requests``."""
    now = context.now()
    at = format_ts(now)
    with paper_store_errors():
        store = context.paper_store()
        stored = [store.order(owner, order_id(owner, r.client_order_id)) for r in requests]
        if all(order is not None for order in stored):
            _check_same(requests, [o for o in stored if o is not None])
            return 200, store.place(owner, requests, [], at=at)  # the stored orders and fills
        quotes = order_quotes(context.reader, context.registry, requests, now, prefixes)
        outcome = store.place(owner, requests, quotes, at=at)
        if not outcome.changed:
            _check_same(requests, outcome.orders)
            return 200, outcome
        if context.announcer is not None:
            context.announcer.placed(outcome)
    return 201, outcome


def order_document(order: Order, trades: Sequence[Trade] | None = None) -> dict[str, Any]:
    """``order`` as answered (decimal strings), with ``fills`` when ``trades`` are given."""
    document: dict[str, Any] = msgspec.to_builtins(order)
    if trades is not None:
        document["fills"] = [msgspec.to_builtins(t) for t in trades if t.order_id == order.id]
    return document
