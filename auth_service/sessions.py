"""Refresh-token rotation with reuse detection, logout and the access-token deny-list, in Redis.

Every login starts a *family*; each refresh hands out a new pair in the same family
and marks the presented refresh ``jti`` used (atomically, in one Lua script). A used
token presented again means it leaked: the whole family is revoked. A refresh re-reads
the user (a deleted user's family is revoked, a changed role is in the new pair), and
a family ends ``refresh_ttl`` after its login however often it rotated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from auth_service.tokens import (
    Claims,
    Role,
    TokenReusedError,
    TokenRevokedError,
    TokenService,
    TokenType,
)
from common.names import access_revoked_key, refresh_family_revoked_key, refresh_used_key

FindUser = Callable[[str], Mapping[str, Any] | None]
"""username → the stored user ``{id, username, role, …}`` or ``None`` (``Store.find_user``)."""

# KEYS: used marker of the presented jti, family revocation marker.
# ARGV: used-marker TTL (ms), family-revocation TTL (ms).
_CLAIM_REFRESH = """
if redis.call('EXISTS', KEYS[2]) == 1 then
    return 'revoked'
end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
    return 'ok'
end
redis.call('SET', KEYS[2], 'reuse', 'PX', ARGV[2])
return 'reused'
"""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    """Lifetime of the access token in seconds."""
    token_type: str = "Bearer"


class SessionStore:
    """Issues token pairs and keeps refresh families and revoked access tokens in Redis."""

    def __init__(self, client: redis.Redis, tokens: TokenService) -> None:
        self._redis = client
        self._tokens = tokens
        self._claim = client.register_script(_CLAIM_REFRESH)

    def _ttl_ms(self, exp: int) -> int:
        return max(1, math.ceil((exp - self._tokens.clock().timestamp()) * 1000))

    def _pair(
        self, sub: str, role: Role, name: str, family: str | None, auth_time: int | None
    ) -> TokenPair:
        return TokenPair(
            access_token=self._tokens.issue_access(sub, role),
            refresh_token=self._tokens.issue_refresh(
                sub, role, name=name, family=family, auth_time=auth_time
            ),
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )

    def login(self, sub: str, role: Role, name: str) -> TokenPair:
        """A fresh pair in a new family (after the password of user ``sub``, ``name``, was
        checked)."""
        return self._pair(sub, role, name, None, None)

    def rotate(self, refresh_token: str, find_user: FindUser) -> TokenPair:
        """Exchange a refresh token for a new pair in its family; each token works once.

        The user is read again with ``find_user`` (before the token is spent, so a store
        failure leaves it usable): the new pair has the user's current role. Raises
        :class:`TokenRevokedError` (after revoking the family) when the user no longer
        exists, or for a revoked family; :class:`TokenReusedError` (after revoking the
        family) for a token already rotated; :class:`TokenExpiredError` when the family
        is older than ``refresh_ttl``.
        """
        claims, session = self._tokens.verify_refresh(refresh_token)
        assert claims.family is not None  # verify() guarantees it for refresh tokens
        user = find_user(session.name)
        # Names are unique but reusable: the id tells a re-registered name from its old owner.
        if user is None or user["id"] != claims.sub:
            self.revoke_family(claims.family, reason="user")
            raise TokenRevokedError("session revoked")
        family_ms = math.ceil(self._tokens.refresh_ttl.total_seconds() * 1000)
        outcome = self._claim(
            keys=[refresh_used_key(claims.jti), refresh_family_revoked_key(claims.family)],
            args=[self._ttl_ms(claims.exp), family_ms],
        )
        if isinstance(outcome, bytes):
            outcome = outcome.decode()
        if outcome == "revoked":
            raise TokenRevokedError("session revoked")
        if outcome == "reused":
            raise TokenReusedError("refresh token reused; session revoked")
        return self._pair(
            claims.sub, Role(user["role"]), user["username"], claims.family, session.auth_time
        )

    def logout(self, refresh_token: str) -> None:
        """Revoke the family of ``refresh_token``: neither it nor its descendants refresh again."""
        claims = self._tokens.verify(refresh_token, TokenType.REFRESH)
        assert claims.family is not None
        self.revoke_family(claims.family)

    def revoke_family(self, family: str, *, reason: str = "logout") -> None:
        """Refuse every refresh token of ``family`` from now on (kept as long as one lives)."""
        self._redis.set(
            refresh_family_revoked_key(family),
            reason,
            px=math.ceil(self._tokens.refresh_ttl.total_seconds() * 1000),
        )

    def revoke_access(self, jti: str, exp: int) -> None:
        """Deny access token ``jti`` until ``exp`` (epoch seconds); an expired one is a no-op."""
        ttl_ms = math.ceil((exp - self._tokens.clock().timestamp()) * 1000)
        if ttl_ms > 0:
            self._redis.set(access_revoked_key(jti), "1", px=ttl_ms)

    def is_revoked(self, jti: str) -> bool:
        return bool(self._redis.exists(access_revoked_key(jti)))

    def verify_access(self, token: str) -> Claims:
        """Claims of a valid, non-revoked access token."""
        claims = self._tokens.verify(token, TokenType.ACCESS)
        if self.is_revoked(claims.jti):
            raise TokenRevokedError("token revoked")
        return claims
