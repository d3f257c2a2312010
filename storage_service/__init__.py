"""OptionsFlow storage service: the read API over the store (:mod:`store`) with cache-aside
on Redis (:func:`create_app`).

The worker writes enriched snapshots through the port; this service serves the
newest payloads from the workers' ``latest:*`` cache, and history and the
product listing from the store behind a timeout and a circuit breaker.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from common.settings import HttpSettings, Settings
    from store.port import Store

log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def wait_warnings(http: HttpSettings) -> list[str]:
    """What is unsound in how long cache waiters wait against how long a store call may take.

    A request waiting on another's rebuild gives up after ``CACHE_LOCK_WAIT_MS``;
    if a store call may legitimately take longer, waiters answer stale or 503
    while the rebuild they wait for is still on its way.
    """
    from storage_service.guard import HISTORY_TIMEOUT_FACTOR

    wait_ms = http.lock_wait_ms
    history_ms = http.store_timeout_ms * HISTORY_TIMEOUT_FACTOR
    found = []
    if wait_ms < http.store_timeout_ms:
        found.append(
            f"CACHE_LOCK_WAIT_MS={wait_ms} is below STORE_TIMEOUT_MS={http.store_timeout_ms}: "
            "requests waiting on a rebuild give up before a store call may time out"
        )
    elif wait_ms < history_ms:
        found.append(
            f"CACHE_LOCK_WAIT_MS={wait_ms} is below the history timeout ({history_ms} ms, "
            f"{HISTORY_TIMEOUT_FACTOR} x STORE_TIMEOUT_MS): requests waiting on a history "
            "rebuild give up before it may time out"
        )
    if http.lock_ttl_ms < history_ms:
        found.append(
            f"CACHE_LOCK_TTL_MS={http.lock_ttl_ms} is below the history timeout ({history_ms} "
            "ms): a slow rebuild may lose its lock and a second one start"
        )
    return found


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
    from common.latest import LatestReader
    from common.redis_client import make_redis
    from common.settings import SettingsError, load_settings
    from common.web import create_base_app
    from common.web.openapi import make_api
    from storage_service.cache import ResponseCache
    from storage_service.guard import StoreGuards
    from storage_service.routes import register_routes
    from storage_service.routes.context import EXTENSION, DataContext
    from store import open_store

    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: storage_service needs the Redis the workers write latest:* to "
            "(it does not start an embedded one); set REDIS_URL=redis://host:6379/0"
        )
    for warning in wait_warnings(settings.http):
        log.warning("storage_service settings: %s", warning)
    client = make_redis(settings.redis_url, socket_timeout=2.0, connect_timeout=2.0, retries=1)
    store_url = settings.store_url
    opener = (lambda: store) if store is not None else (lambda: open_store(store_url))
    guards = StoreGuards.from_settings(opener, settings.http)
    app = create_base_app(
        "storage_service", settings, readiness={"redis": client.ping, "store": guards.light.ping}
    )
    app.extensions[EXTENSION] = DataContext(
        settings=settings,
        redis=client,
        guards=guards,
        cache=ResponseCache.from_settings(client, settings.http),
        latest=LatestReader(client),
        clock=clock,
    )
    register_routes(app, make_api(app, "storage"))
    return app
