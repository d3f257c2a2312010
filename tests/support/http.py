"""A WSGI app served over real HTTP on 127.0.0.1 for a test (stub services)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # serve_forever looks for shutdown() every poll_interval (0.5 s by default): each test's
    # teardown waited that long, ~20 s of every unit run.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@dataclass
class Hold:
    """Holds a stub's requests: :meth:`enter` waits until :attr:`release` is set.

    A test waits until :attr:`held` shows a request in flight, instead of sleeping
    and hoping it is, then sets :attr:`release`.
    """

    release: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def enter(self, timeout: float = 30.0) -> None:
        """Wait for :attr:`release` (``timeout`` seconds at most), counted in :attr:`held`."""
        with self._lock:
            self.held += 1
        try:
            self.release.wait(timeout)
        finally:
            with self._lock:
                self.held -= 1
