"""A python-socketio client for tests that records every event it receives."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import socketio


@dataclass
class Client:
    sio: socketio.Client
    events: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, name: str) -> list[Any]:
        with self.lock:
            return [data for event, data in self.events if event == name]


def recording_client(
    url: str, token: str | None, transports: tuple[str, ...] = ("websocket",)
) -> tuple[Client, Exception | None]:
    """A client connected to ``url`` with ``token`` (no reconnection), recording every
    event and ``connect_error``; the connection error instead, if it was refused."""
    sio = socketio.Client(reconnection=False)
    client = Client(sio)

    @sio.on("*")
    def _any(event: str, data: Any = None) -> None:
        with client.lock:
            client.events.append((event, data))

    @sio.event
    def connect_error(data: Any) -> None:
        with client.lock:
            client.events.append(("connect_error", data))

    try:
        sio.connect(url, auth={"token": token} if token else None, transports=list(transports),
                    wait_timeout=10)  # fmt: skip
    except socketio.exceptions.ConnectionError as exc:
        return client, exc
    return client, None
