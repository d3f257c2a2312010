"""``GET /feeds``: each venue's feed health, read from ``feed:*`` through :mod:`common.feeds`.

Never cached: the answer is a few small keys, aged on this service's clock at each
request. No store involved; Redis unavailable is 503, as for the other routes.
"""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Response

from common.api.data import NoQuery
from common.feeds import FeedReader
from common.web import raw_json_response
from common.web.openapi import Blueprint
from storage_service.routes.context import data_context, get_route

bp = Blueprint("feeds", __name__)

_encoder = msgspec.json.Encoder()


@get_route(bp, "/feeds", NoQuery)
def list_feeds(_args: dict[str, Any]) -> Response:
    context = data_context()
    answer = FeedReader(context.redis, clock=context.clock).statuses()
    return raw_json_response(_encoder.encode(answer))
