"""Rate limits at the gateway with Flask-Limiter on Redis: per client IP on every
``/api`` route (and ``/readyz``, ``/metrics``) and per user on authenticated ones.
The per-user figures are the ``X-RateLimit-*`` headers of authenticated answers;
a breach of either limit is 429 with ``Retry-After`` (in seconds).

Flask-Limiter writes ``Retry-After`` on every answer when headers are on; it is
written under another name here and copied to ``Retry-After`` only on a 429, so
a 200 carries none and a 503's own value survives.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, g, request
from flask_limiter import ApplicationLimit, HeaderNames, Limiter, RequestLimit

from api_gateway.limitstore import SCHEME_PREFIX, WindowMemoRedisStorage
from common.settings import HttpSettings

_UNLIMITED_PREFIXES = ("/api/docs", "/api/openapi.json")
_LIMITED_OUTSIDE_API = frozenset({"/readyz", "/metrics"})
_RETRY_AFTER_SLOT = "X-RateLimit-Retry-After"
_UPSTREAM_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def client_ip() -> str:
    return request.remote_addr or "unknown"


def _user() -> str:
    return str(g.claims.sub)


def _not_api() -> bool:
    path = request.path
    if path in _LIMITED_OUTSIDE_API:
        return False
    return not path.startswith("/api/") or path.startswith(_UNLIMITED_PREFIXES)


def _anonymous() -> bool:
    return _not_api() or "claims" not in g


def limiter_storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL (``unix://`` is spelled ``redis+unix://``)."""
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def _note_window(breach: RequestLimit) -> None:
    """On a per-IP breach remember the window, for the Retry-After of the 429."""
    g.ip_limit_window_s = breach.limit.get_expiry()


def make_limiters(http: HttpSettings, redis_url: str) -> tuple[Limiter, Limiter]:
    """(per-IP limiter, per-user limiter): the first runs before the token is verified,
    so forged tokens are counted and stopped by it; the second after, keyed by the
    verified user, and its figures are the ``X-RateLimit-*`` headers."""
    storage = limiter_storage_uri(redis_url)
    # A Redis that stops answering must fail a request (503), not hold its thread.
    options: dict[str, str | int] = {"socket_timeout": 2, "socket_connect_timeout": 2}
    per_ip = Limiter(
        client_ip,
        storage_uri=storage,
        storage_options=options,
        strategy="fixed-window",  # one INCR per window per request: the cheapest on Redis
        key_prefix="ratelimit:gw:ip",
        # Its headers would cost two more Redis reads per request; its 429 gets a
        # Retry-After from the window length (install_limit_headers).
        headers_enabled=False,
        application_limits=[
            ApplicationLimit(
                http.rate_limit_ip, scope="ip", exempt_when=_not_api, on_breach=_note_window
            )
        ],
    )
    per_user = Limiter(
        _user,
        # its headers come from the memo of its own hit: no window reads (limitstore)
        storage_uri=SCHEME_PREFIX + storage,
        storage_options=options,
        # Redis failing between its check and its headers (after the service answered)
        # must not turn the answer into a 500; a Redis already down has failed the
        # request earlier, at the per-IP limit or the deny-list (503).
        swallow_errors=True,
        strategy="fixed-window",
        key_prefix="ratelimit:gw:user",
        headers_enabled=True,
        header_name_mapping={HeaderNames.RETRY_AFTER: _RETRY_AFTER_SLOT},
        retry_after="delta-seconds",
        application_limits=[
            ApplicationLimit(http.rate_limit_user, scope="user", exempt_when=_anonymous)
        ],
    )
    return per_ip, per_user


def forget_windows(per_user: Limiter) -> Callable[[], None]:
    """A before-request hook clearing the per-user storage's memo of the previous request;
    register it before ``per_user.init_app``."""

    def _forget() -> None:
        storage = per_user.storage
        if isinstance(storage, WindowMemoRedisStorage):
            storage.forget()

    return _forget


def install_limit_headers(app: Flask) -> None:
    """Fix up the limiters' headers; install BEFORE the limiters' ``init_app``
    (after_request hooks run in reverse order, so this one runs after theirs)."""

    @app.after_request
    def _limit_headers(response: Response) -> Response:
        retry_after = response.headers.pop(_RETRY_AFTER_SLOT, None)
        if response.status_code == 429 and retry_after and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = retry_after
        window = g.pop("ip_limit_window_s", None)
        if response.status_code == 429 and window and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(window)  # fixed window: over by its end
        upstream = g.get("upstream_limit_headers")
        if upstream:  # a service's own limit (login) said 429: its figures, not the gateway's
            response.headers.update(upstream)
        return response


def keep_upstream_limit_headers(status: int, headers: dict[str, str]) -> None:
    """Remember a service's ``X-RateLimit-*`` of a 429 for :func:`install_limit_headers`."""
    if status == 429:
        g.upstream_limit_headers = {k: headers[k] for k in _UPSTREAM_LIMIT_HEADERS if k in headers}
