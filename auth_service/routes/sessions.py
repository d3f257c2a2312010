"""``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``: token pairs and their end.

Tokens and passwords never reach a log line or an error message.

Browsers keep the refresh token where their scripts cannot read it: a login with
``refresh_cookie: true`` sets it as an HttpOnly, SameSite=Strict cookie sent only to the
refresh and logout paths, and leaves it out of the answer (the page keeps the access token
in memory). A refresh or logout that uses the cookie must carry the CSRF token in
``X-CSRF-Token``: an HMAC of the family under a key derived from the signing key, also set
as a cookie the page's script can read (double submit, bound to the session, so a cookie
planted by a sibling host does not help), and is refused when the browser says it comes
from another site (``Sec-Fetch-Site``). API clients may still send the refresh token in
the body (no cookie, no CSRF token: nothing a browser sends by itself).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from typing import Any, NoReturn

import jwt
from cryptography.hazmat.primitives import serialization
from flask import Response, after_this_request, request

from auth_service import accounts
from auth_service.keys import SigningKeys
from auth_service.limits import per_client_ip, per_username
from auth_service.routes.blueprint import AuthBlueprint
from auth_service.routes.guards import bearer_token, json_object_body, reject_query_string
from auth_service.state import AuthState, auth_state
from auth_service.tokens import Claims, Role, TokenError, TokenReusedError, TokenType
from common.api.auth import LoginBody, LogoutBody, RefreshBody, TokenPairSchema
from common.web import ApiError

bp = AuthBlueprint("auth_sessions", __name__, url_prefix="/auth")
bp.before_request(reject_query_string)

INVALID_CREDENTIALS = "invalid username or password"
"""One message for an unknown user and a wrong password."""

REFRESH_COOKIE = "optionsflow_refresh"
CSRF_COOKIE = "optionsflow_csrf"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATHS = ("/api/auth/refresh", "/api/auth/logout")
"""The public paths (through the gateway) that read the refresh cookie; it goes nowhere else."""
_CSRF_KEYS: dict[str, bytes] = {}


def csrf_token(keys: SigningKeys, family: str) -> str:
    """The CSRF token of refresh family ``family``: HMAC-SHA256 under a key derived from the
    signing key (every auth_service instance holds it), base64url."""
    key = _CSRF_KEYS.get(keys.kid)
    if key is None:
        der = keys.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key = _CSRF_KEYS[keys.kid] = hashlib.sha256(b"optionsflow csrf\0" + der).digest()
    mac = hmac.new(key, family.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _set_cookies(state: AuthState, refresh_token: str) -> None:
    """Set the refresh cookie (each path of :data:`COOKIE_PATHS`) and the CSRF cookie on the
    answer, both lasting as long as the family."""
    payload = jwt.decode(refresh_token, options={"verify_signature": False})
    max_age = max(0, int(payload["exp"]) - int(state.tokens.clock().timestamp()))
    csrf = csrf_token(state.tokens.keys, str(payload["family"]))
    secure = state.settings.http.refresh_cookie_secure

    @after_this_request
    def _cookies(response: Response) -> Response:
        for path in COOKIE_PATHS:
            response.set_cookie(REFRESH_COOKIE, refresh_token, max_age=max_age, path=path,
                                secure=secure, httponly=True, samesite="Strict")  # fmt: skip
        response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, path="/", secure=secure,
                            httponly=False, samesite="Strict")  # fmt: skip
        return response


def _clear_cookies(state: AuthState) -> None:
    secure = state.settings.http.refresh_cookie_secure

    @after_this_request
    def _cleared(response: Response) -> Response:
        for path in COOKIE_PATHS:
            response.delete_cookie(REFRESH_COOKIE, path=path, secure=secure, httponly=True,
                                   samesite="Strict")  # fmt: skip
        response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="Strict")
        return response


def _cookie_refresh_claims(state: AuthState) -> tuple[str, Claims]:
    """The refresh cookie and its claims, after the CSRF checks: 401 without a valid cookie,
    403 for a cross-site request or a missing or wrong CSRF token."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise ApiError(401, "missing refresh token", code="invalid_token")
    try:
        claims = state.tokens.verify(token, TokenType.REFRESH)
    except TokenError as exc:
        _clear_cookies(state)
        _invalid_token(exc)
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        raise ApiError(403, "cross-site request refused", code="csrf")
    assert claims.family is not None
    sent = request.headers.get(CSRF_HEADER, "").encode()
    if not hmac.compare_digest(sent, csrf_token(state.tokens.keys, claims.family).encode()):
        raise ApiError(403, "missing or wrong CSRF token", code="csrf")
    return token, claims


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
def login(body: dict[str, Any]) -> dict[str, Any]:
    state = auth_state()
    user = accounts.authenticate(state.store, body["username"], body["password"])
    if user is None:
        raise ApiError(401, INVALID_CREDENTIALS, code="invalid_credentials")
    pair = state.sessions.login(user["id"], Role(user["role"]), user["username"])
    answer = dataclasses.asdict(pair)
    if body.get("refresh_cookie"):
        _set_cookies(state, answer.pop("refresh_token"))
    return answer


@bp.route("/refresh", methods=["POST"], endpoint="auth_refresh")
@json_object_body()
@bp.arguments(RefreshBody)
@bp.response(200, TokenPairSchema)
def refresh(body: dict[str, str]) -> dict[str, Any]:
    state = auth_state()
    from_cookie = "refresh_token" not in body
    token = _cookie_refresh_claims(state)[0] if from_cookie else body["refresh_token"]
    try:
        # The store is touched only for a token that verifies (a lambda: opened lazily).
        pair = state.sessions.rotate(token, lambda name: state.store.find_user(name))
    except TokenReusedError as exc:
        if from_cookie:
            _clear_cookies(state)
        raise ApiError(401, str(exc), code="token_reused") from None
    except TokenError as exc:
        if from_cookie:
            _clear_cookies(state)
        _invalid_token(exc)
    answer = dataclasses.asdict(pair)
    if from_cookie:
        _set_cookies(state, answer.pop("refresh_token"))
    return answer


@bp.route("/logout", methods=["POST"], endpoint="auth_logout")
@json_object_body(optional=True)
@bp.arguments(LogoutBody, required=False)
@bp.response(204)
def logout(body: dict[str, str]) -> None:
    """Revoke the bearer access token and the given refresh token's family (the body's, else
    the refresh cookie's, whose CSRF token is then required; the cookies are cleared).

    Both are checked before either is revoked, so a 401 or 403 changes nothing.
    """
    state = auth_state()
    try:
        access = state.sessions.verify_access(bearer_token())
    except TokenError as exc:
        _invalid_token(exc, bearer=True)
    family = None
    refresh_claims: Claims | None = None
    if "refresh_token" in body:
        try:
            refresh_claims = state.tokens.verify(body["refresh_token"], TokenType.REFRESH)
        except TokenError as exc:
            _invalid_token(exc)
    elif REFRESH_COOKIE in request.cookies:
        refresh_claims = _cookie_refresh_claims(state)[1]
    if refresh_claims is not None:
        if refresh_claims.sub != access.sub:
            raise ApiError(401, "refresh token belongs to another user", code="invalid_token")
        family = refresh_claims.family
    if "refresh_token" not in body and REFRESH_COOKIE in request.cookies:
        _clear_cookies(state)
    state.sessions.revoke_access(access.jti, access.exp)
    if family is not None:
        state.sessions.revoke_family(family)
