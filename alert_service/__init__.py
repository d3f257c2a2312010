"""alert_service (port 8006): users' alerts over REST, behind the API gateway.

Create, list, read, change (pause) and delete one's alerts, and read the history of their
triggers; each write tells the workers through the product's version key in Redis
(``common.names.alert_version_key``) that they must read its alerts again. The repository
is ``store.alerts`` (``STORE_URL``), opened on first use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask

from alert_service.context import EXTENSION, AlertContext
from alert_service.documents import Policy
from alert_service.errors import install_error_handlers
from alert_service.routes import BLUEPRINTS
from common.products import serving_registry
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from common.web import create_base_app
from common.web.openapi import make_api
from store.alerts.port import AlertStore
from store.lazy import LazyRepository

SERVICE = "alert_service"
REDIS_TIMEOUT_S = 2.0
"""Redis connect and read timeout of a request: a slow Redis answers 503, not a hung thread."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings | None = None,
    *,
    store: AlertStore | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> Flask:
    """The alert service; ``settings`` default to the environment's; needs ``REDIS_URL``.

    ``store`` replaces the repository ``STORE_URL`` names (tests); ``clock`` gives the
    instants alerts are created and changed at. The repository is opened on first use, so
    the service starts, and ``/readyz`` reports it, while the store is down.
    """
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: alert_service needs the Redis the workers read alert versions from"
            " (e.g. redis://127.0.0.1:6379/0); it does not start an embedded one"
        )
    store_url = settings.store_url

    def _open() -> AlertStore:
        if store is not None:
            return store
        from store.alerts import open_alert_store

        return open_alert_store(store_url)

    client = make_redis(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, connect_timeout=REDIS_TIMEOUT_S,
        retries=1,
    )  # fmt: skip
    repository = LazyRepository("alert store", _open)
    app = create_base_app(
        SERVICE, settings, readiness={"redis": client.ping, "store": repository.ping}
    )
    app.extensions[EXTENSION] = AlertContext(
        store=repository,
        redis=client,
        policy=Policy(
            products=frozenset(serving_registry(settings).products),
            allow_private=settings.alerts.webhook_allow_private,
        ),
        per_user=settings.alerts.per_user,
        clock=clock,
    )
    install_error_handlers(app, settings.alerts.per_user)
    api = make_api(app, "alerts")
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
