"""Browser-side defences on every answer of the gateway: the dashboard, its assets,
``/api/docs`` and the API.

- ``Content-Security-Policy``. A page (``text/html``: the dashboard, the API docs) may run
  scripts from the gateway's own origin only: no inline script, no ``eval``, no other
  host, so an injected ``<script>`` or ``onerror=`` attribute does not run. Styles may be
  inline (ECharts writes its tooltips as HTML with ``style`` attributes); images may be
  ``data:`` URLs (the dashboard's icon, Swagger UI's); the page may connect to its own
  origin and to the Socket.IO gateway's (:func:`socket_origins`). Every other answer (JSON,
  assets) gets ``default-src 'none'``: nothing it could be rendered as may load anything.
  Both forbid framing (``frame-ancestors 'none'``).
- ``X-Frame-Options: DENY`` for browsers without ``frame-ancestors``;
  ``X-Content-Type-Options: nosniff``; ``Referrer-Policy: no-referrer`` (URLs carry
  products and expiries, nothing a third party needs).
- ``Strict-Transport-Security`` when ``HSTS_MAX_AGE_S`` is set (only behind TLS).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.wrappers import Response

from common.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
"""Answers that are not pages: load nothing, be framed by nothing."""

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'{connect}; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HOSTNAME = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$")
"""A hostname or a bracketed IPv6 address: what may go from ``Host`` into the policy."""


def socket_origins(settings: Settings, host: str, secure: bool) -> list[str]:
    """Where the dashboard's Socket.IO client connects (``/config.json`` tells it): the
    origin of ``SOCKET_PUBLIC_URL``, or the page's own host on ``SOCKET_PORT``; each as
    the HTTP origin of its long-polling and the WebSocket one."""
    public = settings.socket.public_url
    if public:
        parts = urlsplit(public)
        scheme, netloc = parts.scheme, parts.netloc
    else:
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not _HOSTNAME.match(hostname):
            return []
        scheme, netloc = ("https" if secure else "http"), f"{hostname}:{settings.http.socket_port}"
    ws = "wss" if scheme == "https" else "ws"
    return [f"{scheme}://{netloc}", f"{ws}://{netloc}"]


def page_policy(settings: Settings, host: str, secure: bool) -> str:
    origins = socket_origins(settings, host, secure)
    return PAGE_CSP.format(connect="".join(f" {o}" for o in origins))


def install_security_headers(app: Flask, settings: Settings) -> None:
    hsts = settings.browser.hsts_max_age_s

    @app.after_request
    def security_headers(resp: Response) -> Response:
        headers = resp.headers
        if resp.mimetype == "text/html":
            policy = page_policy(settings, request.host, request.is_secure or hsts > 0)
        else:
            policy = API_CSP
        headers["Content-Security-Policy"] = policy
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        if hsts:
            headers["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
        return resp
