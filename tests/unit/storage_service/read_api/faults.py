"""A store that can be made to fail or hang, around a real one.

SQLite in WAL mode cannot be made unreachable from outside the process: the
file stays readable and locks only hold writers back. So outages and slow
calls are injected at the port, in front of a real SQLite store that answers
everything else.
"""

from __future__ import annotations

import threading
from collections import Counter
from enum import Enum
from typing import Any

from store import Store, StoreError, StoreUnavailable


class Mode(Enum):
    OK = "ok"
    UNAVAILABLE = "unavailable"
    ERROR = "error"
    """A non-transient failure: the server refused (bad credentials, a failed query)."""
    SLOW = "slow"


class FaultyStore:
    """Delegates every call to ``inner`` unless switched to fail (UNAVAILABLE, ERROR) or to
    hang first (SLOW: until :attr:`release` is set, ``delay_s`` at most); ``only`` limits
    the fault to the methods it names. ``calls`` counts the calls that reached it,
    ``hanging`` those held in SLOW right now. ``close`` always goes through."""

    def __init__(self, inner: Store, delay_s: float = 2.0) -> None:
        self.inner = inner
        self.mode = Mode.OK
        self.only: frozenset[str] | None = None
        self.delay_s = delay_s
        self.release = threading.Event()
        """Set: the calls held in SLOW go on (a test sets it when it has seen them held)."""
        self.calls: Counter[str] = Counter()
        self.hanging = 0
        self._lock = threading.Lock()

    def _hang(self) -> None:
        with self._lock:
            self.hanging += 1
        try:
            self.release.wait(self.delay_s)
        finally:
            with self._lock:
                self.hanging -= 1

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target) or name == "close":
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            mode = self.mode if self.only is None or name in self.only else Mode.OK
            if mode is Mode.UNAVAILABLE:
                raise StoreUnavailable("injected outage")
            if mode is Mode.ERROR:
                raise StoreError("mongodb: Authentication failed. (injected)")
            if mode is Mode.SLOW:
                self._hang()
            return target(*args, **kwargs)

        return call
