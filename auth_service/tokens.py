"""JWT access and refresh tokens: RS256 with a ``kid`` header, one error class per reason."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from auth_service.keys import ALGORITHM, SigningKeys

ISSUER = "optionsflow"
ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=7)
_REQUIRED = ("iss", "sub", "iat", "exp", "jti", "type", "role")


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


class TokenService:
    """Issues and verifies tokens with one signing key; ``clock`` is injectable for tests."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        access_ttl: dt.timedelta = ACCESS_TTL,
        refresh_ttl: dt.timedelta = REFRESH_TTL,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.keys = keys
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.clock = clock

    def _encode(self, claims: dict[str, Any], ttl: dt.timedelta, now: dt.datetime | None) -> str:
        issued = int((now or self.clock()).timestamp())
        payload = {
            "iss": ISSUER,
            "iat": issued,
            "exp": issued + int(ttl.total_seconds()),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(
            payload, self.keys.private_key, algorithm=ALGORITHM, headers={"kid": self.keys.kid}
        )

    def issue_access(self, sub: str, role: Role, *, now: dt.datetime | None = None) -> str:
        """An access token valid for ``access_ttl`` (15 min) from ``now``."""
        claims = {"sub": sub, "role": Role(role).value, "type": TokenType.ACCESS.value}
        return self._encode(claims, self.access_ttl, now)

    def issue_refresh(
        self, sub: str, role: Role, *, family: str | None = None, now: dt.datetime | None = None
    ) -> str:
        """A refresh token valid for ``refresh_ttl``; ``family=None`` starts a new session."""
        claims = {
            "sub": sub,
            "role": Role(role).value,
            "type": TokenType.REFRESH.value,
            "family": family or uuid.uuid4().hex,
        }
        return self._encode(claims, self.refresh_ttl, now)

    def verify(self, token: str, expected: TokenType) -> Claims:
        """Claims of a valid token of type ``expected``; :class:`TokenError` otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise TokenMalformedError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise TokenSignatureError("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenMalformedError("missing key id")
        if kid != self.keys.kid:
            raise TokenSignatureError("unknown key id")
        try:
            payload = jwt.decode(
                token,
                self.keys.public_key,
                algorithms=[ALGORITHM],  # pinned: no "none", no HS256 keyed with the public PEM
                issuer=ISSUER,
                # Time is checked below against the injectable clock.
                options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError as exc:
            raise TokenSignatureError("bad signature") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise TokenSignatureError("algorithm not allowed") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenMalformedError("wrong issuer") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenMalformedError("malformed token") from exc
        return self._claims(payload, expected)

    def _claims(self, payload: dict[str, Any], expected: TokenType) -> Claims:
        try:
            claims = Claims(
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
        if claims.type is not expected:
            raise TokenTypeError(f"wrong token type: expected {expected}")
        if claims.type is TokenType.REFRESH and claims.family is None:
            raise TokenMalformedError("malformed token")
        if claims.exp <= self.clock().timestamp():
            raise TokenExpiredError("token expired")
        return claims


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected an integer")
    return value
