"""A stalled server for tests: it accepts TCP connections on 127.0.0.1 and never answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["StalledServer", "stalled_server"]


@dataclass
class StalledServer:
    """``url`` of a server that accepts connections and never answers; they are counted."""

    url: str
    accepted: list[socket.socket] = field(default_factory=list, repr=False)

    @property
    def connections(self) -> int:
        """Connections accepted so far: a client that retried made several."""
        return len(self.accepted)


@contextlib.contextmanager
def stalled_server(scheme: str = "redis", path: str = "/0") -> Iterator[StalledServer]:
    """A :class:`StalledServer` at ``{scheme}://127.0.0.1:{port}{path}``, closed afterwards."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stalled = StalledServer(f"{scheme}://127.0.0.1:{server.getsockname()[1]}{path}")
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                stalled.accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, name="stalled-server", daemon=True)
    thread.start()
    try:
        yield stalled
    finally:
        done.set()
        thread.join(timeout=5.0)
        server.close()
        for conn in stalled.accepted:
            conn.close()
