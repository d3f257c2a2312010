"""``GET /data/chain/<product>`` and ``GET /data/underlying/<product>``: the newest payloads.

Both come first from ``latest:*`` (read through :mod:`common.latest`), the exact
bytes the workers broadcast. A chain missing there is rebuilt from the store into
this service's own cache entry (``latest:*`` belongs to the workers, who keep the
newest by timestamp and seq). The underlying tick has no fallback: the store keeps
candles, not ticks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response

from common.api.data import ChainQuery, NoQuery
from common.names import cache_key
from common.web import ApiError
from common.web.openapi import Blueprint
from common.web.responses import dumps
from storage_service.cache import Answer
from storage_service.metrics import CacheResult, count_cache
from storage_service.routes.context import (
    DataContext,
    age_of,
    cached_response,
    check_product,
    data_context,
    get_route,
)
from storage_service.routes.products import listing, listing_or_none
from store.port import StoreError

bp = Blueprint("latest", __name__)


def nearest_expiry(expiries: list[str], today: dt.date) -> str | None:
    """The earliest expiry on or after ``today``; None when all have passed."""
    return min((e for e in expiries if e >= today.isoformat()), default=None)


def _expiries(context: DataContext, product: str) -> list[str]:
    try:
        expiries = listing(context).get(product)
    except StoreError:
        # The listing's stand-in: the live expiries the workers index (one sorted-set read).
        expiries = context.latest.expiries(product)
        if not expiries:
            raise  # the product may exist: 503, not 404
    if not expiries:
        raise ApiError(404, f"no chains stored for {product}")
    return expiries


def _chain_from_store(context: DataContext, product: str, expiry: str) -> bytes:
    doc = context.store.latest_chain(product, expiry)
    if doc is None:
        raise ApiError(404, f"no chain stored for {product} {expiry}")
    return dumps(doc)


@get_route(bp, "/data/chain/<product>", ChainQuery)
def latest_chain(args: dict[str, Any], product: str) -> Response:
    context = data_context()
    check_product(product)
    expiry: str | None = args.get("expiry")
    if expiry is None:
        today = context.clock().astimezone(dt.UTC).date()
        expiry = nearest_expiry(_expiries(context, product), today)
        if expiry is None:
            raise ApiError(404, f"no expiry of {product} on or after {today.isoformat()}")
    raw = context.latest.chain(product, expiry)
    if raw is not None:
        count_cache("chain", CacheResult.HIT)
        return cached_response(Answer(raw, CacheResult.HIT), age_of(context, product, raw))
    if "expiry" in args:  # an expiry the store never had is a 404 without asking it
        known = listing_or_none(context)
        if known is not None and expiry not in known.get(product, ()):
            raise ApiError(404, f"no chain stored for {product} {expiry}")
    answer = context.cache.fetch(
        "chain",
        cache_key("chain", product, expiry),
        lambda: _chain_from_store(context, product, expiry),
    )
    return cached_response(answer, age_of(context, product, answer.body))


@get_route(bp, "/data/underlying/<product>", NoQuery)
def latest_underlying(_args: dict[str, Any], product: str) -> Response:
    context = data_context()
    check_product(product)
    raw = context.latest.underlying(product)
    if raw is None:
        count_cache("underlying", CacheResult.MISS)
        raise ApiError(404, f"no underlying tick for {product}")
    count_cache("underlying", CacheResult.HIT)
    return cached_response(Answer(raw, CacheResult.HIT), age_of(context, product, raw))
