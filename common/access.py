"""Access tokens as the gateways check them: RS256 against auth_service's JWKS, verified
tokens reused from memory until they expire, the deny-list read on every check.

Shared by api_gateway (per request) and socket_gateway (per connection); each
maps the errors to its own answer (HTTP 401/503, a refused connection).

The deny-list lives in Redis, written back from the store by auth_service when Redis
comes back empty (``auth_service/sessions.py``). Until then a logged-out token would
pass, so each check reads the deny-list's mark (:data:`DENY_LIST_MARK_KEY`) with the
token's entry, in the same command: a process that has seen the mark and finds it gone
fails closed (:class:`DenyListLost`, a Redis connection error, so 503 like Redis being
down) until auth_service has written the list back, about a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from common.jwks import JwksCache, JwksUnavailable
from common.names import DENY_LIST_MARK_KEY, access_revoked_key
from common.tokencache import TokenCache, Verified
from common.tokens import Claims, TokenType, token_kid, verify_token

__all__ = ["AccessTokens", "DenyList", "DenyListLost", "JwksUnavailable"]


class DenyListLost(redis.ConnectionError):
    """Redis answers without the deny-list it had: it restarted empty or failed over, and
    auth_service has not written the list back yet."""


class DenyList:
    """One process's view of the deny-list: whether it has seen the list whole (the mark).

    Until it has, a missing mark is a first start (auth_service marks the server as soon as
    it runs), not a loss, and tokens are judged by their entries alone.
    """

    def __init__(self) -> None:
        self.seen_mark = False

    @staticmethod
    def keys(jti: str) -> tuple[str, str]:
        """What one check reads, in one ``MGET``: token ``jti``'s entry and the mark."""
        return access_revoked_key(jti), DENY_LIST_MARK_KEY

    def judge(self, reply: Sequence[bytes | str | None]) -> bool:
        """The token is revoked, from the ``MGET`` of :meth:`keys`; raises
        :class:`DenyListLost` when the list is not whole."""
        entry, mark = reply
        if mark is not None:
            self.seen_mark = True
        elif self.seen_mark:
            raise DenyListLost("the deny-list is being restored after Redis lost it")
        return entry is not None

    def revoked(self, jti: str, client: redis.Redis) -> bool:
        return self.judge(client.mget(self.keys(jti)))


class AccessTokens:
    """Verify access tokens with ``jwks``; ``cache`` keeps the verified ones."""

    def __init__(self, jwks: JwksCache, cache: TokenCache | None = None) -> None:
        self.jwks = jwks
        self.cache = cache if cache is not None else TokenCache()
        self.deny_list = DenyList()

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

    def revoked(self, claims: Claims, client: redis.Redis) -> bool:
        """The token is on the deny-list (logged out); :class:`DenyListLost` while the
        list is being restored."""
        return self.deny_list.revoked(claims.jti, client)
