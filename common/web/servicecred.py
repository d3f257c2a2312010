"""The closed trust boundary: internal services answer the gateway, and nobody else.

auth, storage, analytics, logging, alert and paper_service sit behind the gateway, which checks
the caller's JWT and limits, then forwards the request with the caller's address
(``X-Forwarded-For``) and identity (``X-User-Id``, ``X-User-Role``). Those headers are only
true when the gateway wrote them, and binding to loopback stops nobody once compose or
Kubernetes put the services on a shared network. So the gateway (and the socket gateway,
which fetches the JWKS) sends a shared secret, ``SERVICE_TOKEN``, in
:data:`SERVICE_TOKEN_HEADER`, and an internal service

- refuses every request without it (401), except :data:`OPEN_PATHS`;
- applies ProxyFix (``X-Forwarded-For``, ``PROXY_HOPS``) only to requests that carry it, and
  drops every ``X-Forwarded-*`` header of the others: a direct caller cannot choose the
  address the per-IP login limit counts.

The token is compared in constant time and removed from the request before any code (a log
line, an error report) can see it. Without a token configured the check is off and the
forwarding headers are ignored: development only; ``ENV=production`` refuses to start.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from common.web.errors import ApiError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

SERVICE_TOKEN_HEADER = "X-Service-Token"
"""Where the gateway puts ``SERVICE_TOKEN`` on every call to an internal service."""
_ENVIRON_KEY = "HTTP_" + SERVICE_TOKEN_HEADER.upper().replace("-", "_")
AUTHENTICATED = "optionsflow.service_authenticated"
"""WSGI environ key: True when the request carried the valid credential."""

INTERNAL_SERVICES = frozenset(
    {
        "auth_service", "storage_service", "analytics_service", "logging_service",
        "alert_service", "paper_service",
    }
)  # fmt: skip
"""The services behind the gateway; only these require the credential."""

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered without the credential: the orchestrator's probes (kubelet and compose cannot
send a secret header from a Secret) and Prometheus' scrape. ``/healthz`` says only "ok";
``/readyz`` shows no error text to them (``common/web/health.py``); ``/metrics`` is reached
only on the internal network (not published by compose, NetworkPolicy in the chart,
loopback under ``make up``)."""


class ServiceCredentialError(RuntimeError):
    """An internal service was asked to start without the credential where one is required."""


def carries_credential(presented: str | None, expected: str | None) -> bool:
    """Whether ``presented`` is the configured token (constant time; never with none set)."""
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def credential_headers(token: str | None) -> dict[str, str]:
    """The header a caller inside the boundary adds to reach an internal service."""
    return {SERVICE_TOKEN_HEADER: token} if token else {}


class TrustedGateway:
    """WSGI middleware: marks (and strips) the credential, and applies ProxyFix only then.

    Every other request loses its ``X-Forwarded-*`` headers, so neither Flask nor anything
    after it can take the client's address from them."""

    def __init__(self, app: WSGIApplication, token: str | None, proxy_hops: int) -> None:
        self._app = app
        self._token = token
        self._proxied: WSGIApplication = ProxyFix(app, x_for=proxy_hops) if proxy_hops else app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        presented = environ.pop(_ENVIRON_KEY, None)
        trusted = carries_credential(presented, self._token)
        environ[AUTHENTICATED] = trusted
        if trusted:
            return self._proxied(environ, start_response)
        for key in [k for k in environ if k.startswith("HTTP_X_FORWARDED_")]:
            del environ[key]
        return self._app(environ, start_response)


def from_gateway() -> bool:
    """Whether the current request came from the gateway with the credential."""
    return bool(request.environ.get(AUTHENTICATED, False))


def install_service_credential(
    app: Flask, service: str, token: str | None, proxy_hops: int, *, production: bool
) -> None:
    """Require the credential on ``service`` (an internal one) and honour forwarding headers
    only from the caller presenting it; other services only get the ProxyFix they ask for."""
    if service not in INTERNAL_SERVICES:
        if proxy_hops:
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops)  # type: ignore[method-assign]
        app.before_request(functools.partial(_metrics_inside_only, token))
        return
    if token is None:
        if production:
            raise ServiceCredentialError(
                f"SERVICE_TOKEN: required in production: {service} answers only the gateway "
                "(docs/DEPLOY.md)"
            )
        log.warning(
            "SERVICE_TOKEN unset: this service answers anyone who reaches it and ignores "
            "X-Forwarded-For (development only)",
            extra={"service_name": service},
        )
    app.wsgi_app = TrustedGateway(app.wsgi_app, token, proxy_hops)  # type: ignore[method-assign]
    if token is not None:
        app.before_request(_require_credential)


PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
"""Headers a reverse proxy (the chart's ingress, a TLS proxy in front of compose) adds."""


def _metrics_inside_only(token: str | None) -> Any:
    """A public service (the gateways) serves ``/metrics`` to Prometheus, which scrapes the
    pod or container directly, and not through the ingress or proxy that publishes it: a
    proxied request (it carries :data:`PROXY_HEADERS`, which a client cannot strip from the
    proxy's) is refused unless it presents the service credential."""
    if request.path != "/metrics" or not any(h in request.headers for h in PROXY_HEADERS):
        return None
    if carries_credential(request.headers.get(SERVICE_TOKEN_HEADER), token):
        return None
    raise ApiError(403, "metrics are served on the internal network only", code="forbidden")


def _require_credential() -> Any:
    if request.path in OPEN_PATHS or from_gateway():
        return None
    raise ApiError(
        401,
        "this service answers only the API gateway",
        code="service_credential_required",
    )
