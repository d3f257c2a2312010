"""Access-token check at the gateway: RS256 against the cached JWKS, then the deny-list.

A route whose :class:`RouteSpec` has ``auth=True`` needs ``Authorization: Bearer
<access token>``. The check runs between the per-IP limit (so every request, a
forged token included, is counted and a flood is stopped before any signature
is checked) and the per-user limit (keyed by the verified user). Tokens already
verified are reused (:class:`common.access.AccessTokens`); the deny-list is
consulted on every request (for latest-data routes by the view, in the round
trip of its Redis read: after the per-user limit and the validation, before
anything is served). A route with ``roles`` then answers 403 to a token of any
other role, before its input is validated or anything is forwarded. The claims
end in ``g.claims``, forwarded to the service as ``X-User-Id`` / ``X-User-Role``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis
from flask import Flask, current_app, g, request

from common.access import AccessTokens, DenyList, DenyListLost, JwksUnavailable
from common.api.routes import RouteSpec
from common.tokens import Claims, TokenError, TokenExpiredError
from common.web.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="optionsflow"'}
DENY_LIST_EXTENSION = "optionsflow.deny_list"
"""The app's :class:`common.access.DenyList` (whether this process has seen it whole)."""


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header; 401 when absent or malformed."""
    if not header:
        raise ApiError(401, "missing access token", code="unauthorized", headers=_CHALLENGE)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise ApiError(401, "expected 'Bearer <token>'", code="unauthorized", headers=_CHALLENGE)
    return token


def verify_access(token: str, tokens: AccessTokens) -> Claims:
    """Claims of a valid access token (reused when verified before); 401 (or 503 without
    keys) otherwise."""
    try:
        return tokens.claims(token)
    except JwksUnavailable as exc:
        raise ApiError(
            503, "token keys unavailable", code="unavailable", headers={"Retry-After": "1"}
        ) from exc
    except TokenExpiredError as exc:
        raise ApiError(401, str(exc), code="token_expired", headers=_CHALLENGE) from exc
    except TokenError as exc:
        raise ApiError(401, str(exc), code="invalid_token", headers=_CHALLENGE) from exc


def revoked_error() -> ApiError:
    return ApiError(401, "token revoked", code="token_revoked", headers=_CHALLENGE)


def judge_revocation(reply: Sequence[bytes | str | None]) -> None:
    """From the ``MGET`` of ``DenyList.keys``: 401 when the token is on the deny-list
    (logged out); 503 while auth_service writes back a deny-list Redis lost."""
    deny_list: DenyList = current_app.extensions[DENY_LIST_EXTENSION]
    try:
        revoked = deny_list.judge(reply)
    except DenyListLost as exc:
        raise ApiError(503, str(exc), code="unavailable", headers={"Retry-After": "1"}) from exc
    if revoked:
        raise revoked_error()


def check_not_revoked(claims: Claims, client: redis.Redis) -> None:
    """:func:`judge_revocation` of the token, in one round trip."""
    judge_revocation(client.mget(DenyList.keys(claims.jti)))


def require_role(spec: RouteSpec, claims: Claims) -> None:
    """403 ``forbidden`` when the (valid) token's role may not use the route."""
    if not spec.allows(claims.role):
        allowed = " or ".join(sorted(spec.roles or ()))
        raise ApiError(403, f"this route needs the {allowed} role", code="forbidden")


def install_authentication(
    app: Flask,
    routes: Mapping[str, RouteSpec],
    tokens: AccessTokens,
    client: redis.Redis,
) -> None:
    """Check the token of every request to a route that needs one (``routes`` by endpoint).

    Install after the per-IP limiter and before the per-user one.
    """

    app.extensions[DENY_LIST_EXTENSION] = tokens.deny_list

    @app.before_request
    def _authenticate() -> None:
        spec = routes.get(request.endpoint or "")
        if spec is None or not spec.auth:
            return
        claims = verify_access(bearer_token(request.headers.get("Authorization")), tokens)
        if spec.edge_key is None:
            check_not_revoked(claims, client)
        # else the view checks it in the round trip of its Redis read (api_gateway.edge)
        require_role(spec, claims)
        g.claims = claims
