"""The base every OptionsFlow Flask service starts from."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from common.settings import Settings
from common.web.errors import install_error_handlers
from common.web.health import Check, health_blueprint
from common.web.metrics import install_metrics
from common.web.responses import OrjsonProvider
from common.web.tracing import install_tracing

MAX_BODY_BYTES = 64 * 1024
"""Largest request body any service accepts (413 above)."""


def create_base_app(
    service: str,
    settings: Settings,
    readiness: Mapping[str, Check],
    *,
    proxy_hops: int | None = None,
    access_log: bool = True,
) -> Flask:
    """A Flask app with orjson, trace ids, the error shape, metrics, ``/healthz`` and ``/readyz``.

    ``proxy_hops`` (default ``settings.http.proxy_hops``) trusted proxies set
    ``request.remote_addr`` from ``X-Forwarded-For``: 1 behind the gateway.
    """
    app = Flask(service)
    app.json = OrjsonProvider(app)
    app.config.update(
        SETTINGS=settings,
        SERVICE_NAME=service,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    hops = settings.http.proxy_hops if proxy_hops is None else proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    install_tracing(app, access_log=access_log)
    install_metrics(app, service, settings.observability.prometheus_multiproc_dir)
    install_error_handlers(app)
    app.register_blueprint(health_blueprint(readiness))
    return app
