"""``GET /alerts/history``: the caller's triggers, newest first, a page at a time.

Keyset pagination on (``triggered_at``, ``trigger_id``): the page's ``next`` is the
opaque cursor of its last trigger, ``null`` when no trigger follows (one more than
``limit`` is read to know).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from alert_service.context import alert_context, caller
from alert_service.routes.register import route
from common.api.alerts import HistoryQuery, encode_cursor
from common.web import json_response
from common.web.openapi import Blueprint

blp = Blueprint("alert_history", __name__, description="The caller's alert triggers.")


@route(blp, "GET", "/alerts/history", HistoryQuery, "query")
def history(args: dict[str, Any]) -> Response:
    owner, limit = caller(), int(args["limit"])
    rows = alert_context().repository().triggers_of(owner, limit=limit + 1, before=args["cursor"])
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    cursor = None if last is None else encode_cursor(last["triggered_at"], last["trigger_id"])
    return json_response({"triggers": page, "next": cursor})
