"""Access tokens as the gateways check them: RS256 against auth_service's JWKS, verified
tokens reused from memory until they expire, the deny-list read on every check.

Shared by api_gateway (per request) and socket_gateway (per connection); each
maps the errors to its own answer (HTTP 401/503, a refused connection).
"""

from __future__ import annotations

import redis

from common.jwks import JwksCache, JwksUnavailable
from common.names import access_revoked_key
from common.tokencache import TokenCache, Verified
from common.tokens import Claims, TokenType, token_kid, verify_token

__all__ = ["AccessTokens", "JwksUnavailable"]


class AccessTokens:
    """Verify access tokens with ``jwks``; ``cache`` keeps the verified ones."""

    def __init__(self, jwks: JwksCache, cache: TokenCache | None = None) -> None:
        self.jwks = jwks
        self.cache = cache if cache is not None else TokenCache()

    def _still_vouched(self, entry: Verified) -> bool:
        """The key that verified a cached token is still published, unchanged."""
        try:
            return self.jwks.key(entry.kid) is not None and self.jwks.generation == entry.generation
        except JwksUnavailable:
            return False

    def claims(self, token: str) -> Claims:
        """Claims of a valid access token: :class:`common.tokens.TokenError` (expired,
        malformed, bad signature, wrong type…) or :class:`JwksUnavailable` otherwise.
        Revocation is not checked here (:meth:`revoked`)."""
        entry = self.cache.get(token)
        # jwks.key() also refreshes an expired JWKS, so cached tokens do not pin old keys.
        if entry is not None and self._still_vouched(entry):
            return entry.claims
        generation = self.jwks.generation
        claims = verify_token(token, TokenType.ACCESS, self.jwks.key)
        self.cache.put(token, Verified(claims, token_kid(token), generation))
        return claims

    @staticmethod
    def revoked(claims: Claims, client: redis.Redis) -> bool:
        """The token is on the deny-list (logged out)."""
        return bool(client.exists(access_revoked_key(claims.jti)))
