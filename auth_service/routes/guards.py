"""Request checks every auth route shares: a JSON-object body, no query string, bearer tokens."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import request

from common.web import ApiError

P = ParamSpec("P")
R = TypeVar("R")


def json_object_body(*, optional: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse (400) a body that is not a JSON object before its fields are validated.

    Without this, webargs would call a non-JSON content type "missing fields" and an
    array "invalid input" (both 422); the contract says 400 for a malformed body.
    ``optional``: an empty body is accepted (its fields are then all absent).
    """

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            if not request.get_data(cache=True).strip():
                if not optional:
                    raise ApiError(400, "request body must be a JSON object")
            elif not request.is_json:
                raise ApiError(400, "Content-Type must be application/json")
            elif not isinstance(request.get_json(silent=True), dict):
                raise ApiError(400, "request body must be a JSON object")
            return view(*args, **kwargs)

        return checked

    return decorator


def reject_query_string() -> None:
    """``before_request`` hook: no auth route takes query parameters (422 names them)."""
    if request.args:
        names = sorted(request.args)
        raise ApiError(
            422,
            "invalid request: " + ", ".join(names),
            fields={name: ["Unknown field."] for name in names},
        )


def bearer_token() -> str:
    """The token of ``Authorization: Bearer <token>``; 401 ``invalid_token`` without one."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "missing bearer token",
            code="invalid_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token
