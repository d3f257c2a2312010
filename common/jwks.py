"""A gateway's copy of auth_service's public keys (JWKS), cached and refreshed.

Keys are fetched once, kept for ``ttl_s``, and fetched again early when a token
names a key id the cache does not know (a rotated key) — at most once every
``min_refresh_s``, so forged key ids cannot make the gateway hammer auth_service.
If a refresh fails the keys already held stay in use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from common.tokens import ALGORITHM

log = logging.getLogger(__name__)


class JwksUnavailable(Exception):  # noqa: N818  # reads as a state, like StoreUnavailable
    """No key could be fetched yet: tokens cannot be verified."""


def parse_jwks(document: Mapping[str, Any]) -> dict[str, RSAPublicKey]:
    """``kid`` → RSA public key of every RS256 signing key in a JWKS document."""
    keys: dict[str, RSAPublicKey] = {}
    for jwk in jwt.PyJWKSet.from_dict(dict(document)).keys:
        if jwk.key_id and isinstance(jwk.key, RSAPublicKey) and jwk.algorithm_name == ALGORITHM:
            keys[jwk.key_id] = jwk.key
    return keys


def _material(keys: dict[str, RSAPublicKey]) -> dict[str, RSAPublicNumbers]:
    return {kid: key.public_numbers() for kid, key in keys.items()}


class JwksCache:
    """``kid`` → public key, fetched from auth_service and kept ``ttl_s``.

    The fetch runs outside the lock and one at a time: while one request
    refreshes, the others keep verifying with the keys already held; while no
    key is held at all, they wait for the fetch in flight (up to
    ``first_wait_s``). ``generation`` grows whenever the key set or a key's
    material changes, so tokens verified earlier can be told apart.
    """

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        ttl_s: float,
        min_refresh_s: float = 10.0,
        first_wait_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_s
        self._min_refresh = min_refresh_s
        self._first_wait = first_wait_s
        self._clock = clock
        self._cond = threading.Condition()
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._refreshing = False
        self.generation = 0

    def _due(self, kid: str, now: float) -> bool:
        if self._refreshing:
            return False
        since_try = float("inf") if self._tried_at is None else now - self._tried_at
        if self._fetched_at is None or now - self._fetched_at >= self._ttl:
            # none yet or expired: fetch, but after a failure not more than once a second
            return since_try >= min(1.0, self._min_refresh)
        # a key id we do not know (rotation, or forged): at most every min_refresh_s
        return kid not in self._keys and since_try >= self._min_refresh

    def _refresh(self, now: float) -> None:
        keys: dict[str, RSAPublicKey] = {}
        try:
            keys = parse_jwks(self._fetch())
        except Exception as exc:  # any failure: keep the keys we have, say why
            log.warning("JWKS refresh failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        finally:
            with self._cond:
                self._refreshing = False
                if keys:
                    if _material(keys) != _material(self._keys):
                        self.generation += 1
                    self._keys, self._fetched_at = keys, now
                self._cond.notify_all()

    def key(self, kid: str) -> RSAPublicKey | None:
        """The public key for ``kid``; ``None`` if auth_service does not publish it."""
        now = self._clock()
        with self._cond:
            due = self._due(kid, now)
            if due:
                self._refreshing, self._tried_at = True, now
            elif not self._keys and self._refreshing:  # the first keys are on their way
                self._cond.wait_for(lambda: not self._refreshing, timeout=self._first_wait)
        if due:
            self._refresh(now)
        with self._cond:
            if not self._keys:
                raise JwksUnavailable("signing keys not available from auth_service")
            return self._keys.get(kid)
