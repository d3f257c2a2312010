"""Latest data answered by the gateway itself, from ``latest:*`` in Redis.

The workers keep ``latest:chain:*`` and ``latest:underlying:*`` as the exact
bytes storage_service serves on a cache hit, so for a route with an
``edge_key`` (the :class:`common.latest.Entry` its arguments name) the gateway,
once the token, both limits and the validation have passed, reads the entry
through :mod:`common.latest` and answers a hit with those bytes and
``X-Cache: hit``, as the service would. A miss, arguments that name no entry
(the nearest expiry needs the product listing) or an error reading it goes on
to the service, which owns every fallback: the store, stale copies, 404. One
Redis GET replaces a pooled HTTP call and a second Flask app on the hottest
route (docs/PERFORMANCE.md). A hit carries the data's age as the service's does
(``X-Data-Age``; past the product's ``stale_after_s``, ``X-Data-Age-Stale: true`` and
the body's ``data_age_stale``/``data_age_s``, :mod:`common.latest`).

The read shares a round trip with the token's deny-list check, which the
authentication hook leaves to this view for these routes (:func:`edge_answer`
always makes it, hit or not, before anything is served or forwarded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis
from flask import Response
from prometheus_client import Counter

from api_gateway.authn import check_not_revoked, judge_revocation
from common import latest
from common.access import DenyList
from common.api.routes import RouteSpec
from common.products import ConventionsRegistry
from common.tokens import Claims
from common.web.responses import raw_json_response

log = logging.getLogger(__name__)

CACHE_HEADER = "X-Cache"
AGE_EXTENSION = "optionsflow_data_age"


@dataclass(frozen=True, slots=True)
class AgeRule:
    """What the age of an edge answer is judged by: each product's ``stale_after_s`` and the
    clock (epoch seconds; a test's fake clock)."""

    registry: ConventionsRegistry
    clock: Callable[[], float] = field(default=time.time)

    def age(self, product: str, body: bytes) -> latest.DataAge | None:
        limit = self.registry.get(product).stale_after_s
        return latest.data_age(body, self.clock(), limit)


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


def _read_checked(client: redis.Redis, claims: Claims | None, entry: latest.Entry) -> object:
    """The bytes of ``entry`` (or the exception reading them), with the deny-list checked
    in the same round trip; 401 when the token is revoked."""
    pipe = client.pipeline(transaction=False)
    if claims is not None:
        pipe.mget(DenyList.keys(claims.jti))
    read = latest.queue_get(pipe, entry)
    replies = pipe.execute(raise_on_error=False)
    if claims is not None:
        checked = replies[0]
        if isinstance(checked, Exception):
            raise checked  # the check itself failed: 503, as for any route
        judge_revocation(checked)
    try:
        return read.result(replies)
    except redis.RedisError as exc:
        return exc


def edge_answer(
    spec: RouteSpec,
    args: Mapping[str, Any],
    client: redis.Redis,
    claims: Claims | None,
    rule: AgeRule | None = None,
) -> Response | None:
    """The cached answer of ``spec`` for its validated ``args``; None to forward the request.

    Checks ``claims`` against the deny-list first (401 when revoked), hit or not.
    """
    entry = spec.edge_key(args) if spec.edge_key is not None else None
    if entry is None:
        if claims is not None:
            check_not_revoked(claims, client)
        return None
    raw = _read_checked(client, claims, entry)
    if isinstance(raw, Exception):
        EDGE_READS.labels(spec.name, EdgeResult.ERROR.value).inc()
        log.warning("edge read failed", extra={"key": entry.key, "error": str(raw)})
        return None
    if raw is None:
        EDGE_READS.labels(spec.name, EdgeResult.MISS.value).inc()
        return None
    EDGE_READS.labels(spec.name, EdgeResult.HIT.value).inc()
    assert isinstance(raw, bytes)
    age = rule.age(entry.product, raw) if rule is not None else None
    headers = {CACHE_HEADER: EdgeResult.HIT.value, **latest.data_age_headers(age)}
    return raw_json_response(latest.mark_data_age(raw, age), headers=headers)
