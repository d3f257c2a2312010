"""The socket_gateway Flask app: Flask-SocketIO wired to a :class:`SocketGateway`."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from common.access import AccessTokens
from common.jwks import JwksCache
from common.names import SOCKETIO_CHANNEL
from common.settings import Settings, SettingsError, load_settings
from common.web import create_base_app
from socket_gateway import EXTENSION
from socket_gateway.events import register
from socket_gateway.gateway import SocketGateway
from socket_gateway.jwksfetch import jwks_fetcher
from socket_gateway.origins import cors_policy


class OrjsonCodec:
    """The json "module" python-socketio encodes packets with: orjson, one dump per emit."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)


def create_app(
    settings: Settings | None = None, *, async_mode: str = "eventlet", message_queue: bool = True
) -> Flask:
    """The gateway app; its :class:`SocketGateway` is ``app.extensions[EXTENSION]``.

    ``async_mode="threading"`` and ``message_queue=False`` serve the in-process tests
    (Flask-SocketIO's test client); the server runs eventlet with the queue.
    """
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError("REDIS_URL: must be set for socket_gateway (make up sets it)")
    cfg = settings.socket
    socketio = SocketIO()
    tokens = AccessTokens(JwksCache(jwks_fetcher(settings), ttl_s=settings.http.jwks_ttl_s))
    gateway = SocketGateway(settings, socketio, tokens)
    app = create_base_app(
        "socket_gateway",
        settings,
        {"redis": gateway.redis.ping, "enriched": gateway.listener_check},
        access_log=False,
        proxy_hops=0,  # applied below, around Socket.IO too
    )
    socketio.init_app(
        app,
        async_mode=async_mode,
        message_queue=settings.redis_url if message_queue else None,
        channel=SOCKETIO_CHANNEL,
        cors_allowed_origins=cors_policy(settings),
        cors_credentials=False,  # tokens authorise, not cookies: no credentialed requests
        ping_interval=cfg.ping_interval_s,
        ping_timeout=cfg.ping_timeout_s,
        json=OrjsonCodec,
        logger=False,
        engineio_logger=False,
    )
    if settings.http.proxy_hops:  # outermost, so Socket.IO sees the client's address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.http.proxy_hops)  # type: ignore[method-assign]
    gateway.guard.install(socketio.server.eio)  # sessions counted from the handshake
    register(socketio, gateway)
    app.extensions[EXTENSION] = gateway
    return app
