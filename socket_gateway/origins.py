"""Which browser origins may open a Socket.IO session (Engine.IO's ``cors_allowed_origins``).

Engine.IO refuses a request whose ``Origin`` is not allowed (400) and answers the
allowed ones with ``Access-Control-Allow-Origin``; a request without ``Origin`` (not
a browser: the benchmarks, other services) is not concerned. Tokens, not cookies,
authorise a connection, so credentials are never allowed (``cors_credentials=False``).

``SOCKET_CORS_ORIGINS`` lists origins exactly, or ``*`` for any. Unset, only the
dashboard's own origin is allowed, judged per request because the dashboard is
served by the API gateway under whatever name the browser used: the origin's host
must be the host the browser addressed this gateway by (``Host``), on the API
gateway's port (``make up`` and compose: the page on :8000, Socket.IO on :8002 of
the same host) or on this gateway's own port (one origin, an ingress routing
``/socket.io`` here, as the Helm chart does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.settings import Settings

OriginCheck = Callable[[str | None, dict[str, Any]], bool]
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _split_host(netloc: str) -> tuple[str, str | None]:
    """``host[:port]`` (a bracketed IPv6 address included) as (host, port or None)."""
    if netloc.endswith("]") or ":" not in netloc:
        return netloc, None
    host, _, port = netloc.rpartition(":")
    return host, port


def dashboard_origin(gateway_port: int) -> OriginCheck:
    """The default check: ``origin`` is the dashboard's own (see the module's docstring)."""

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        scheme, sep, netloc = (origin or "").lower().partition("://")
        addressed = str(environ.get("HTTP_HOST", "")).lower()
        if not sep or scheme not in _DEFAULT_PORTS or not netloc or not addressed:
            return False
        if netloc == addressed:  # the same origin (a browser omits a default port in both)
            return True
        host, port = _split_host(netloc)
        beside = (port or _DEFAULT_PORTS[scheme]) == str(gateway_port)  # the API gateway's
        return beside and host == _split_host(addressed)[0]

    return allowed


def cors_policy(settings: Settings) -> str | list[str] | OriginCheck:
    """What Engine.IO's ``cors_allowed_origins`` gets from ``SOCKET_CORS_ORIGINS``."""
    origins = settings.socket.cors_origins
    if origins == ("*",):
        return "*"
    if origins:
        return list(origins)
    return dashboard_origin(settings.http.gateway_port)
