"""JWT access and refresh tokens: RS256 with a ``kid`` header, one error class per reason.

Verification (and the claim and error types) live in :mod:`common.tokens`, shared
with the gateways; this module issues tokens with the service's signing key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
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
    "ACCESS_TTL", "ISSUER", "REFRESH_TTL", "Claims", "Role", "TokenError", "TokenExpiredError",
    "TokenMalformedError", "TokenReusedError", "TokenRevokedError", "TokenService",
    "TokenSignatureError", "TokenType", "TokenTypeError", "utcnow",
]  # fmt: skip

ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=7)


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

    def _key(self, kid: str) -> RSAPublicKey | None:
        return self.keys.public_key if kid == self.keys.kid else None

    def verify(self, token: str, expected: TokenType) -> Claims:
        """Claims of a valid token of type ``expected``; :class:`TokenError` otherwise."""
        return verify_token(token, expected, self._key, self.clock)
