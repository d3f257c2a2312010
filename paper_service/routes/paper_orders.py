"""``/paper/orders``, ``/paper/baskets``, ``/paper/strategies/<id>/place``: placing,
listing and cancelling the caller's paper orders.

Every route is the caller's (``X-User-Id``): an order id is derived from its owner, so
another user's order id is a 404, as an unknown one is. Placement is idempotent on the
client order id (``paper_service.placing``); cancelling a resting order moves its product's
version token so the workers stop trying it.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import ValidationError

from common.api.data import NoQuery
from common.api.paper import (
    MAX_LEGS,
    BasketBody,
    BasketLeg,
    OrderBody,
    OrderIdPath,
    OrdersQuery,
    PlaceStrategyBody,
    encode_cursor,
)
from common.api.strategies import StrategyIdPath
from common.timestamps import format_ts
from common.web import ApiError, json_response
from common.web.openapi import Blueprint
from paper.checks import OrderError
from paper.documents import OrderState
from paper_service.context import caller, paper_context
from paper_service.orders import basket_requests, order_request
from paper_service.paper_errors import paper_store_errors
from paper_service.placing import order_document, place
from paper_service.routes.register import route

blp = Blueprint("paper_orders", __name__, description="Paper trading: orders and baskets.")

ONE = "/paper/orders/<order_id>"


@route(blp, "POST", "/paper/orders", OrderBody, "json")
def place_order(body: dict[str, Any]) -> Response:
    """201 the order and its fills; 200 the stored one for a client order id sent before."""
    context, owner = paper_context(), caller()
    request = order_request(body, context.registry, context.products, context.now())
    status, outcome = place(context, owner, [request], [""])
    return json_response(order_document(outcome.orders[0], outcome.trades), status)


def _basket(owner: str, legs: list[dict[str, Any]], prefix: str | None) -> Response:
    context = paper_context()
    requests = basket_requests(legs, prefix, context.registry, context.products, context.now())
    prefixes = [f"legs[{i}]." for i in range(len(requests))]
    status, outcome = place(context, owner, requests, prefixes)
    orders = [order_document(order, outcome.trades) for order in outcome.orders]
    return json_response({"orders": orders}, status)


@route(blp, "POST", "/paper/baskets", BasketBody, "json")
def place_basket(body: dict[str, Any]) -> Response:
    """Every leg filled whole, or every leg REJECTED with one reason naming the leg."""
    return _basket(caller(), body["legs"], body["client_order_id_prefix"])


@route(blp, "POST", "/paper/strategies/<strategy_id>/place", PlaceStrategyBody, "json")
def place_strategy(body: dict[str, Any], strategy_id: str) -> Response:
    """The caller's saved strategy's legs as a basket (prices ignored: the live quotes)."""
    owner = caller()
    StrategyIdPath().load({"strategy_id": strategy_id})
    saved = paper_context().strategy_store().strategy(owner, strategy_id)
    if saved is None:
        raise ApiError(404, f"no strategy {strategy_id}")
    legs = saved["legs"]
    if len(legs) > MAX_LEGS:
        raise OrderError("legs", f"a basket has at most {MAX_LEGS} legs, the strategy {len(legs)}")
    loaded = []
    for i, leg in enumerate(legs):
        try:  # a saved leg as a basket's (its price is left out: the live quote fills it)
            loaded.append(BasketLeg().load({k: v for k, v in leg.items() if k != "price"}))
        except ValidationError as exc:
            name, messages = next(iter(dict(exc.messages_dict).items()))
            raise OrderError(f"legs[{i}].{name}", "; ".join(map(str, messages))) from None
    return _basket(owner, loaded, body["client_order_id_prefix"])


@route(blp, "GET", "/paper/orders", OrdersQuery, "query")
def list_orders(args: dict[str, Any]) -> Response:
    """The caller's orders (of ``state``), newest first; ``next`` the following page's cursor."""
    owner, limit = caller(), args["limit"]
    state = OrderState(args["state"]) if args["state"] is not None else None
    with paper_store_errors():
        found = (
            paper_context()
            .paper_store()
            .orders(owner, state, limit=limit + 1, before=args["cursor"])
        )
    page = found[:limit]
    after = encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit else None
    return json_response({"orders": [order_document(o) for o in page], "next": after})


def _order_id(order_id: str) -> str:
    """``order_id`` when it has an order id's form; else 422 naming ``order_id``."""
    OrderIdPath().load({"order_id": order_id})
    return order_id


@route(blp, "GET", ONE, NoQuery, "query")
def get_order(_args: dict[str, Any], order_id: str) -> Response:
    owner = caller()
    with paper_store_errors():
        order = paper_context().paper_store().order(owner, _order_id(order_id))
    if order is None:
        raise ApiError(404, f"no order {order_id}")
    return json_response(order_document(order))


@route(blp, "DELETE", ONE, NoQuery, "query")
def cancel_order(_args: dict[str, Any], order_id: str) -> Response:
    """200 the CANCELLED order; 409 ``order_not_open`` when it no longer rests."""
    context, owner = paper_context(), caller()
    with paper_store_errors():
        store = context.paper_store()
        before = store.order(owner, _order_id(order_id))
        if before is None:
            raise ApiError(404, f"no order {order_id}")
        at = format_ts(context.now())
        after = store.cancel(owner, order_id, at=at) if before.is_open else before
    if after is None:
        raise ApiError(404, f"no order {order_id}")
    if after.state is not OrderState.CANCELLED or not before.is_open:
        raise ApiError(
            409, f"order {order_id} is {after.state.value}, not open", code="order_not_open"
        )
    if context.announcer is not None:
        context.announcer.cancelled(after)
    return json_response(order_document(after))
