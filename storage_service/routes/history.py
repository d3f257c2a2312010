"""``GET /data/chain/<product>/history``: stored snapshots of one expiry, a page at a time.

Pages are cache-aside entries keyed by everything that shapes them. Without
``end``, the window ends at "now" rounded up to the cache's freshness step
(at most a minute), so default queries within that step share one entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from flask import Response
from marshmallow import ValidationError

from common.api.data import HistoryQuery, encode_cursor, history_window
from common.names import cache_key
from common.timestamps import format_ts
from common.web import ApiError
from common.web.openapi import Blueprint
from common.web.responses import dumps
from storage_service.routes.context import (
    DataContext,
    cached_response,
    check_product,
    data_context,
    get_route,
)
from storage_service.routes.products import listing_or_none
from storage_service.store.documents import ceil_ms

bp = Blueprint("history", __name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_END_STEP_S = 60


def _default_end(context: DataContext) -> dt.datetime:
    step = min(context.settings.http.cache_ttl_s, _MAX_END_STEP_S)
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
        rows = context.store.chain_history(
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

    key = _page_key(product, expiry, (start_ms, end_ms, fields, limit, after))
    return cached_response(context.cache.fetch("history", key, build))
