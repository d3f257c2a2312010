"""Schemas and routes of auth_service: register, login, refresh, logout, JWKS.

Load schemas (``*Body``) validate what clients send; dump schemas describe what the
service answers. Every status a route can answer is in its ``responses``, with the
schema its body matches exactly.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields
from marshmallow.validate import Length, OneOf, Regexp

from common.api.errors import ErrorSchema
from common.api.routes import Priority, RouteSpec, Upstream

ROLES = ("user", "admin")
"""Roles a user can have; registration always gives ``user``."""

USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MIN, PASSWORD_MAX = 8, 128
TOKEN_MAX = 4096
"""Longest token accepted (ours are under 1,000 characters); bounds work on junk."""


class FullMatch(Regexp):
    """A :class:`Regexp` matched against the whole value.

    ``Regexp`` uses ``re.match``, whose ``$`` also matches before a trailing newline;
    the pattern stays plain ``^…$`` so the OpenAPI document (ECMA-262) can use it.
    """

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


USERNAME_PATTERN = "^[A-Za-z0-9_.-]+$"


def _username() -> fields.String:
    return fields.String(
        required=True,
        validate=[
            Length(USERNAME_MIN, USERNAME_MAX),
            FullMatch(USERNAME_PATTERN, error="Only letters, digits, '_', '.' and '-'."),
        ],
        metadata={"description": "Unique case-insensitively.", "example": "alice"},
    )


def _token(description: str, *, required: bool = True) -> fields.String:
    return fields.String(
        required=required, validate=Length(1, TOKEN_MAX), metadata={"description": description}
    )


# -- request bodies ------------------------------------------------------------------


class RegisterBody(Schema):
    username = _username()
    password = fields.String(
        required=True,
        validate=Length(PASSWORD_MIN, PASSWORD_MAX),
        metadata={"description": f"{PASSWORD_MIN}–{PASSWORD_MAX} characters."},
    )


class LoginBody(Schema):
    username = _username()
    password = fields.String(
        required=True,
        # No minimum beyond 1: a short password is simply wrong (401), not malformed.
        validate=Length(1, PASSWORD_MAX),
    )
    refresh_cookie = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Browsers: true sets the refresh token as an HttpOnly cookie (and a "
            "CSRF cookie) and leaves it out of the answer."
        },
    )


class RefreshBody(Schema):
    refresh_token = _token(
        "The refresh token of the last login or refresh; works once. Absent: the refresh "
        "cookie, with the X-CSRF-Token header.",
        required=False,
    )


class LogoutBody(Schema):
    refresh_token = _token(
        "Revoke this refresh token's session too (it must belong to the same user).",
        required=False,
    )


# -- responses -----------------------------------------------------------------------


class UserPublic(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True, metadata={"description": "As registered."})
    role = fields.String(required=True, validate=OneOf(ROLES))
    created_at = fields.String(
        required=True,
        metadata={"format": "date-time", "example": "2026-11-21T09:41:00.123Z"},
    )


class TokenPairSchema(Schema):
    access_token = fields.String(required=True, metadata={"description": "RS256 JWT."})
    refresh_token = fields.String(
        metadata={"description": "RS256 JWT; absent when it was set as a cookie."}
    )
    token_type = fields.String(required=True, validate=OneOf(["Bearer"]))
    expires_in = fields.Integer(
        required=True, metadata={"description": "Lifetime of the access token in seconds."}
    )


class JwkSchema(Schema):
    kty = fields.String(required=True, validate=OneOf(["RSA"]))
    n = fields.String(required=True, metadata={"description": "Modulus, base64url."})
    e = fields.String(required=True, metadata={"description": "Exponent, base64url."})
    kid = fields.String(required=True, metadata={"description": "RFC 7638 thumbprint."})
    alg = fields.String(required=True, validate=OneOf(["RS256"]))
    use = fields.String(required=True, validate=OneOf(["sig"]))


class JwksSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema), required=True)


# -- routes --------------------------------------------------------------------------

_BODY_ERRORS: dict[int, type[Schema] | None] = {
    400: ErrorSchema,  # not JSON, not an object
    413: ErrorSchema,  # over 64 KiB
    422: ErrorSchema,  # a field fails validation
    503: ErrorSchema,  # Redis or the store unreachable; login: every hashing slot busy
}

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        name="auth_register",
        method="POST",
        path="/auth/register",
        upstream=Upstream.AUTH,
        summary="Create a user (role user).",
        body=RegisterBody,
        responses={201: UserPublic, 409: ErrorSchema, 429: ErrorSchema, **_BODY_ERRORS},
        auth=False,
        priority=Priority.LIVE,
        tags=("auth",),
    ),
    RouteSpec(
        name="auth_login",
        method="POST",
        path="/auth/login",
        upstream=Upstream.AUTH,
        summary="Exchange a username and password for an access and refresh token.",
        body=LoginBody,
        responses={200: TokenPairSchema, 401: ErrorSchema, 429: ErrorSchema, **_BODY_ERRORS},
        auth=False,
        priority=Priority.LIVE,
        tags=("auth",),
    ),
    RouteSpec(
        name="auth_refresh",
        method="POST",
        path="/auth/refresh",
        upstream=Upstream.AUTH,
        summary="Exchange a refresh token for a new pair; a reused one revokes its session.",
        body=RefreshBody,
        responses={200: TokenPairSchema, 401: ErrorSchema, 403: ErrorSchema, **_BODY_ERRORS},
        auth=False,
        priority=Priority.LIVE,
        tags=("auth",),
    ),
    RouteSpec(
        name="auth_logout",
        method="POST",
        path="/auth/logout",
        upstream=Upstream.AUTH,
        summary="Revoke the bearer access token and, if given, the refresh token's session.",
        body=LogoutBody,
        responses={204: None, 401: ErrorSchema, 403: ErrorSchema, **_BODY_ERRORS},
        auth=True,
        priority=Priority.LIVE,
        tags=("auth",),
    ),
    RouteSpec(
        name="auth_jwks",
        method="GET",
        path="/auth/jwks.json",
        upstream=Upstream.AUTH,
        summary="The public keys that verify access tokens (cache for Cache-Control max-age).",
        responses={200: JwksSchema, 422: ErrorSchema},
        auth=False,
        priority=Priority.LIVE,
        tags=("auth",),
    ),
)
