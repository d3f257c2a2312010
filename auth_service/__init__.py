"""Authentication: password hashing, RS256 signing keys, JWT issue/verify and refresh sessions,
served over HTTP by :func:`create_app`."""

from __future__ import annotations

import datetime as dt

from flask import Flask, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from auth_service.keys import load_or_create_keys
from auth_service.limits import init_limits
from auth_service.routes import register_routes
from auth_service.sessions import SessionStore
from auth_service.state import EXTENSION, AuthState
from auth_service.tokens import TokenService
from auth_service.verifycap import init_verify_cap
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from common.web import ApiError, create_base_app
from common.web.errors import error_response
from common.web.openapi import make_api
from store import Store, StoreUnavailable, open_store
from store.lazy import LazyStore

SERVICE = "auth_service"
RETRY_AFTER_S = 1
"""Advice to clients when Redis or the store is unreachable (503)."""
REDIS_TIMEOUT_S = 1.0
"""Connect and read timeout of Redis on request paths (seconds)."""
REDIS_RETRIES = 1
"""Retries of a failed Redis call on request paths. With the timeout above a hung Redis
answers 503 in 2–4 s (a retried connect handshake nests inside the command's retry);
5 s and 5 retries held a request for minutes (191 s measured on logout)."""


def create_app(settings: Settings | None = None) -> Flask:
    """The auth_service app; ``settings`` default to :func:`load_settings`.

    Raises :class:`SettingsError` without ``REDIS_URL`` (sessions, the deny-list and
    rate limits live there) and, in production, without configured signing keys. The
    store is opened on first use, so the app starts while it is down (503 until then).
    """
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: must be set for auth_service (refresh sessions, revoked tokens "
            "and login rate limits are kept in Redis)"
        )
    keys = load_or_create_keys(settings)  # before any connection: a refused start leaks none
    tokens = TokenService(
        keys,
        access_ttl=dt.timedelta(seconds=settings.http.access_ttl_s),
        refresh_ttl=dt.timedelta(seconds=settings.http.refresh_ttl_s),
    )
    store_url = settings.store_url

    def _open_store() -> Store:
        return open_store(store_url)

    store = LazyStore(_open_store)
    client = make_redis(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_S,
        connect_timeout=REDIS_TIMEOUT_S,
        retries=REDIS_RETRIES,
    )
    # Readiness must answer quickly: no retries, short timeouts.
    probe = make_redis(
        settings.redis_url,
        retries=0,
        socket_timeout=REDIS_TIMEOUT_S,
        connect_timeout=REDIS_TIMEOUT_S,
    )

    app = create_base_app(SERVICE, settings, readiness={"redis": probe.ping, "store": store.ping})
    app.extensions[EXTENSION] = AuthState(
        settings=settings,
        lazy_store=store,
        redis=client,
        tokens=tokens,
        sessions=SessionStore(client, tokens),
    )
    _install_unavailable_handlers(app)
    init_verify_cap(app, settings)  # Argon2 hashes at once per process; more get 503
    init_limits(app, settings)
    register_routes(make_api(app, "auth"))
    return app


def _install_unavailable_handlers(app: Flask) -> None:
    def unavailable(what: str) -> Response:
        return error_response(
            ApiError(503, f"{what} unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})
        )

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_down(_exc: Exception) -> Response:
        return unavailable("session store")

    @app.errorhandler(StoreUnavailable)
    def _store_down(_exc: StoreUnavailable) -> Response:
        return unavailable("user store")
