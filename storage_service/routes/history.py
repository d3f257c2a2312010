"""``GET /data/chain/<product>/history``: stored snapshots of one expiry, a page at a time.

Pages are cache-aside entries keyed by everything that shapes them. Without
``end``, the window ends at "now" rounded up to the cache's freshness step
(at most a minute), so default queries within that step share one entry; the
entry's key leaves the end out and its version is the end, so the page of a
past step is an expired copy of the current one (served stale when the store
fails). Explicit windows are cached only when their bounds fall on the step,
which keeps one client from making a new entry per millisecond; other pages
are read from the store without the cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from typing import Any

from flask import Response
from marshmallow import ValidationError

from common.api.data import HistoryQuery, encode_cursor, history_window
from common.names import cache_key
from common.timestamps import format_ts
from common.web import ApiError
from common.web.openapi import Blueprint
from common.web.responses import dumps
from storage_service.cache import Answer
from storage_service.routes.context import (
    DataContext,
    cached_response,
    check_product,
    data_context,
    freshness_step_s,
    get_route,
)
from storage_service.routes.products import listing_or_none
from store.documents import ceil_ms

bp = Blueprint("history", __name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _default_end(context: DataContext) -> dt.datetime:
    step = freshness_step_s(context)
    now = context.clock().timestamp()
    return _EPOCH + dt.timedelta(seconds=math.ceil(now / step) * step)


def _at_ms(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)


def _page_key(product: str, expiry: str, shape: tuple[Any, ...]) -> str:
    digest = hashlib.blake2b(repr(shape).encode(), digest_size=16).hexdigest()
    return cache_key("history", product, expiry, digest)


@get_route(bp, "/data/chain/<product>/history", HistoryQuery)
def chain_history(args: dict[str, Any], product: str) -> Response:
    context = data_context()
    check_product(product)
    expiry: str = args["expiry"]
    start, end = history_window(args["start"], args["end"], _default_end(context))
    # The store works in whole milliseconds (bounds rounded up): so do the key and the echo.
    start_ms, end_ms = ceil_ms(start), ceil_ms(end)
    if start_ms >= end_ms:
        raise ValidationError("Must be at least a millisecond after start.", "end")
    known = listing_or_none(context)
    if known is not None and expiry not in known.get(product, ()):
        raise ApiError(404, f"no chains stored for {product} {expiry}")
    fields: tuple[str, ...] | None = args["field_names"]
    limit: int = args["limit"]
    after: tuple[str, int] | None = args["cursor"]

    def build() -> bytes:
        rows = context.history_store.chain_history(
            product, expiry, _at_ms(start_ms), _at_ms(end_ms),
            fields=fields, limit=limit, after=after,
        )  # fmt: skip
        last = rows[-1] if len(rows) == limit else None
        return dumps(
            {
                "product": product,
                "expiry": expiry,
                "start": format_ts(_at_ms(start_ms)),
                "end": format_ts(_at_ms(end_ms)),
                "items": rows,
                "next_cursor": encode_cursor(last["timestamp"], last["seq"]) if last else None,
            }
        )

    def key(window_start: int | None, window_end: int | str) -> str:
        shape = (window_start, window_end, fields, limit, after)
        return _page_key(product, expiry, shape)

    given = (args["start"] is not None, args["end"] is not None)
    return cached_response(_answer(context, key, given, (start_ms, end_ms), build))


def _answer(
    context: DataContext,
    key: Callable[[int | None, int | str], str],
    given: tuple[bool, bool],
    window_ms: tuple[int, int],
    build: Callable[[], bytes],
) -> Answer:
    """The page through the cache, or straight from the store when a bound the client
    gave (``given``: start, end) is off the freshness step."""
    (start_ms, end_ms), step_ms = window_ms, freshness_step_s(context) * 1000
    if any(ms % step_ms for ms, asked in zip(window_ms, given, strict=True) if asked):
        return context.cache.bypass("history", build)
    if not given[1]:  # one entry across steps, its version the window's end
        page = key(start_ms if given[0] else None, "now")
        return context.cache.fetch("history", page, build, version=end_ms)
    return context.cache.fetch("history", key(start_ms, end_ms), build)
