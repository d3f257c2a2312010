"""The store of a service process, opened on first use, so a service starts (and answers
503) while the store is down.

A gunicorn worker that failed to boot would make gunicorn exit and take the whole
process set down with it; instead the store is opened by the first request that
needs it. After a failed attempt the next one waits ``retry_s``, so a store that is
down costs a request nothing (MongoDB's server selection would hold each for seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from store.port import Store, StoreUnavailable

log = logging.getLogger(__name__)

OPEN_RETRY_S = 1.0
"""After the store failed to open, requests answer 503 at once for this long (seconds)."""


class LazyStore:
    """Holds the store of one process: ``get()`` opens it, or raises :class:`StoreUnavailable`.

    ``clock`` (monotonic seconds) times the pause after a failed attempt.
    """

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        retry_s: float = OPEN_RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open_store = open_store
        self._retry_s = retry_s
        self.clock = clock
        self._store: Store | None = None
        self._retry_at = 0.0
        self._error = ""
        self._opening = False
        self._lock = threading.Lock()

    def get(self) -> Store:
        """The store, opened on first use; :class:`StoreUnavailable` while it cannot be.

        One request opens it; the others, and everyone until ``retry_s`` after a
        failed attempt, are answered at once instead of queueing behind the attempt.
        """
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is not None:
                return self._store
            if self._opening or self.clock() < self._retry_at:
                raise StoreUnavailable(f"store unavailable: {self._error or 'opening'}")
            self._opening = True
        try:
            opened = self._open_store()
        except Exception as exc:  # any failure to open is "unavailable", logged by type only
            with self._lock:
                self._opening = False
                self._retry_at = self.clock() + self._retry_s
                self._error = type(exc).__name__
            # The message may quote the URL (credentials): only the type is logged.
            log.warning("store could not be opened", extra={"error": self._error})
            raise StoreUnavailable(f"store unavailable: {self._error}") from exc
        with self._lock:
            self._store, self._opening, self._error = opened, False, ""
        log.info("store opened")
        return opened

    def ping(self) -> None:
        """Readiness: return if the store opens and answers."""
        self.get().ping()

    def close(self) -> None:
        """Close the store if it was opened; a later ``get()`` opens it again."""
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
