"""Latest data answered by the gateway itself, from ``latest:*`` in Redis.

The workers keep ``latest:chain:*`` and ``latest:underlying:*`` as the exact
bytes storage_service serves on a cache hit, so for a route with an
``edge_key`` the gateway, once the token and both limits have passed, reads the
key and answers a hit with those bytes and ``X-Cache: hit``, as the service
would. A miss, a route argument that gives no key (the nearest expiry needs
the product listing) or a Redis error goes on to the service, which owns every
fallback: the store, stale copies, 404. One Redis GET replaces a pooled HTTP
call and a second Flask app on the hottest route (docs/PERFORMANCE.md).

The GET even shares the token check's round trip: that check reads the
deny-list anyway, and reads the key named by the raw path and query with it
(:func:`prefetch_key`). The view uses that value only when the key its
validated arguments name is the same one; otherwise it reads its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, cast

import redis
from flask import Response, g, request
from prometheus_client import Counter

from common.api.routes import RouteSpec
from common.web.responses import raw_json_response

log = logging.getLogger(__name__)

CACHE_HEADER = "X-Cache"


class EdgeResult(StrEnum):
    HIT = "hit"
    MISS = "miss"
    ERROR = "error"


EDGE_READS = Counter(
    "optionsflow_gateway_edge_reads_total",
    "Latest-data requests the gateway looked up in Redis itself, by route and result "
    "(a miss or an error is forwarded to the service).",
    ["route", "result"],
)


def prefetch_key(spec: RouteSpec) -> str | None:
    """The key ``spec`` will read, from the arguments as sent (not validated yet)."""
    if spec.edge_key is None:
        return None
    args: dict[str, Any] = {**request.args.to_dict(), **(request.view_args or {})}
    try:
        return spec.edge_key(args)
    except (KeyError, TypeError, ValueError):
        return None  # the validation to come will answer 422


def remember_prefetch(key: str, raw: bytes | None) -> None:
    g.edge_prefetched = (key, raw)


def _read(client: redis.Redis, key: str) -> bytes | None:
    prefetched: tuple[str, bytes | None] | None = g.pop("edge_prefetched", None)
    if prefetched is not None and prefetched[0] == key:
        return prefetched[1]
    return cast(bytes | None, client.get(key))


def edge_answer(spec: RouteSpec, args: Mapping[str, Any], client: redis.Redis) -> Response | None:
    """The cached answer of ``spec`` for its validated ``args``; None to forward the request."""
    if spec.edge_key is None:
        return None
    key = spec.edge_key(args)
    if key is None:
        return None
    try:
        raw = _read(client, key)
    except redis.RedisError as exc:
        EDGE_READS.labels(spec.name, EdgeResult.ERROR.value).inc()
        log.warning("edge read failed", extra={"key": key, "error": str(exc)})
        return None
    if raw is None:
        EDGE_READS.labels(spec.name, EdgeResult.MISS.value).inc()
        return None
    EDGE_READS.labels(spec.name, EdgeResult.HIT.value).inc()
    return raw_json_response(raw, headers={CACHE_HEADER: EdgeResult.HIT.value})
