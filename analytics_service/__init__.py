"""analytics_service (port 8004): history series, OI change, IV smile, surface,
term structure, IV rank, realised vs implied volatility and candles."""

from __future__ import annotations

from flask import Flask

from analytics_service.errors import install_unavailable_handlers
from analytics_service.routes import BLUEPRINTS
from analytics_service.sources import Sources
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from common.web import create_base_app
from common.web.openapi import make_api
from store import Store, open_store

SERVICE = "analytics_service"
REDIS_TIMEOUT_S = 2.0
"""Redis connect and read timeout of a request; a slow Redis answers 503, not a hung worker."""


def create_app(settings: Settings | None = None) -> Flask:
    """The analytics Flask app; ``settings`` default to the environment's.

    Needs ``REDIS_URL`` (``SettingsError`` without it). The store is opened on
    first use, so the app starts while it is down.
    """
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: analytics_service needs the Redis the workers write to"
            " (e.g. redis://127.0.0.1:6379/0); it does not start an embedded one"
        )
    store_url = settings.store_url

    def _open_store() -> Store:
        return open_store(store_url)

    client = make_redis(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, connect_timeout=REDIS_TIMEOUT_S,
        retries=1,
    )  # fmt: skip
    sources = Sources(client, _open_store)
    app = create_base_app(
        SERVICE, settings, readiness={"redis": client.ping, "store": sources.ping_store}
    )
    app.extensions["analytics"] = sources
    install_unavailable_handlers(app)
    api = make_api(app, "analytics")
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
