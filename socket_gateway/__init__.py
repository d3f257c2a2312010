"""socket_gateway (port 8002): enriched updates pushed to browsers over Socket.IO.

Flask-SocketIO on eventlet, the Redis message queue between instances, JWT on
connect, rooms ``chain:{product}:{expiry}`` and ``underlying:{product}``, the
newest snapshot on subscribe, limits, and a degraded mode when emitting falls
behind (``socket_gateway.fanout``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

EXTENSION = "optionsflow_socket"
"""Key of the :class:`socket_gateway.gateway.SocketGateway` in ``app.extensions``."""


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """:func:`socket_gateway.app.create_app`, imported on call: ``python -m socket_gateway``
    must monkey-patch with eventlet before redis, urllib3 or Flask are imported."""
    from socket_gateway.app import create_app as build

    return build(*args, **kwargs)
