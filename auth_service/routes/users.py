"""``POST /auth/register``: create a user with role ``user``."""

from __future__ import annotations

from typing import Any

from auth_service import accounts
from auth_service.limits import per_client_ip
from auth_service.routes.blueprint import AuthBlueprint
from auth_service.routes.guards import json_object_body, reject_query_string
from auth_service.state import auth_state
from common.api.auth import RegisterBody, UserPublic
from common.web import ApiError
from store import DuplicateUser

bp = AuthBlueprint("auth_users", __name__, url_prefix="/auth")
bp.before_request(reject_query_string)


@bp.route("/register", methods=["POST"], endpoint="auth_register")
@per_client_ip
@json_object_body()
@bp.arguments(RegisterBody)
@bp.response(201, UserPublic)
def register(body: dict[str, str]) -> dict[str, Any]:
    try:
        return accounts.register(auth_state().store, body["username"], body["password"])
    except DuplicateUser:
        raise ApiError(
            409,
            "username is taken",
            code="username_taken",
            fields={"username": ["Username is taken."]},
        ) from None
