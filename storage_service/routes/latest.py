"""``GET /data/chain/<product>`` and ``GET /data/underlying/<product>``: the newest payloads.

Both come first from ``latest:*`` (read through :mod:`common.latest`), the exact
bytes the workers broadcast. A chain missing there is rebuilt from the store into
this service's own cache entry (``latest:*`` belongs to the workers, who keep the
newest by timestamp and seq). The underlying tick has no fallback: the store keeps
candles, not ticks.

With ``at``, the chain is the newest stored at or before that instant (the store's
``chain_at``, one index seek), never ``latest:*``. Such an answer no longer changes
once ``at`` is :data:`AT_SETTLED_S` past (chains dated before it are in the store by
then), so it is cached as history pages are: only then, and only for an instant on
the cache's freshness step; any other instant is read from the store each time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response
from marshmallow import ValidationError

from common.api.data import ChainQuery, NoQuery
from common.latest import DataAge, data_age
from common.names import cache_key
from common.products import serving_registry
from common.timestamps import format_ts
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
    freshness_step_s,
    get_route,
)
from storage_service.routes.products import listing, listing_or_none
from store.documents import floor_ms
from store.port import StoreError

bp = Blueprint("latest", __name__)

AT_SETTLED_S = 10
"""Seconds after which the answer for an instant no longer changes: a chain dated at or
before it has been stored by then (the pipeline takes well under a second unless backed
up), so the answer may be cached."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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
    if args["at"] is not None:
        return _chain_at(context, product, expiry, args["at"])
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


def _chain_at(context: DataContext, product: str, expiry: str | None, at: dt.datetime) -> Response:
    """The newest chain stored at or before ``at``: 422 naming ``at`` when it is in the
    future, 404 when no chain of the expiry is stored by then (or the expiry never was)."""
    now = context.clock()
    if at > now:
        raise ValidationError({"at": [f"Must not be in the future (now {format_ts(now)})."]})
    known = listing(context)  # the expiries ever stored: the only ones an instant can have
    expiries = known.get(product, [])
    if expiry is None:
        expiry = nearest_expiry(expiries, at.date())
        if expiry is None:
            raise ApiError(404, f"no expiry of {product} on or after {at.date().isoformat()}")
    elif expiry not in expiries:
        raise ApiError(404, f"no chain stored for {product} {expiry}")
    answer = _at_answer(context, product, expiry, floor_ms(at), floor_ms(now))
    return cached_response(answer, _age_at(context, product, answer.body, at))


def _at_answer(context: DataContext, product: str, expiry: str, at_ms: int, now_ms: int) -> Answer:
    """The chain at ``at_ms`` (epoch ms: ``timestamp <= at`` for millisecond timestamps),
    through the cache once settled and on the freshness step, else from the store."""
    at = _EPOCH + dt.timedelta(milliseconds=at_ms)

    def build() -> bytes:
        doc = context.store.chain_at(product, expiry, at)
        if doc is None:
            stored = f"stored at or before {format_ts(at)}"
            raise ApiError(404, f"no chain of {product} {expiry} {stored}")
        return dumps(doc)

    settled = now_ms - at_ms >= AT_SETTLED_S * 1000
    if not settled or at_ms % (freshness_step_s(context) * 1000):
        return context.cache.bypass("chain_at", build)
    key = cache_key("chain-at", product, expiry, str(at_ms))
    return context.cache.fetch("chain_at", key, build)


def _age_at(context: DataContext, product: str, body: bytes, at: dt.datetime) -> DataAge | None:
    """How old the chain in ``body`` was at ``at``: what the instant shows, not today's age."""
    limit = serving_registry(context.settings).get(product).stale_after_s
    return data_age(body, at.timestamp(), limit)


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
