"""The feeds API: ``GET /feeds``, each venue's feed health (served by storage_service from
``feed:*`` in Redis through :mod:`common.feeds`).

The answer's schema is derived from :class:`common.feeds.FeedsAnswer`, the struct the
service encodes, so the OpenAPI document cannot drift from the body.
"""

from __future__ import annotations

from marshmallow import Schema

from common.api.data import NoQuery
from common.api.errors import ErrorSchema
from common.api.messages import schema_of
from common.api.routes import Priority, RouteSpec, Upstream
from common.feeds import FeedsAnswer

FeedsResponse: type[Schema] = schema_of(FeedsAnswer)

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        name="feeds",
        method="GET",
        path="/feeds",
        upstream=Upstream.STORAGE,
        summary="Each venue's feed health: state, last message age, rates, reconnects, per product",
        responses={
            200: FeedsResponse,
            401: ErrorSchema,  # the gateway: missing or invalid access token
            422: ErrorSchema,  # an unknown query parameter
            429: ErrorSchema,  # the gateway: rate limited
            503: ErrorSchema,  # Redis unavailable
        },
        query=NoQuery,
        priority=Priority.LIVE,
        tags=("feeds",),
    ),
)
