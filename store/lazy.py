"""The store of a service process, opened on first use, so a service starts (and answers
503) while the store is down: :class:`LazyRepository` for any repository (alert_service's
alerts, paper_service's strategies and accounts), :class:`LazyStore` for the main store
(the same, whose requests never wait for another's attempt to open it).

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
from typing import Generic, Protocol, TypeVar

from store.port import Store, StoreUnavailable

log = logging.getLogger(__name__)

OPEN_RETRY_S = 1.0
"""After the store failed to open, requests answer 503 at once for this long (seconds)."""


OPEN_WAIT_S = 2.0
"""How long a request waits for another's attempt to open the repository."""


class Repository(Protocol):
    def ping(self) -> None: ...

    def close(self) -> None: ...


R = TypeVar("R", bound=Repository)


class LazyRepository(Generic[R]):
    """The process's repository ``name``, opened by ``open_store`` on first use; after a
    failed attempt the next one waits ``retry_s`` (``clock``: monotonic seconds)."""

    def __init__(
        self,
        name: str,
        open_store: Callable[[], R],
        *,
        retry_s: float = OPEN_RETRY_S,
        wait_s: float = OPEN_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._open, self._retry_s, self._wait_s, self.clock = open_store, retry_s, wait_s, clock
        self._store: R | None = None
        self._retry_at = 0.0
        self._error = ""
        """The type of the last attempt's failure, named while the pause lasts."""
        self._opened: threading.Event | None = None
        """Set when the attempt under way ends (``None``: no attempt under way)."""
        self._lock = threading.Lock()

    def get(self) -> R:
        """The repository; :class:`StoreUnavailable` while it cannot be opened. One request
        opens it; the others wait for that attempt up to ``wait_s``, and everyone until
        ``retry_s`` after a failed attempt is answered at once."""
        store = self._store
        if store is not None:
            return store
        while True:
            with self._lock:
                if self._store is not None:
                    return self._store
                if self.clock() < self._retry_at:
                    raise StoreUnavailable(f"{self.name} unavailable: {self._error}")
                attempt = self._opened
                if attempt is None:
                    self._opened = threading.Event()
                    break
            if self._wait_s <= 0 or not attempt.wait(self._wait_s):
                raise StoreUnavailable(f"{self.name} unavailable: opening")
        try:
            opened = self._open()
        except Exception as exc:  # any failure to open is "unavailable"
            with self._lock:
                self._retry_at = self.clock() + self._retry_s
                self._error = type(exc).__name__
                self._release()
            # The message may quote the URL (credentials): only the type is logged.
            log.warning(
                "repository could not be opened",
                extra={"repository": self.name, "error": type(exc).__name__},
            )
            raise StoreUnavailable(f"{self.name} unavailable: {type(exc).__name__}") from exc
        with self._lock:
            self._store, self._error = opened, ""
            self._release()
        log.info("repository opened", extra={"repository": self.name})
        return opened

    def _release(self) -> None:
        """End the attempt under way (the lock held): its waiters look again."""
        if self._opened is not None:
            self._opened.set()
            self._opened = None

    def ping(self) -> None:
        """Readiness: return if the repository opens and answers."""
        self.get().ping()

    def close(self) -> None:
        """Close the repository if it was opened; a later ``get()`` opens it again."""
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()


class LazyStore(LazyRepository[Store]):
    """The main store of one process: ``get()`` opens it, or raises :class:`StoreUnavailable`.
    A request that finds another's attempt under way is answered at once instead of
    queueing behind it (a MongoDB server selection holds an attempt for seconds)."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        retry_s: float = OPEN_RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__("store", open_store, retry_s=retry_s, wait_s=0.0, clock=clock)
