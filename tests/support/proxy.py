"""A TCP proxy for tests that can make the connections through it go silent: no bytes
either way, no FIN, no RST, as a half-open connection (a dead NAT entry, a pulled cable)
looks to both ends."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["SilenceableProxy", "silenceable_proxy"]


@dataclass
class _Link:
    client: socket.socket
    upstream: socket.socket
    silent: bool = False
    swallowed: bytearray = field(default_factory=bytearray)
    """What the client sent once the link went silent (it never reached the server)."""


class SilenceableProxy:
    """Forwards ``url``'s port on 127.0.0.1 to the target; :meth:`silence` cuts the
    connections made so far without closing them. Later connections are forwarded."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._accept, name="proxy", daemon=True)]
        self._threads[0].start()

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return len(self._links)

    def silence(self) -> None:
        """Stop forwarding on every connection made so far; both ends stay open."""
        with self._lock:
            for link in self._links:
                link.silent = True

    def swallowed(self) -> bytes:
        """Everything clients sent on silenced connections."""
        with self._lock:
            return b"".join(bytes(link.swallowed) for link in self._links)

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
            for src, dst, up in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(link, src, dst, up), name="proxy-pump", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket, up: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                break
            if not data:
                break
            if link.silent:
                if up:
                    with self._lock:
                        link.swallowed.extend(data)
                continue
            try:
                dst.sendall(data)
            except OSError:
                break
        if link.silent:  # a close does not get through a dead link either
            return
        for sock in (link.client, link.upstream):  # one end closed: close the other
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._done.set()
        self._server.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            for sock in (link.client, link.upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5.0)


@contextlib.contextmanager
def silenceable_proxy(url: str) -> Iterator[tuple[SilenceableProxy, str]]:
    """A proxy to the Redis at ``url`` and the URL that goes through it; closed afterwards."""
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    assert parts.port is not None, url
    proxy = SilenceableProxy((parts.hostname, parts.port))
    try:
        yield proxy, parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    finally:
        proxy.close()
