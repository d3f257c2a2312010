"""Verification of OptionsFlow JWTs, shared by auth_service and the gateways.

Only RS256 with a ``kid`` in the header is accepted ("none", HS256 keyed with a
public PEM and unknown keys are refused before any claim is read). The public
key comes from a lookup by ``kid`` — auth_service's own key or a gateway's
cached JWKS — so key rotation needs no change here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

ISSUER = "optionsflow"
ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("iss", "sub", "iat", "exp", "jti", "type", "role")


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class TokenError(Exception):
    """A token was rejected; the message is short and safe to return to a client."""


class TokenExpiredError(TokenError):
    pass


class TokenSignatureError(TokenError):
    """Bad signature, a disallowed algorithm or an unknown key id."""


class TokenTypeError(TokenError):
    pass


class TokenMalformedError(TokenError):
    pass


class TokenRevokedError(TokenError):
    pass


class TokenReusedError(TokenError):
    """A rotated refresh token was presented again; its family is now revoked."""


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str
    role: Role
    type: TokenType
    jti: str
    iat: int
    exp: int
    """Seconds since the epoch (UTC)."""
    family: str | None = None
    """Refresh tokens only: the login session they descend from."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


KeyLookup = Callable[[str], RSAPublicKey | None]
"""``kid`` → the public key that verifies it, or ``None`` if unknown."""


def token_kid(token: str) -> str:
    """The ``kid`` of an RS256 token's header; :class:`TokenError` for anything else."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:  # DecodeError, and InvalidTokenError for a bad kid or crit
        raise TokenMalformedError("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenSignatureError("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenMalformedError("missing key id")
    return kid


def verify_token(
    token: str,
    expected: TokenType,
    keys: KeyLookup,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Claims:
    """Claims of a valid token of type ``expected``; :class:`TokenError` otherwise."""
    key = keys(token_kid(token))
    if key is None:
        raise TokenSignatureError("unknown key id")
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # pinned: no "none", no HS256 keyed with the public PEM
            issuer=ISSUER,
            # Time is checked below against the injectable clock.
            options={"require": list(REQUIRED_CLAIMS), "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenSignatureError("bad signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise TokenSignatureError("algorithm not allowed") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenMalformedError("wrong issuer") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenMalformedError("malformed token") from exc
    claims = _claims(payload)
    if claims.type is not expected:
        raise TokenTypeError(f"wrong token type: expected {expected}")
    if claims.type is TokenType.REFRESH and claims.family is None:
        raise TokenMalformedError("malformed token")
    if claims.exp <= clock().timestamp():
        raise TokenExpiredError("token expired")
    return claims


def _claims(payload: dict[str, Any]) -> Claims:
    try:
        return Claims(
            sub=_str(payload["sub"]),
            role=Role(payload["role"]),
            type=TokenType(payload["type"]),
            jti=_str(payload["jti"]),
            iat=_int(payload["iat"]),
            exp=_int(payload["exp"]),
            family=_str(payload["family"]) if "family" in payload else None,
        )
    except (TypeError, ValueError) as exc:
        raise TokenMalformedError("malformed token") from exc


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value
