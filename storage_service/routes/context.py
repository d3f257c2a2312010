"""What the data routes share: the service's collaborators, product checks, cached answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis
from flask import Response, current_app
from marshmallow import Schema

from common.api.data import ProductPath
from common.latest import DataAge, LatestReader, data_age, data_age_headers, mark_data_age
from common.products import serving_registry
from common.settings import Settings
from common.web import raw_json_response
from common.web.openapi import Blueprint
from storage_service.cache import Answer, ResponseCache
from storage_service.guard import GuardedStore, StoreGuards
from storage_service.metrics import CacheResult

EXTENSION = "storage_service"
View = TypeVar("View", bound=Callable[..., Response])

CACHE_HEADER = "X-Cache"
_MAX_STEP_S = 60
STALE_HEADER = "X-Data-Stale"


@dataclass(frozen=True, slots=True)
class DataContext:
    """The read API's collaborators, kept in ``app.extensions``."""

    settings: Settings
    redis: redis.Redis
    guards: StoreGuards
    cache: ResponseCache
    latest: LatestReader
    """The workers' ``latest:*`` entries and their index of live expiries."""
    clock: Callable[[], dt.datetime]
    """The current instant (aware UTC): today's date for the nearest expiry, history's "now"."""

    @property
    def store(self) -> GuardedStore:
        """The store for light calls: products, the newest chain, readiness."""
        return self.guards.light

    @property
    def history_store(self) -> GuardedStore:
        """The store for history pages (own pool, breaker and longer timeout)."""
        return self.guards.history

    def close(self) -> None:
        """Stop the store guards, close the store and the Redis client."""
        self.guards.close()
        self.redis.close()


def freshness_step_s(context: DataContext) -> int:
    """The cache's freshness step (``CACHE_TTL_S``, at most a minute): an instant a client
    names is cached only on a whole step since the epoch, so that one client cannot make a
    new entry per millisecond."""
    return min(context.settings.http.cache_ttl_s, _MAX_STEP_S)


def data_context() -> DataContext:
    context: DataContext = current_app.extensions[EXTENSION]
    return context


def check_product(product: str) -> str:
    """``product`` if it matches the product pattern; else ValidationError (422 naming it)."""
    ProductPath().load({"product": product})
    return product


def age_of(context: DataContext, product: str, body: bytes) -> DataAge | None:
    """How old the newest data of ``product`` in ``body`` is, at the context's clock."""
    limit = serving_registry(context.settings).get(product).stale_after_s
    return data_age(body, context.clock().timestamp(), limit)


def cached_response(answer: Answer, age: DataAge | None = None) -> Response:
    """The answer's JSON body with ``X-Cache`` and, when stale, ``X-Data-Stale: true``; with
    ``age``, the data's age headers and, when older than its limit, the body's age members."""
    headers = {CACHE_HEADER: answer.result.value, **data_age_headers(age)}
    if answer.result is CacheResult.STALE:
        headers[STALE_HEADER] = "true"
    return raw_json_response(mark_data_age(answer.body, age), headers=headers)


def get_route(bp: Blueprint, rule: str, query: type[Schema]) -> Callable[[View], View]:
    """Register a GET view on ``bp`` that takes its validated ``query`` arguments first.

    Unknown query parameters are 422 (the blueprint's strict parser). A typed
    stand-in for flask-smorest's untyped ``route`` and ``arguments`` decorators.
    """

    def register(view: View) -> View:
        # an instance: webargs would build one per request from a class
        bp.route(rule, methods=["GET"])(bp.arguments(query(), location="query")(view))
        return view

    return register
