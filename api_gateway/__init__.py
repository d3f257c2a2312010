"""api_gateway (port 8000): the public REST entry: JWT check, rate limits,
routing, trace ids, load shedding, OpenAPI, and the dashboard at ``/``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson
import swagger_ui_bundle
from flask import Flask, send_from_directory
from werkzeug.wrappers import Response

from api_gateway.authn import install_authentication
from api_gateway.dashboard import dashboard_blueprint
from api_gateway.docs import install_docs_page
from api_gateway.edge import AGE_EXTENSION, AgeRule
from api_gateway.limits import forget_windows, install_limit_headers, make_limiters
from api_gateway.proxy import (
    API_PREFIX,
    BEARER,
    REDIS_EXTENSION,
    UPSTREAMS_EXTENSION,
    build_blueprint,
    require_json_object,
)
from api_gateway.secheaders import install_security_headers
from api_gateway.shedding import install_shedding
from api_gateway.upstream import Upstreams
from common.access import AccessTokens
from common.api.routes import RouteSpec, Upstream
from common.jwks import JwksCache
from common.products import serving_registry
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from common.web import create_base_app
from common.web.openapi import make_api

SWAGGER_STATIC = f"{API_PREFIX}/docs/static/"


def public_routes() -> tuple[RouteSpec, ...]:
    """Every route the gateway serves: the services' tables, in one place."""
    from common.api.alerts import ROUTES as ALERTS
    from common.api.analytics import ROUTES as ANALYTICS
    from common.api.auth import ROUTES as AUTH
    from common.api.data import ROUTES as DATA
    from common.api.feeds import ROUTES as FEEDS
    from common.api.logs import ROUTES as LOGS
    from common.api.paper import ROUTES as PAPER
    from common.api.strategies import ROUTES as STRATEGIES

    return (*AUTH, *DATA, *FEEDS, *ANALYTICS, *ALERTS, *STRATEGIES, *PAPER, *LOGS)


READINESS_UPSTREAMS = (
    Upstream.AUTH, Upstream.STORAGE, Upstream.ANALYTICS, Upstream.ALERTS, Upstream.PAPER,
)  # fmt: skip
"""The services ``/readyz`` checks: those the public routes need. logging_service is left
out: an admin tool being down must not take the gateway out of its load balancer (its
route answers 502 meanwhile)."""


def _alive(upstreams: Upstreams, name: Upstream) -> Callable[[], None]:
    def check() -> None:
        answer = upstreams.call(name, "GET", "/healthz", headers={})
        if answer.status != 200:
            raise RuntimeError(f"{name} /healthz answered {answer.status}")

    return check


def create_app(
    settings: Settings | None = None,
    *,
    routes: Iterable[RouteSpec] | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """The gateway app; ``routes`` defaults to :func:`public_routes`; ``clock`` (epoch
    seconds) dates the answers it reads from Redis itself (their data's age)."""
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError("REDIS_URL: must be set for api_gateway (make up sets it)")
    specs = tuple(routes if routes is not None else public_routes())
    http = settings.http
    client = make_redis(settings.redis_url, socket_timeout=2.0, retries=1)
    upstreams = Upstreams(
        {
            Upstream.AUTH: http.auth_url,
            Upstream.STORAGE: http.storage_url,
            Upstream.ANALYTICS: http.analytics_url,
            Upstream.LOGGING: http.logging_url,
            Upstream.ALERTS: http.alert_url,
            Upstream.PAPER: http.paper_url,
        },
        timeout_s=http.upstream_timeout_s,
        pool_size=max(4, settings.web.thread_count),  # a connection per gunicorn thread
    )

    def fetch_jwks() -> dict[str, object]:
        answer = upstreams.call(Upstream.AUTH, "GET", "/auth/jwks.json", headers={})
        if answer.status != 200:
            raise RuntimeError(f"JWKS answered {answer.status}")
        return dict(orjson.loads(answer.body))

    tokens = AccessTokens(JwksCache(fetch_jwks, ttl_s=http.jwks_ttl_s))
    app = create_base_app(
        "api_gateway",
        settings,
        {"redis": client.ping, **{u.value: _alive(upstreams, u) for u in READINESS_UPSTREAMS}},
    )
    app.extensions[UPSTREAMS_EXTENSION] = upstreams
    app.extensions[REDIS_EXTENSION] = client
    app.extensions[AGE_EXTENSION] = AgeRule(serving_registry(settings), clock)
    by_endpoint = {f"api.{spec.name}": spec for spec in specs}
    # before_request order: shed → per-IP limit → token → per-user limit → body
    install_shedding(app, by_endpoint, http.shed_inflight)
    install_limit_headers(app)
    per_ip, per_user = make_limiters(http, settings.redis_url)
    app.before_request(forget_windows(per_user))
    per_ip.init_app(app)
    install_authentication(app, by_endpoint, tokens, client)
    per_user.init_app(app)
    app.before_request(require_json_object(by_endpoint))
    api = make_api(
        app,
        "OptionsFlow API",
        spec_prefix=API_PREFIX,
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_STATIC,
    )
    api.spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    api.register_blueprint(build_blueprint(specs))

    app.register_blueprint(dashboard_blueprint(settings))

    @app.get(f"{SWAGGER_STATIC}<path:filename>")
    def swagger_static(filename: str) -> Response:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86_400)

    install_docs_page(
        app, title="OptionsFlow API", docs_path=f"{API_PREFIX}/docs", static_url=SWAGGER_STATIC
    )
    install_security_headers(app, settings)
    return app
