"""An eventlet server stopped by :class:`socket_gateway.shutdown.Stopper`, for test_shutdown.

``python stopping_server.py PORT MODE``: serves ``GET /`` ("ok") and ``GET /hold``
(a request that lasts until the clients are disconnected, as a websocket does) on
127.0.0.1:PORT, with a stop grace of 1 s. MODE ``swallow`` sends SIGTERM to itself
from a green thread that catches everything, as library code does; ``hold-forever``
gives the stopper a disconnect that does not end ``/hold``; ``plain`` does neither.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from typing import Any  # noqa: E402

import eventlet.wsgi  # noqa: E402
from eventlet.event import Event  # noqa: E402

from socket_gateway.shutdown import Stopper  # noqa: E402

released = Event()


def say(line: str) -> None:
    """What happened, on stdout, for the test to read in order."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


holding = [0]


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/hold":
        holding[0] += 1
        try:
            released.wait()
        finally:
            holding[0] -= 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def swallow_a_signal() -> None:
    eventlet.sleep(0.3)
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, in this green thread
        sum(range(10_000))
    except BaseException:
        say("swallowed")
    say("signalled")


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    Stopper(
        stop_gateway=lambda: say("gateway stopped"),
        disconnect_clients=(lambda: None) if mode == "hold-forever" else released.send,
        open_connections=lambda: holding[0],
        grace_s=1.0,
    ).install()
    if mode == "swallow":
        eventlet.spawn(swallow_a_signal)
    listener = eventlet.listen(("127.0.0.1", port))
    say("serving")
    eventlet.wsgi.server(listener, app, log_output=False)
    say("server returned")


if __name__ == "__main__":
    main()
