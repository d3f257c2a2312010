"""OptionsFlow storage service: the store port and its adapters (``storage_service.store``),
and the read API over them with cache-aside on Redis (:func:`create_app`).

The worker writes enriched snapshots through the port; this service serves the
newest payloads from the workers' ``latest:*`` cache, and history and the
product listing from the store behind a timeout and a circuit breaker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from common.settings import Settings
    from storage_service.store.port import Store


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> Flask:
    """The read API. ``settings`` default to the environment; REDIS_URL is required.

    ``store`` replaces the one ``STORE_URL`` names (tests); ``clock`` gives the
    current instant (tests fix "today"). The store is opened on first use, so the
    service starts, and ``/readyz`` reports it, while the store is down.
    """
    # Imported here: the worker imports this package for the store port alone.
    from common.redis_client import make_redis
    from common.settings import SettingsError, load_settings
    from common.web import create_base_app
    from common.web.openapi import make_api
    from storage_service.cache import ResponseCache
    from storage_service.routes import register_routes
    from storage_service.routes.context import EXTENSION, DataContext
    from storage_service.store import open_store
    from storage_service.store.guard import GuardedStore

    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: storage_service needs the Redis the workers write latest:* to "
            "(it does not start an embedded one); set REDIS_URL=redis://host:6379/0"
        )
    client = make_redis(settings.redis_url, socket_timeout=2.0, connect_timeout=2.0, retries=1)
    store_url = settings.store_url
    opener = (lambda: store) if store is not None else (lambda: open_store(store_url))
    guard = GuardedStore.from_settings(opener, settings.http)
    app = create_base_app(
        "storage_service", settings, readiness={"redis": client.ping, "store": guard.ping}
    )
    app.extensions[EXTENSION] = DataContext(
        settings=settings,
        redis=client,
        store=guard,
        cache=ResponseCache.from_settings(client, settings.http),
        clock=clock,
    )
    register_routes(app, make_api(app, "storage"))
    return app
