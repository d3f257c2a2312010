"""``GET /strategies/templates/<product>``: a strategy's legs around the live ATM strike.

The live expiries are read (one round trip) unless the query names every expiry the
template needs, then their chains in one MGET (the nearest few live ones when the expiry
is left out: the first whose chain has not expired is used).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response

from common.api.strategies import TemplateQuery
from common.latest import Entry
from common.web import json_response
from common.web.openapi import Blueprint
from optionsmath.strategy import Smile, Template
from paper_service.context import PaperContext, caller, paper_context
from paper_service.errors import invalid
from paper_service.market import NoLiveChain, parse_chain
from paper_service.routes.register import route
from paper_service.templates import far_expiry, near_candidates, template_answer

blp = Blueprint("strategy_templates", __name__, description="Strategy templates.")

CANDIDATES = 4
"""Live expiries read at once when the query names none."""


class _Chains:
    """The chain bytes of one request's expiries: read together once, then one by one."""

    def __init__(self, context: PaperContext, product: str, expiries: list[dt.date]) -> None:
        self.context, self.product = context, product
        self.raw = dict(zip(expiries, self._read(expiries), strict=True))

    def _read(self, expiries: list[dt.date]) -> list[bytes | None]:
        entries = [Entry(self.product, expiry.isoformat()) for expiry in expiries]
        return self.context.reader.get_many(entries)

    def smile(self, field: str, expiry: dt.date, now: dt.datetime) -> Smile | None:
        """``expiry``'s smile, ``None`` when it has no live chain."""
        if expiry not in self.raw:
            self.raw[expiry] = self._read([expiry])[0]
        body = self.raw[expiry]
        if body is None:
            return None
        conventions = self.context.registry.get(self.product)
        return parse_chain(field, body, conventions, now).smile


def _near(
    args: dict[str, Any], chains: _Chains, candidates: list[dt.date], now: dt.datetime
) -> Smile:
    """The near expiry's smile: the one named (404 without a chain, 422 once expired), else
    the first candidate with a chain that has not expired."""
    named = args["expiry"] is not None
    for expiry in candidates:
        smile = chains.smile("expiry", expiry, now)
        if smile is None:
            if named:
                raise NoLiveChain("expiry", f"no live chain of {chains.product} {expiry}")
            continue
        if smile.years_to_expiry(now) > 0.0:
            return smile
        if named:
            raise invalid("expiry", f"{expiry} expired at {smile.expires_at}")
    raise NoLiveChain("product", f"no live chain of {chains.product}")


@route(blp, "GET", "/strategies/templates/<product>", TemplateQuery, "query")
def template(args: dict[str, Any], product: str) -> Response:
    """``{"legs": [...]}``: the template's legs, prices null (the live mid at evaluation)."""
    caller()
    context = paper_context()
    if product not in context.products:
        served = ", ".join(sorted(context.products))
        raise invalid("product", f"not a product the platform serves ({served})")
    now = context.now()
    calendar = args["name"] == Template.CALENDAR
    named = args["expiry"] is not None and (not calendar or args["far_expiry"] is not None)
    live = [] if named else context.reader.expiries(product)
    candidates = near_candidates(args, live, now.date())
    first = candidates[:CANDIDATES]
    if calendar and args["far_expiry"] is not None:
        first.append(dt.date.fromisoformat(args["far_expiry"]))
    chains = _Chains(context, product, first)
    near = _near(args, chains, candidates, now)
    far = far_expiry(args, live, near.expiry)
    far_smile = None
    if calendar:
        if far is None:
            raise NoLiveChain("far_expiry", f"no live expiry of {product} after {near.expiry}")
        far_smile = chains.smile("far_expiry", far, now)
        if far_smile is None:
            raise NoLiveChain("far_expiry", f"no live chain of {product} {far}")
    size = context.registry.get(product).contract_size
    return json_response(template_answer(args, product, near, far_smile, size))
