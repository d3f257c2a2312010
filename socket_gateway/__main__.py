"""``python -m socket_gateway [--host H] [--port P]``: the gateway on eventlet's WSGI server.

gunicorn 27 (pinned for the REST services) has no eventlet worker any more, so
the gateway runs on eventlet's own server, as Flask-SocketIO's ``socketio.run``
does; it scales by instances (processes, replicas) sharing the Redis message
queue, with sticky sessions in front of them.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402  (after monkey patching, as eventlet requires)
import logging  # noqa: E402
import signal  # noqa: E402

from common.jsonlog import configure_logging  # noqa: E402
from common.settings import load_settings  # noqa: E402
from socket_gateway import EXTENSION, create_app  # noqa: E402

log = logging.getLogger("socket_gateway")


def main(argv: list[str] | None = None) -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="socket_gateway", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=settings.http.socket_port)
    args = parser.parse_args(argv)
    configure_logging("socket_gateway", settings.log_level)
    app = create_app(settings)
    gateway = app.extensions[EXTENSION]
    socketio = app.extensions["socketio"]

    def _stop(signum: int, _frame: object) -> None:
        log.info("stopping", extra={"signal": signum})
        gateway.stop()
        socketio.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    gateway.start()
    log.info("serving", extra={"host": args.host, "port": args.port})
    socketio.run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
