"""``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``: token pairs and their end.

Tokens and passwords never reach a log line or an error message.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NoReturn

from auth_service import accounts
from auth_service.limits import per_client_ip, per_username
from auth_service.routes.blueprint import AuthBlueprint
from auth_service.routes.guards import bearer_token, json_object_body, reject_query_string
from auth_service.state import auth_state
from auth_service.tokens import Role, TokenError, TokenReusedError, TokenType
from common.api.auth import LoginBody, LogoutBody, RefreshBody, TokenPairSchema
from common.web import ApiError

bp = AuthBlueprint("auth_sessions", __name__, url_prefix="/auth")
bp.before_request(reject_query_string)

INVALID_CREDENTIALS = "invalid username or password"
"""One message for an unknown user and a wrong password."""


def _invalid_token(exc: TokenError, *, bearer: bool = False) -> NoReturn:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if bearer else None
    # TokenError messages are short and written to be shown to clients.
    raise ApiError(401, str(exc), code="invalid_token", headers=headers) from None


@bp.route("/login", methods=["POST"], endpoint="auth_login")
@per_client_ip
@per_username
@json_object_body()
@bp.arguments(LoginBody)
@bp.response(200, TokenPairSchema)
def login(body: dict[str, str]) -> dict[str, Any]:
    state = auth_state()
    user = accounts.authenticate(state.store, body["username"], body["password"])
    if user is None:
        raise ApiError(401, INVALID_CREDENTIALS, code="invalid_credentials")
    pair = state.sessions.login(user["id"], Role(user["role"]), user["username"])
    return dataclasses.asdict(pair)


@bp.route("/refresh", methods=["POST"], endpoint="auth_refresh")
@json_object_body()
@bp.arguments(RefreshBody)
@bp.response(200, TokenPairSchema)
def refresh(body: dict[str, str]) -> dict[str, Any]:
    state = auth_state()
    try:
        # The store is touched only for a token that verifies (a lambda: opened lazily).
        pair = state.sessions.rotate(
            body["refresh_token"], lambda name: state.store.find_user(name)
        )
    except TokenReusedError as exc:
        raise ApiError(401, str(exc), code="token_reused") from None
    except TokenError as exc:
        _invalid_token(exc)
    return dataclasses.asdict(pair)


@bp.route("/logout", methods=["POST"], endpoint="auth_logout")
@json_object_body(optional=True)
@bp.arguments(LogoutBody, required=False)
@bp.response(204)
def logout(body: dict[str, str]) -> None:
    """Revoke the bearer access token and the given refresh token's family.

    Both are checked before either is revoked, so a 401 changes nothing.
    """
    state = auth_state()
    try:
        access = state.sessions.verify_access(bearer_token())
    except TokenError as exc:
        _invalid_token(exc, bearer=True)
    family = None
    if "refresh_token" in body:
        try:
            refresh_claims = state.tokens.verify(body["refresh_token"], TokenType.REFRESH)
        except TokenError as exc:
            _invalid_token(exc)
        if refresh_claims.sub != access.sub:
            raise ApiError(401, "refresh token belongs to another user", code="invalid_token")
        family = refresh_claims.family
    state.sessions.revoke_access(access.jti, access.exp)
    if family is not None:
        state.sessions.revoke_family(family)
