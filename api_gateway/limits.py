"""Rate limits at the gateway with Flask-Limiter on Redis: per client IP on every
``/api`` route and per user on authenticated ones. ``X-RateLimit-*`` headers go on
every limited answer; a breach is 429 with ``Retry-After`` (in seconds)."""

from __future__ import annotations

from flask import g, request
from flask_limiter import ApplicationLimit, Limiter

from common.settings import HttpSettings

_UNLIMITED_PREFIXES = ("/api/docs", "/api/openapi.json")


def client_ip() -> str:
    return request.remote_addr or "unknown"


def _user() -> str:
    return str(g.claims.sub)


def _not_api() -> bool:
    path = request.path
    return not path.startswith("/api/") or path.startswith(_UNLIMITED_PREFIXES)


def _anonymous() -> bool:
    return _not_api() or "claims" not in g


def limiter_storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL (``unix://`` is spelled ``redis+unix://``)."""
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def make_limiter(http: HttpSettings, redis_url: str) -> Limiter:
    return Limiter(
        client_ip,
        storage_uri=limiter_storage_uri(redis_url),
        strategy="fixed-window",  # one INCR per window per request: the cheapest on Redis
        key_prefix="ratelimit:gw",
        headers_enabled=True,
        retry_after="delta-seconds",
        application_limits=[
            ApplicationLimit(http.rate_limit_ip, scope="ip", exempt_when=_not_api),
            ApplicationLimit(
                http.rate_limit_user, key_function=_user, scope="user", exempt_when=_anonymous
            ),
        ],
    )
