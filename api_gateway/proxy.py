"""The gateway's ``/api`` routes, built from the services' :class:`RouteSpec` tables.

Each route validates its path, query and body with the service's own schemas
(422 naming the field before anything is forwarded), documents itself in the
OpenAPI document, and forwards the request unchanged over the pooled client
with the trace id, the client address and the caller's identity; a route with
an ``edge_key`` is first looked up in Redis (:mod:`api_gateway.edge`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote_from_bytes

import orjson
from flask import Response, current_app, g, request
from marshmallow import Schema, fields, validate

from api_gateway.edge import AGE_EXTENSION, edge_answer
from api_gateway.limits import keep_upstream_limit_headers
from api_gateway.upstream import Upstreams
from common.api.alerts import AlertIdPath
from common.api.errors import ErrorSchema
from common.api.paper import OrderIdPath
from common.api.routes import Priority, RouteSpec
from common.api.strategies import StrategyIdPath
from common.jsonlog import current_trace_id
from common.latest import DATA_AGE_HEADER, DATA_AGE_LIMIT_HEADER, DATA_AGE_STALE_HEADER
from common.messages import PRODUCT_PATTERN
from common.web.errors import ApiError
from common.web.openapi import Blueprint
from common.web.responses import raw_json_response
from common.web.tracing import TRACE_HEADER

API_PREFIX = "/api"
REDIS_EXTENSION = "optionsflow_redis"
UPSTREAMS_EXTENSION = "optionsflow_upstreams"
BEARER = "bearerAuth"

_PASSED_BACK = (
    "Retry-After", "X-Cache", "X-Data-Stale", "Cache-Control", "Location", "WWW-Authenticate",
    DATA_AGE_HEADER, DATA_AGE_LIMIT_HEADER, DATA_AGE_STALE_HEADER,
)  # fmt: skip
_ATTACHMENT_TYPES = ("text/csv",)
"""Answers relayed with their own type (paper trades' CSV export), not as JSON."""
_ATTACHMENT_HEADERS = ("Content-Disposition", "X-Next-Cursor")
_TO_AUTH = ("Cookie", "X-CSRF-Token", "Sec-Fetch-Site")
"""Browser headers auth_service reads: the refresh cookie and its CSRF checks."""
_PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_DESCRIPTIONS = {
    400: "Malformed request body.",
    401: "Missing, invalid, expired or revoked access token.",
    403: "The access token's role may not use this route.",
    404: "Nothing stored for this request.",
    409: "Conflict.",
    422: "A parameter failed validation; `fields` names it.",
    429: "Rate limited; see Retry-After.",
    502: "The service behind the gateway cannot be reached.",
    503: "Unavailable or shedding load; see Retry-After.",
    504: "The service behind the gateway timed out.",
}


class ProductPath(Schema):
    product = fields.String(
        required=True,
        validate=validate.Regexp(PRODUCT_PATTERN),
        metadata={"example": "NIFTY", "description": "Product symbol, e.g. NIFTY"},
    )


PATH_SCHEMAS: Mapping[frozenset[str], type[Schema]] = {
    frozenset({"product"}): ProductPath,
    frozenset({"alert_id"}): AlertIdPath,
    frozenset({"strategy_id"}): StrategyIdPath,
    frozenset({"order_id"}): OrderIdPath,
}
"""The schema of each set of path parameters a route may have (validated, 422 naming the
parameter, and documented in OpenAPI)."""


def _path_schema(path: str) -> type[Schema] | None:
    names = frozenset(_PATH_PARAM.findall(path))
    if not names:
        return None
    schema = PATH_SCHEMAS.get(names)
    if schema is None:
        raise ValueError(f"no path schema for parameters {sorted(names)} in {path}")
    return schema


def forward(spec: RouteSpec) -> Response:
    """Send the current request to ``spec``'s service and relay its answer."""
    upstreams: Upstreams = current_app.extensions[UPSTREAMS_EXTENSION]
    path = request.path[len(API_PREFIX) :]
    if request.query_string:  # as received; raw non-ASCII bytes percent-encoded, not re-decoded
        path += "?" + quote_from_bytes(request.query_string, safe="=&+%/:,;@!$'()*?")
    headers = {
        TRACE_HEADER: current_trace_id() or "",
        "X-Forwarded-For": request.remote_addr or "",
        "Accept": "application/json",
    }
    claims = g.get("claims")
    if claims is not None:
        headers["X-User-Id"] = claims.sub
        headers["X-User-Role"] = claims.role.value
    authorization = request.headers.get("Authorization")
    if authorization and spec.upstream == "auth":  # logout needs the token it revokes
        headers["Authorization"] = authorization
    if spec.upstream == "auth":
        headers.update({k: request.headers[k] for k in _TO_AUTH if k in request.headers})
    body = request.get_data() if request.method in {"POST", "PUT", "PATCH"} else None
    if body is not None:
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
    answer = upstreams.call(spec.upstream, request.method, path, headers=headers, body=body)
    passed = {k: answer.headers[k] for k in _PASSED_BACK if k in answer.headers}
    keep_upstream_limit_headers(answer.status, dict(answer.headers))
    kind = answer.headers.get("Content-Type", "")
    if not answer.body:
        response = Response(status=answer.status, headers=passed)
    elif answer.status == 200 and kind.startswith(_ATTACHMENT_TYPES):  # an export, as it is
        passed.update({k: answer.headers[k] for k in _ATTACHMENT_HEADERS if k in answer.headers})
        response = Response(answer.body, status=200, headers=passed, content_type=kind)
    else:
        response = raw_json_response(answer.body, answer.status, passed)
    if spec.upstream == "auth":  # each cookie apart: joined, "Expires=Thu, 01 Jan…" would break
        getlist = getattr(answer.headers, "getlist", None)
        for cookie in getlist("Set-Cookie") if getlist is not None else ():
            response.headers.add("Set-Cookie", cookie)
    return response


def _view(spec: RouteSpec) -> Callable[..., Response]:
    def view(*parsed: Mapping[str, Any], **path: Any) -> Response:
        if spec.edge_key is not None:
            args = dict(path)
            for validated in parsed:  # path and query arguments, as their schemas loaded them
                args.update(validated)
            client = current_app.extensions[REDIS_EXTENSION]
            rule = current_app.extensions.get(AGE_EXTENSION)
            answer = edge_answer(spec, args, client, g.get("claims"), rule)
            if answer is not None:
                return answer
        return forward(spec)

    view.__name__ = view.__qualname__ = spec.name
    return view


def _gateway_statuses(spec: RouteSpec) -> set[int]:
    statuses = {422, 429, 502, 504}
    if spec.auth:
        statuses |= {401, 503}
    if spec.roles is not None:
        statuses.add(403)
    if spec.priority is Priority.HEAVY:
        statuses.add(503)
    if spec.body is not None:
        statuses.add(400)
    return statuses


def _document(blp: Blueprint, spec: RouteSpec, view: Callable[..., Response]) -> Any:
    decorated: Any = view
    successes = sorted(s for s in spec.responses if s < 300)
    first = successes[0] if successes else 200
    for status in sorted(set(spec.responses) | _gateway_statuses(spec), reverse=True):
        if status == first:
            continue
        schema = spec.responses.get(status) or (ErrorSchema if status >= 400 else None)
        decorated = blp.alt_response(
            status, schema=schema, description=_DESCRIPTIONS.get(status, "Alternative answer.")
        )(decorated)
    decorated = blp.response(first, spec.responses.get(first), description=spec.summary)(decorated)
    # Schema instances, not classes: webargs would build a new instance per request.
    if spec.body is not None:
        decorated = blp.arguments(spec.body(), location="json")(decorated)
    if spec.query is not None:
        decorated = blp.arguments(spec.query(), location="query")(decorated)
    path_schema = _path_schema(spec.path)
    if path_schema is not None:
        decorated = blp.arguments(path_schema(), location="path")(decorated)
    doc: dict[str, Any] = {"summary": spec.summary, "operationId": spec.name}
    if spec.tags:
        doc["tags"] = list(spec.tags)
    if spec.auth:
        doc["security"] = [{BEARER: []}]
    if spec.roles is not None:
        roles = " or ".join(sorted(spec.roles))
        doc["description"] = f"Needs the {roles} role: a token of another role is answered 403."
    return blp.doc(**doc)(decorated)


def require_json_object(routes: Mapping[str, RouteSpec]) -> Callable[[], None]:
    """A hook answering 400 when a route with a body gets anything but a JSON object.

    Parsed with orjson (depth-limited) before webargs parses it again, so a
    nested or non-object body is a clear 400, never a 422 or a 500.
    """

    def _check_body() -> None:
        spec = routes.get(request.endpoint or "")
        if spec is None or spec.body is None:
            return
        try:
            parsed = orjson.loads(request.get_data())
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "request body must be a JSON object") from exc
        if not isinstance(parsed, dict):
            raise ApiError(400, "request body must be a JSON object")

    return _check_body


def build_blueprint(routes: Iterable[RouteSpec]) -> Blueprint:
    blp = Blueprint("api", __name__, url_prefix=API_PREFIX, description="OptionsFlow REST API")
    for spec in routes:
        view = _document(blp, spec, _view(spec))
        blp.route(spec.path, methods=[spec.method], endpoint=spec.name)(view)
    return blp
