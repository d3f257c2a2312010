"""``GET /logs``: filed lines by trace id, service, lowest level and time range.

Log lines tell about every user, so only administrators read them: through the gateway,
which checks the token's role (``GET /api/logs``) and says it in ``X-User-Role``. The
service checks that header too, and trusts it because only the gateway, presenting the
service credential, reaches it (``common/web/servicecred.py``): a direct caller is refused
before this, and a gateway route that lost its role rule still leaks nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from common.api.logs import LogsQuerySchema, LogsSchema
from common.settings import Settings
from common.tokens import Role
from common.web import ApiError, raw_json_response
from common.web.openapi import Blueprint
from logging_service.index import LogIndex, Query
from logging_service.records import LEVELS, to_us

blp = Blueprint("logs", __name__, description="Log lines of every service.")


def logs(args: dict[str, Any]) -> Response:
    """Lines matching every given filter, in time order (``order``), at most ``limit``."""
    _require_admin()
    index: LogIndex = current_app.extensions["log_index"]
    start, end = args.get("start"), args.get("end")
    limit = args["limit"]
    lines = index.search(
        Query(
            trace_id=args.get("trace_id"),
            service=args.get("service"),
            min_level=LEVELS[args["level"]] if "level" in args else 0,
            start_us=to_us(start) if start else None,
            end_us=to_us(end) if end else None,
            limit=limit + 1,  # one more tells whether the answer is truncated
            newest_first=args["order"] == "desc",
        )
    )
    truncated = len(lines) > limit
    lines = lines[:limit]
    head = f'{{"count":{len(lines)},"truncated":{"true" if truncated else "false"},"lines":['
    return raw_json_response((head + ",".join(lines) + "]}").encode())


def _require_admin() -> None:
    """403 unless the gateway says the caller is an administrator. Without ``SERVICE_TOKEN``
    (development only) nothing vouches for the header, and the service is open anyway."""
    settings: Settings = current_app.config["SETTINGS"]
    if settings.trust.service_token is None:
        return
    if request.headers.get("X-User-Role") != Role.ADMIN.value:
        raise ApiError(403, "log lines are for administrators", code="forbidden")


# flask-smorest's decorators are untyped: applied as calls, the view keeps its signature.
blp.route("/logs", methods=["GET"])(
    blp.arguments(LogsQuerySchema(), location="query")(blp.response(200, LogsSchema)(logs))
)
