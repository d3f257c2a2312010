"""Verified access tokens kept in memory, so a client's repeated token is checked once.

RS256 verification (and PyJWT's strict base64url checks over a 3072-bit
signature) costs more than the rest of a gateway request. A token is immutable,
so its claims can be reused until it expires; revocation is still checked on
every request (in Redis), and the cache is emptied when the JWKS changes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from common.tokens import Claims


class TokenCache:
    """A bounded LRU map of token → claims of tokens that passed verification."""

    def __init__(self, size: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Claims] = OrderedDict()

    def get(self, token: str) -> Claims | None:
        """The claims of a cached, unexpired token."""
        with self._lock:
            claims = self._entries.get(token)
            if claims is None:
                return None
            if claims.exp <= self._clock():
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return claims

    def put(self, token: str, claims: Claims) -> None:
        with self._lock:
            self._entries[token] = claims
            self._entries.move_to_end(token)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
