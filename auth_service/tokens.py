"""JWT access and refresh tokens: RS256 with a ``kid`` header, one error class per reason.

Verification (and the claim and error types) live in :mod:`common.tokens`, shared
with the gateways; this module issues tokens with the service's signing key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from auth_service.keys import SigningKeys
from common.tokens import (
    ALGORITHM,
    ISSUER,
    Claims,
    Role,
    TokenError,
    TokenExpiredError,
    TokenMalformedError,
    TokenReusedError,
    TokenRevokedError,
    TokenSignatureError,
    TokenType,
    TokenTypeError,
    utcnow,
    verify_token,
)

__all__ = [
    "ACCESS_TTL", "ISSUER", "REFRESH_TTL", "Claims", "RefreshSession", "Role", "TokenError",
    "TokenExpiredError", "TokenMalformedError", "TokenReusedError", "TokenRevokedError",
    "TokenService", "TokenSignatureError", "TokenType", "TokenTypeError", "utcnow",
]  # fmt: skip

ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RefreshSession:
    """What a refresh token carries beyond :class:`Claims`: whom to re-read, since when."""

    name: str
    """The username at issue: refresh re-reads the user by it (the store finds users by name)."""
    auth_time: int
    """When the family started (the password login), epoch seconds; it ends ``refresh_ttl`` on."""


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

    def _encode(
        self,
        claims: dict[str, Any],
        ttl: dt.timedelta,
        now: dt.datetime | None,
        *,
        not_after: int | None = None,
        jti: str | None = None,
    ) -> str:
        issued = int((now or self.clock()).timestamp())
        exp = issued + int(ttl.total_seconds())
        payload = {
            "iss": ISSUER,
            "iat": issued,
            "exp": exp if not_after is None else min(exp, not_after),
            "jti": jti or uuid.uuid4().hex,
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
        self,
        sub: str,
        role: Role,
        *,
        name: str | None = None,
        family: str | None = None,
        auth_time: int | None = None,
        now: dt.datetime | None = None,
        jti: str | None = None,
    ) -> str:
        """A refresh token; ``family=None`` starts a new session (at ``auth_time``, default now).

        It expires ``refresh_ttl`` after ``auth_time``, however often the family rotated:
        a family has an absolute lifetime. ``name`` (the username) is what refresh
        re-reads the user by; a token without it verifies but cannot be refreshed.
        ``jti`` (default: random) is given when the store must know it before the token
        exists: it records which token of the family is current.
        """
        issued = int((now or self.clock()).timestamp())
        started = issued if auth_time is None else auth_time
        claims: dict[str, Any] = {
            "sub": sub,
            "role": Role(role).value,
            "type": TokenType.REFRESH.value,
            "family": family or uuid.uuid4().hex,
            "auth_time": started,
        }
        if name is not None:
            claims["name"] = name
        not_after = started + int(self.refresh_ttl.total_seconds())
        return self._encode(claims, self.refresh_ttl, now, not_after=not_after, jti=jti)

    def _key(self, kid: str) -> RSAPublicKey | None:
        return self.keys.public_key if kid == self.keys.kid else None

    def verify(self, token: str, expected: TokenType) -> Claims:
        """Claims of a valid token of type ``expected``; :class:`TokenError` otherwise."""
        return verify_token(token, expected, self._key, self.clock)

    def verify_refresh(self, token: str) -> tuple[Claims, RefreshSession]:
        """Claims and session of a valid refresh token that may still rotate.

        :class:`TokenMalformedError` for a token without ``name`` or ``auth_time`` (issued
        before they existed: log in again), :class:`TokenExpiredError` when its family
        started ``refresh_ttl`` or more ago.
        """
        claims = self.verify(token, TokenType.REFRESH)
        # The signature was checked just above; the shared Claims (common.tokens) carry
        # only what every verifier needs, so the session claims are read here.
        payload = jwt.decode(token, options={"verify_signature": False})
        name, auth_time = payload.get("name"), payload.get("auth_time")
        if not isinstance(name, str) or not name:
            raise TokenMalformedError("malformed token")
        if isinstance(auth_time, bool) or not isinstance(auth_time, int):
            raise TokenMalformedError("malformed token")
        if auth_time + self.refresh_ttl.total_seconds() <= self.clock().timestamp():
            raise TokenExpiredError("session expired")
        return claims, RefreshSession(name=name, auth_time=auth_time)
