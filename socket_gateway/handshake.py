"""The session book (``sessions.py``) wired to the Engine.IO server: every handshake is
counted or refused, every closed session forgotten, and the sessions that missed
their deadline to authenticate are closed by a sweep.

The hooks wrap the handlers python-socketio registers on its Engine.IO server
(``connect`` stores the request environ, ``disconnect`` ends the Socket.IO
connection): a refused handshake never reaches Socket.IO, and a session is
forgotten only after Socket.IO has handled its end.

Closing a websocket session only queues Engine.IO's ``CLOSE``: its request (a green
thread and a file descriptor) lasts until the client answers, and a client that
never reads would hold it for the socket's timeout (ping interval + timeout, 45 s).
So the sweep also shuts the connection's reading side: the request's reader wakes
at once, the ``CLOSE`` is still written, and the request ends.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from socket_gateway.metrics import REFUSED, SESSIONS, SESSIONS_CLOSED
from socket_gateway.sessions import EngineSessions

log = logging.getLogger(__name__)

SUMMARY_S = 10.0
"""Refused handshakes are logged as a count at most this often (a flood is not logged line
by line)."""
RECONCILE_S = 30.0
"""How often the book is checked against the sessions Engine.IO holds."""


class HandshakeGuard:
    """Counts Engine.IO sessions from their handshake; closes the overdue pending ones."""

    def __init__(
        self, sessions: EngineSessions, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.eio: Any = None
        self._connections: dict[str, Any] = {}
        """Websocket sessions → their request's socket (eventlet's), to shut on a close."""
        self._refused: Counter[str] = Counter()
        self._summary_at = clock()
        self._reconciled_at = clock()
        SESSIONS.labels("total").set_function(lambda: self.sessions.total)
        SESSIONS.labels("pending").set_function(lambda: self.sessions.pending)

    def install(self, eio: Any) -> None:
        """Wrap ``eio``'s connect and disconnect handlers (python-socketio's)."""
        self.eio = eio
        on_connect: Callable[..., Any] = eio.handlers["connect"]
        on_disconnect: Callable[..., Any] = eio.handlers["disconnect"]
        handle_request: Callable[..., Any] = eio.handle_request

        def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
            ip = environ.get("REMOTE_ADDR") or "unknown"
            refusal = self.sessions.open(eio_sid, ip, self.clock())
            if refusal is not None:
                REFUSED.labels(refusal.code).inc()
                self._refused[refusal.code] += 1
                log.debug("handshake refused", extra={"reason": refusal.code, "ip": ip})
                return refusal.body()  # Engine.IO answers 401 with it as the JSON body
            self._keep_connection(eio_sid, environ)  # a websocket handshake
            try:
                return on_connect(eio_sid, environ)
            except BaseException:
                self._connections.pop(eio_sid, None)
                self.sessions.close(eio_sid)
                raise

        def disconnect(eio_sid: str, reason: Any = None) -> Any:
            try:
                return on_disconnect(eio_sid, reason)
            finally:
                self._connections.pop(eio_sid, None)
                self.sessions.close(eio_sid)

        def upgrade_aware(environ: dict[str, Any], start_response: Any) -> Any:
            """Engine.IO's request entry; a long-polling session's upgrade to a websocket
            is noted first (its socket is that request's)."""
            if str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket":
                eio_sid = parse_qs(environ.get("QUERY_STRING", "")).get("sid", [""])[0]
                if eio_sid and self.sessions.of_session(eio_sid) is not None:
                    self._keep_connection(eio_sid, environ)
            return handle_request(environ, start_response)

        eio.on("connect", connect)
        eio.on("disconnect", disconnect)
        eio.handle_request = upgrade_aware

    def sweep(self, now: float | None = None) -> list[str]:
        """Close the pending sessions past their deadline; their ids."""
        now = self.clock() if now is None else now
        overdue = self.sessions.overdue(now)
        for eio_sid in overdue:
            self._close(eio_sid)
            self.sessions.close(eio_sid)  # also when Engine.IO had lost it already
        if overdue:
            SESSIONS_CLOSED.labels("auth_timeout").inc(len(overdue))
            log.info(
                "closed sessions that did not authenticate in time",
                extra={"sessions": len(overdue), "auth_timeout_s": self.sessions.auth_timeout_s},
            )
        if now - self._summary_at >= SUMMARY_S:
            self._summary_at = now
            if self._refused:
                log.warning("handshakes refused", extra={"refused": dict(self._refused)})
                self._refused.clear()
        if self.eio is not None and now - self._reconciled_at >= RECONCILE_S:
            self._reconciled_at = now
            lost = self.sessions.forget_missing(self.eio.sockets)
            if lost:
                log.warning("sessions forgotten without a close", extra={"sessions": lost})
        return overdue

    def _close(self, eio_sid: str) -> None:
        """Close one session without waiting for its queue to drain (a polling client that
        never polls again would hold the sweep): CLOSE is queued, the socket forgotten."""
        if self.eio is None:
            return
        connection = self._connections.pop(eio_sid, None)
        session = self.eio.sockets.get(eio_sid)
        if session is not None:
            session.close(wait=False, abort=False, reason=self.eio.reason.SERVER_DISCONNECT)
            self.eio.sockets.pop(eio_sid, None)
        if connection is not None:  # wake its reader: the request ends, CLOSE still goes out
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)

    def _keep_connection(self, eio_sid: str, environ: dict[str, Any]) -> None:
        """Remember the socket of a websocket request (eventlet's WSGI server's)."""
        if str(environ.get("HTTP_UPGRADE", "")).lower() != "websocket":
            return
        stream = environ.get("eventlet.input")
        get_socket = getattr(stream, "get_socket", None)
        if get_socket is not None:
            self._connections[eio_sid] = get_socket()

    def run(self, stopped: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        """Sweep until ``stopped()``, a few times per deadline (at most once a second)."""
        period = min(1.0, self.sessions.auth_timeout_s / 4)
        while not stopped():
            sleep(period)
            try:
                self.sweep()
            except Exception:  # the sweep must outlive a bug in one close
                log.exception("session sweep failed")
