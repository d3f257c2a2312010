"""``GET /products``, and the product listing the other routes check against.

Each product carries its venue and currency from its conventions (``common/products.py``),
not from its newest chain: they are properties of the product, known without reading a
chain per product, and the same for every expiry and whatever the store holds.

Expiries change rarely (a new one is listed when its first chain is stored),
so the listing stays fresh ``PRODUCTS_FRESH_S`` (at least ``CACHE_TTL_S``); an empty
one (nothing stored yet) is not kept fresh at all.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
import redis
from flask import Response

from common.api.data import NoQuery
from common.names import cache_key
from common.products import ConventionsRegistry, serving_registry
from common.web.openapi import Blueprint
from common.web.responses import dumps
from storage_service.cache import Answer
from storage_service.metrics import CacheResult
from storage_service.routes.context import DataContext, cached_response, data_context, get_route
from store.port import StoreError

bp = Blueprint("products", __name__)

PRODUCTS_KEY = cache_key("products")
PRODUCTS_FRESH_S = 30
"""Freshness of the cached listing (seconds), unless CACHE_TTL_S is longer."""

Listing = dict[str, list[str]]
EMPTY_LISTING = dumps({"products": []})


def listing_body(listing: Listing, registry: ConventionsRegistry) -> bytes:
    """``{products: [{product, expiries, venue, currency}]}``: products and their expiries
    sorted, venue and currency from each product's conventions."""
    rows = []
    for product in sorted(listing):
        conventions = registry.get(product)
        rows.append({
            "product": product,
            "expiries": sorted(listing[product]),
            "venue": conventions.venue,
            "currency": conventions.quote_currency,
        })  # fmt: skip
    return dumps({"products": rows})


def products_answer(context: DataContext) -> Answer:
    """The cached ``{products: [{product, expiries, venue, currency}]}`` body, sorted."""
    s = context.settings
    registry = serving_registry(s)

    def build() -> bytes:
        return listing_body(context.store.products(), registry)

    fresh_s = max(PRODUCTS_FRESH_S, context.settings.http.cache_ttl_s)
    answer = context.cache.fetch("products", PRODUCTS_KEY, build, fresh_s=fresh_s)
    if answer.result is CacheResult.MISS and answer.body == EMPTY_LISTING:
        # Nothing stored yet (a fresh start): the first chains must show up at once, not
        # after PRODUCTS_FRESH_S, so an empty listing is kept as a stale copy only.
        with contextlib.suppress(redis.RedisError):  # at worst it stays fresh its 30 s
            context.cache.invalidate(PRODUCTS_KEY)
    return answer


def listing(context: DataContext) -> Listing:
    """Product → expiries (possibly from a stale copy); StoreError with nothing cached."""
    body: dict[str, Any] = orjson.loads(products_answer(context).body)
    return {row["product"]: row["expiries"] for row in body["products"]}


def listing_or_none(context: DataContext) -> Listing | None:
    """The listing, or None when it cannot be had (the caller goes on without the check)."""
    try:
        return listing(context)
    except StoreError:
        return None


@get_route(bp, "/products", NoQuery)
def list_products(_args: dict[str, Any]) -> Response:
    return cached_response(products_answer(data_context()))
