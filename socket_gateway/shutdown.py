"""Stopping the gateway on SIGTERM or SIGINT, and a stack dump of every green thread on SIGUSR1.

A Python signal handler runs in whichever green thread happens to be executing
when the signal arrives. Flask-SocketIO's ``stop()`` raises ``SystemExit``
there; raised in a green thread whose library code catches everything
(Engine.IO's service task and its event handlers do), it is swallowed and the
server goes on serving. A handler that spawns a green thread is not safe
either: it edits the hub's timer lists, which the hub may be in the middle of
reading. So the handler only records the signal. A watcher green thread sees
it within :data:`POLL_S` and stops the server from ordinary green-thread
context: the gateway's loops end, the clients are closed (they reconnect to
another instance), and ``SystemExit`` is thrown into the main green thread,
where eventlet's server stops accepting and waits for the open connections.
If they have not ended after ``grace_s`` seconds, the process exits anyway
with status 1, saying how many were still open.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType

import eventlet
import greenlet

log = logging.getLogger("socket_gateway")

POLL_S = 0.1
STOP_GRACE_S = 20.0
"""Below the chart's 30 s termination grace, so the pod ends on its own terms."""


class Stopper:
    """Turn SIGTERM and SIGINT into an orderly stop of eventlet's server in this process.

    Made in the main green thread, the one that will serve: the stop is thrown into it.
    """

    def __init__(
        self,
        stop_gateway: Callable[[], None],
        disconnect_clients: Callable[[], None],
        open_connections: Callable[[], int],
        grace_s: float = STOP_GRACE_S,
    ) -> None:
        self._stop_gateway = stop_gateway
        self._disconnect_clients = disconnect_clients
        self._open_connections = open_connections
        self._grace_s = grace_s
        self._signal: int | None = None
        self._main = greenlet.getcurrent()

    def install(self) -> None:
        """Handle SIGTERM and SIGINT, and SIGUSR1 with a dump of every green thread."""
        signal.signal(signal.SIGTERM, self._record)
        signal.signal(signal.SIGINT, self._record)
        signal.signal(signal.SIGUSR1, dump_green_threads)
        eventlet.spawn(self._watch)

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        if self._signal is None:
            self._signal = signum

    def _watch(self) -> None:
        while self._signal is None:
            eventlet.sleep(POLL_S)
        log.info("stopping", extra={"signal": self._signal, "clients": self._open_connections()})
        self._stop_gateway()
        eventlet.spawn(self._disconnect_clients)
        eventlet.spawn_after(self._grace_s, self._give_up)
        eventlet.kill(self._main, SystemExit(0))

    def _give_up(self) -> None:
        log.error(
            "connections still open after the stop grace; exiting",
            extra={"grace_s": self._grace_s, "clients": self._open_connections()},
        )
        dump_green_threads()
        logging.shutdown()
        os._exit(1)


def dump_green_threads(_signum: int | None = None, _frame: FrameType | None = None) -> None:
    """Write the stack of every live green thread to stderr (faulthandler shows one only)."""
    threads = [g for g in gc.get_objects() if isinstance(g, greenlet.greenlet) and g]
    lines = [f"--- {len(threads)} green threads, pid {os.getpid()}\n"]
    for g in threads:
        frame = g.gr_frame if g is not greenlet.getcurrent() else sys._getframe(1)
        lines.append(f"--- {g!r}\n")
        lines.extend(traceback.format_stack(frame) if frame is not None else ["  (running)\n"])
    sys.stderr.write("".join(lines))
    sys.stderr.flush()
