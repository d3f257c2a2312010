"""flask-smorest wired to the OptionsFlow error shape and strict argument parsing.

Services and the gateway declare routes on :class:`Blueprint` with marshmallow
schemas from ``common/api``: arguments are validated (422 naming the field,
unknown query parameters included) and the same schemas produce the OpenAPI 3
document.
"""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask, Response
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from common.api.errors import ErrorSchema
from common.web.errors import error_response, http_api_error


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # untyped base
    """A flask-smorest blueprint that rejects unknown arguments in every location."""

    ARGUMENTS_PARSER = FlaskParser(unknown=RAISE)


class Api(flask_smorest.Api):  # type: ignore[misc]  # untyped base
    """flask-smorest's Api answering HTTP errors in the ``{"error": {...}}`` shape."""

    ERROR_SCHEMA = ErrorSchema  # the documented default error body is the real one

    def handle_http_exception(self, error: HTTPException) -> Response:
        return error_response(http_api_error(error))


def make_api(app: Flask, title: str, *, spec_prefix: str | None = None, **config: Any) -> Api:
    """An :class:`Api` on ``app``; with ``spec_prefix`` the document is served there
    as ``openapi.json`` (the gateway's ``/api``), otherwise not served."""
    app.config.update(
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=spec_prefix,
        OPENAPI_JSON_PATH="openapi.json",
        **config,
    )
    return Api(app)
