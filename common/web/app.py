"""The base every OptionsFlow Flask service starts from."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from common.settings import Settings
from common.web.errors import install_error_handlers
from common.web.health import Check, health_blueprint
from common.web.metrics import install_metrics
from common.web.responses import OrjsonProvider
from common.web.servicecred import install_service_credential
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
    ``request.remote_addr`` from ``X-Forwarded-For``: 1 behind the gateway. An internal
    service (auth, storage, analytics, logging) answers only callers presenting
    ``SERVICE_TOKEN`` and honours ``X-Forwarded-For`` only from them
    (:mod:`common.web.servicecred`).
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
    install_tracing(app, access_log=access_log)
    # After tracing, so a refused caller's answer carries its trace id; before every hook a
    # service adds (its rate limits), so a refused request counts towards nothing.
    install_service_credential(
        app, service, settings.trust.service_token, hops, production=settings.is_production
    )
    install_metrics(app, service, settings.observability.prometheus_multiproc_dir)
    install_error_handlers(app)
    app.register_blueprint(health_blueprint(readiness))
    return app
