"""The Socket.IO side of a dashboard viewer: connect with the access token, follow one
view (``subscribe`` / ``unsubscribe`` with ``{product, expiry}``) and report every update
as a Locust request of type ``socketio`` whose response time is its delivery latency:
receive time minus the feed's origin ``timestamp``, in milliseconds.

python-socketio's sync client runs its reader, writer and pinger as threads; under
Locust those are gevent green threads, and each received message is handled in a green
thread of its own, in arrival order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any, Protocol

import gevent.event
import orjson
import socketio
from socketio import exceptions as sio_errors

from .plan import View, delivery_latency_ms

log = logging.getLogger(__name__)

REQUEST_TYPE = "socketio"
UPDATE_EVENTS = ("chain_update", "underlying_update")
SESSION_ENDED = ("token_expired", "token_revoked")
"""``error`` codes of a connection the gateway ends because its token ran out: expected
every ``ACCESS_TTL_S``; the viewer connects again with a fresh token, as the dashboard does."""

UPDATES: Counter[str] = Counter()
"""Updates received by every viewer of this process, by statistics name."""


class Recorder(Protocol):
    """Reports one Socket.IO outcome to Locust (``events.request.fire``)."""

    def __call__(
        self, name: str, response_time: float, length: int, exception: Exception | None
    ) -> None: ...


class LiveError(Exception):
    """A refused or failed Socket.IO step; its text is the failure reason Locust groups by."""


_decoding = threading.local()  # a gevent local under Locust: one per green thread


class _SizedJson:
    """python-socketio's JSON codec (orjson: the chains are large, the cores shared) that
    keeps the size of the packet being decoded; the event's handler runs next in the same
    green thread and reads it."""

    @staticmethod
    def loads(text: str | bytes) -> Any:
        _decoding.size = len(text)
        return orjson.loads(text)

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:
        return orjson.dumps(obj).decode()


def _packet_size() -> int:
    return int(getattr(_decoding, "size", 0))


def _since_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class LiveFeed:
    """One viewer's Socket.IO connection, following at most one view."""

    def __init__(self, url: str, record: Recorder, timeout_s: float = 10.0) -> None:
        self.url = url
        self.record = record
        self.timeout_s = timeout_s
        self.view: View | None = None
        self.updates: Counter[str] = Counter()
        self.closed = gevent.event.Event()
        self.closed.set()
        self._client: socketio.Client | None = None
        self._refusal: str | None = None
        self._session_ended = False
        self._closing = False
        self._in_call = False
        self._snapshot_of: View | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    # -- connection ----------------------------------------------------------------------

    def connect(self, token: str) -> bool:
        """Connect (websocket transport) with ``auth={"token": token}``; False when refused."""
        self.close()
        client = self._new_client()
        self._refusal, self._session_ended, self._closing = None, False, False
        start = time.perf_counter()
        try:
            client.connect(
                self.url, auth={"token": token}, transports=["websocket"],
                wait_timeout=self.timeout_s,
            )  # fmt: skip
        except sio_errors.ConnectionError as exc:
            reason = self._refusal or f"connection failed: {exc}"
            self.record("connect", _since_ms(start), 0, LiveError(reason))
            return False
        self._client = client
        self.closed.clear()
        self.record("connect", _since_ms(start), 0, None)
        return True

    def _new_client(self) -> socketio.Client:
        # No automatic reconnection: the viewer reconnects itself with a fresh token (a
        # session the gateway ended would be refused with the old one) and subscribes again.
        client = socketio.Client(reconnection=False, handle_sigint=False, json=_SizedJson)
        for event in UPDATE_EVENTS:
            client.on(event, lambda payload, event=event: self._on_update(event, payload))
        client.on("connect_error", self._on_refused)
        client.on("disconnect", self._on_disconnect)
        client.on("error", self._on_error)
        client.on("mode", self._on_mode)
        return client

    def close(self) -> None:
        """Disconnect, if connected (not reported: the viewer chose to leave)."""
        client, self._client = self._client, None
        self.view = None
        if client is not None and client.connected:
            self._closing = True
            client.disconnect()
        self.closed.set()

    def wait_closed(self, timeout_s: float) -> bool:
        """Sleep up to ``timeout_s`` while updates arrive; True when the connection ended."""
        return bool(self.closed.wait(timeout_s))

    # -- the view --------------------------------------------------------------------------

    def select(self, view: View) -> bool:
        """Follow ``view``: unsubscribe the previous one, subscribe this one. The updates
        that come before the ack are the gateway's cached snapshot, reported apart."""
        if self.view == view:
            return True
        if self.view is not None:
            self._call("unsubscribe", self.view)
            self.view = None
        self._snapshot_of = view
        try:
            ok = self._call("subscribe", view)
        finally:
            self._snapshot_of = None
        self.view = view if ok else None
        return ok

    def _call(self, event: str, view: View) -> bool:
        if self._client is None:
            self.record(event, 0.0, 0, LiveError("not connected"))
            return False
        start = time.perf_counter()
        self._in_call = True  # its `error` event repeats the ack: reported once, from the ack
        try:
            ack = self._client.call(
                event, {"product": view.product, "expiry": view.expiry}, timeout=self.timeout_s
            )
        except sio_errors.TimeoutError:
            self.record(event, _since_ms(start), 0, LiveError("no ack in time"))
            return False
        except (sio_errors.BadNamespaceError, sio_errors.DisconnectedError):
            self.record(event, _since_ms(start), 0, LiveError("disconnected"))
            return False
        finally:
            self._in_call = False
        if isinstance(ack, dict) and ack.get("ok") is True:
            self.record(event, _since_ms(start), 0, None)
            return True
        error = ack.get("error") if isinstance(ack, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        self.record(event, _since_ms(start), 0, LiveError(f"refused: {code or ack!r}"))
        return False

    # -- what the gateway sends ----------------------------------------------------------

    def _on_update(self, event: str, payload: Any) -> None:
        received = time.time()
        size = _packet_size()
        body = payload if isinstance(payload, dict) else {}
        kind = "snapshot" if self._is_snapshot(event, body) else "update"
        name = f"{kind} {event}"
        latency = delivery_latency_ms(body.get("timestamp"), received)
        if latency is None:
            self.record(name, 0.0, size, LiveError("update without an origin timestamp"))
            return
        self.updates[name] += 1
        UPDATES[name] += 1
        self.record(name, latency, size, None)

    def _is_snapshot(self, event: str, body: dict[str, Any]) -> bool:
        view = self._snapshot_of
        if view is None or body.get("product") != view.product:
            return False
        return event == "underlying_update" or body.get("expiry") == view.expiry

    def _on_refused(self, data: Any = None) -> None:
        code = data.get("code") if isinstance(data, dict) else None
        # The gateway refuses with {code, message}; a transport failure comes as text.
        self._refusal = f"refused: {code}" if code else f"connection failed: {data}"

    def _on_error(self, data: Any = None) -> None:
        code = data.get("code") if isinstance(data, dict) else None
        if code in SESSION_ENDED:
            self._session_ended = True
            self.record(f"session ended {code}", 0.0, 0, None)
        elif not self._in_call:
            self.record(f"error {code}", 0.0, 0, LiveError(f"error event: {code or data!r}"))

    def _on_mode(self, data: Any = None) -> None:
        mode = data.get("mode") if isinstance(data, dict) else None
        self.record(f"mode {mode}", 0.0, 0, None)

    def _on_disconnect(self, reason: object = None) -> None:
        expected = self._closing or self._session_ended
        self.closed.set()
        if not expected:
            self.record("disconnect", 0.0, 0, LiveError(f"connection lost: {reason}"))
