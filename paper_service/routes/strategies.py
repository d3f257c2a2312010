"""``/strategies``: evaluate legs on the live chains, and the caller's saved strategies.

Every route is the caller's (``X-User-Id``): another user's strategy id is a 404, as an
unknown one is. ``evaluate`` reads the chains of the expiries its legs name in one Redis
round trip and values them with the strategy math (``paper_service.evaluation``).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from common.api.data import NoQuery
from common.api.strategies import EvaluateBody, StrategyBody, StrategyIdPath
from common.web import ApiError, json_response
from common.web.openapi import Blueprint
from paper_service.context import caller, paper_context
from paper_service.documents import new_strategy, replaced_strategy, strategy_content
from paper_service.evaluation import EvaluationRequest, evaluate
from paper_service.legs import named_expiries, strategy_product
from paper_service.market import live_market, read_chains
from paper_service.routes.register import route

blp = Blueprint("strategies", __name__, description="Strategies: evaluation and saved ones.")

ONE = "/strategies/<strategy_id>"


@route(blp, "POST", "/strategies/evaluate", EvaluateBody, "json")
def evaluate_legs(body: dict[str, Any]) -> Response:
    """Payoff, breakevens, limits, Greeks and PoP of the legs on the newest chains."""
    caller()
    context = paper_context()
    now = context.now()
    request = EvaluationRequest.of(body)
    product = strategy_product(request.legs, context.products)
    conventions = context.registry.get(product)
    fields = named_expiries(request.legs)
    raw = read_chains(context.reader, product, list(fields))
    market = live_market(product, fields, raw, conventions, now)
    return json_response(evaluate(request, market, conventions, now))


def _checked(strategy_id: str) -> str:
    """``strategy_id`` when it has a strategy id's form; else 422 naming ``strategy_id``."""
    StrategyIdPath().load({"strategy_id": strategy_id})
    return strategy_id


def _missing(strategy_id: str) -> ApiError:
    return ApiError(404, f"no strategy {strategy_id}")


def _stored(owner: str, strategy_id: str) -> dict[str, Any]:
    """The caller's strategy; 404 when there is none (or it is another user's)."""
    found = paper_context().strategy_store().strategy(owner, _checked(strategy_id))
    if found is None:
        raise _missing(strategy_id)
    return found


@route(blp, "POST", "/strategies", StrategyBody, "json")
def create_strategy(body: dict[str, Any]) -> Response:
    """A new saved strategy: 201 with it and its id."""
    context, owner = paper_context(), caller()
    content = strategy_content(body, context.products)
    doc = new_strategy(content, owner=owner, now=context.now())
    stored = context.strategy_store().create_strategy(doc, limit=context.strategies_per_user)
    return json_response(stored, 201)


@route(blp, "GET", "/strategies", NoQuery, "query")
def list_strategies(_args: dict[str, Any]) -> Response:
    """The caller's strategies, oldest first."""
    owner = caller()
    return json_response({"strategies": paper_context().strategy_store().strategies_of(owner)})


@route(blp, "GET", ONE, NoQuery, "query")
def get_strategy(_args: dict[str, Any], strategy_id: str) -> Response:
    return json_response(_stored(caller(), strategy_id))


@route(blp, "PUT", ONE, StrategyBody, "json")
def replace_strategy(body: dict[str, Any], strategy_id: str) -> Response:
    """The strategy with the body's name, legs and note."""
    context, owner = paper_context(), caller()
    content = strategy_content(body, context.products)  # a bad body is 422 before any 404
    stored = _stored(owner, strategy_id)
    doc = replaced_strategy(stored, content, now=context.now())
    saved = context.strategy_store().replace_strategy(owner, doc)
    if saved is None:  # deleted since it was read
        raise _missing(strategy_id)
    return json_response(saved)


@route(blp, "DELETE", ONE, NoQuery, "query")
def delete_strategy(_args: dict[str, Any], strategy_id: str) -> Response:
    owner = caller()
    if paper_context().strategy_store().delete_strategy(owner, _checked(strategy_id)) is None:
        raise _missing(strategy_id)
    return Response(status=204)
