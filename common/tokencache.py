"""Verified access tokens kept in memory, so a client's repeated token is checked once.

RS256 verification (and PyJWT's strict base64url checks over a 3072-bit
signature) costs more than the rest of a gateway request. A token is immutable,
so its claims can be reused until it expires; revocation is still checked on
every request (in Redis). Each entry remembers the key id and the JWKS
generation it was verified under: a withdrawn or replaced key ends its reuse.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from common.tokens import Claims


@dataclass(frozen=True, slots=True)
class Verified:
    claims: Claims
    kid: str
    generation: int
    """The :attr:`JwksCache.generation` it was verified under."""


class TokenCache:
    """A bounded LRU map of token → claims of tokens that passed verification."""

    def __init__(self, size: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Verified] = OrderedDict()

    def get(self, token: str) -> Verified | None:
        """The entry of a cached, unexpired token."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry.claims.exp <= self._clock():
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry

    def put(self, token: str, entry: Verified) -> None:
        with self._lock:
            self._entries[token] = entry
            self._entries.move_to_end(token)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
