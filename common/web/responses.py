"""JSON responses serialised with orjson (datetimes as ISO-8601, NaN refused)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response
from flask.json.provider import JSONProvider

JSON_MIMETYPE = "application/json"


def dumps(obj: Any) -> bytes:
    """Serialise ``obj``; NaN and infinity become ``null`` (orjson's rule), keys stay as given."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(obj), status=status, headers=headers, mimetype=JSON_MIMETYPE)


def raw_json_response(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A response whose body is already JSON bytes (a cached payload, an upstream answer)."""
    return Response(body, status=status, headers=headers, mimetype=JSON_MIMETYPE)


class OrjsonProvider(JSONProvider):
    """Flask's ``app.json`` on orjson, so ``jsonify`` and flask-smorest use the fast encoder."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
