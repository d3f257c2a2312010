"""``python -m socket_gateway [--host H] [--port P]``: the gateway on eventlet's WSGI server.

gunicorn 27 (pinned for the REST services) has no eventlet worker any more, so
the gateway runs on eventlet's own server, as Flask-SocketIO's ``socketio.run``
does; it scales by instances (processes, replicas) sharing the Redis message
queue, with sticky sessions in front of them.
"""

from __future__ import annotations

import warnings

# The issue asks for eventlet, which now warns at import that it is in bugfix-only
# maintenance; said once here (docs), not on every start.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402  (after monkey patching, as eventlet requires)
import logging  # noqa: E402
import resource  # noqa: E402

from common.observability import setup_service  # noqa: E402
from common.settings import load_settings  # noqa: E402
from socket_gateway import EXTENSION, create_app  # noqa: E402
from socket_gateway.shutdown import Stopper  # noqa: E402

log = logging.getLogger("socket_gateway")


def raise_open_files_limit(wanted: int) -> int:
    """Lift the soft limit on open files towards ``wanted`` (a socket per client); the new
    soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="socket_gateway", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=settings.http.socket_port)
    args = parser.parse_args(argv)
    setup_service("socket_gateway", settings)
    app = create_app(settings)
    gateway = app.extensions[EXTENSION]
    socketio = app.extensions["socketio"]
    Stopper(
        stop_gateway=gateway.stop,
        disconnect_clients=socketio.server.eio.disconnect,
        open_connections=lambda: gateway.limits.connections,
    ).install()
    max_clients = settings.socket.max_clients
    files = raise_open_files_limit(max_clients + 256)
    if files < max_clients + 64:
        log.warning(
            "open files limit below SOCKET_MAX_CLIENTS",
            extra={"limit": files, "max_clients": max_clients},
        )
    gateway.start()
    log.info("serving", extra={"host": args.host, "port": args.port, "max_clients": max_clients})
    # max_size: eventlet serves 1,024 connections at once by default; a websocket holds
    # one. Headroom above SOCKET_MAX_CLIENTS (refused at connect) keeps /healthz answering.
    socketio.run(app, host=args.host, port=args.port, log_output=False, max_size=max_clients + 64)


if __name__ == "__main__":
    main()
