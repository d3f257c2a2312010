"""Login and registration rate limits: Flask-Limiter on Redis, checked before any password.

Two budgets, both counting every attempt whatever its outcome:

- per username (``LOGIN_LIMIT_USER``) on login, keyed by the lower-cased name in the
  JSON body (the client IP when the body has no well-formed name);
- per client IP (``LOGIN_LIMIT_IP``), one budget shared by login and register.
  ``request.remote_addr`` is the client's address: behind the gateway the app
  trusts one ``X-Forwarded-For`` hop (``PROXY_HOPS=1``).

A breach raises Flask-Limiter's 429, which the common error handlers turn into the
error shape (code ``rate_limited``) with ``Retry-After`` and ``X-RateLimit-*``.

The limiter is created unbound and attached by :func:`init_limits`, Flask-Limiter's
factory pattern. Its storage belongs to the instance, so a process serves one app
(gunicorn workers do); tests create their apps one after another on one Redis.
"""

from __future__ import annotations

import re

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from auth_service.state import auth_state
from common.api.auth import USERNAME_MAX, USERNAME_MIN
from common.settings import Settings

KEY_PREFIX = "ratelimit:auth"
"""Prefix of every Redis key of these limits (the gateway's limiter uses its own)."""
STRATEGY = "moving-window"
"""Exact counts over the last window: no burst of twice the limit at a window edge."""
_USERNAME = re.compile(rf"[A-Za-z0-9_.-]{{{USERNAME_MIN},{USERNAME_MAX}}}")
_RETRY_AFTER = "auth_retry_after"
REDIS_TIMEOUT_S = 1.0
"""Connect and read timeout of the limits' Redis client (seconds)."""
REDIS_RETRIES = 1
"""Retries of a failed limits call; redis-py's default (10) would hold a login for ~20 s."""


def client_ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def login_username_key() -> str:
    """``user:<name>`` from the JSON body, lower-cased; the client IP if there is none.

    Only a well-formed name becomes a key, so junk cannot create unbounded keys (a
    request without one is refused 400/422 before any password is looked at).
    """
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    if isinstance(name, str) and _USERNAME.fullmatch(name):
        return f"user:{name.lower()}"
    return f"user-ip:{request.remote_addr or 'unknown'}"


def _user_limit() -> str:
    return auth_state().settings.http.login_limit_user


def _ip_limit() -> str:
    return auth_state().settings.http.login_limit_ip


limiter = Limiter(
    key_func=client_ip_key,
    strategy=STRATEGY,
    headers_enabled=True,
    storage_options={"key_prefix": KEY_PREFIX},
    swallow_errors=False,
)

per_username = limiter.limit(
    _user_limit,
    key_func=login_username_key,
    error_message="too many login attempts for this username; retry later",
)
"""Decorator: the login budget of the username in the body."""

per_client_ip = limiter.shared_limit(
    _ip_limit,
    scope="login-register",
    key_func=client_ip_key,
    error_message="too many attempts from this address; retry later",
)
"""Decorator: the budget of the client IP, shared by every route it decorates."""


def storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI of a ``REDIS_URL`` (it spells sockets ``redis+unix://``)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def init_limits(app: Flask, settings: Settings) -> None:
    """Attach :data:`limiter` to ``app`` with storage on ``settings.redis_url``."""
    if settings.redis_url is None:
        raise ValueError("rate limits need REDIS_URL")
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(settings.redis_url)
    # A hung Redis must not hold a login; an unreachable one fails closed (503).
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {
        "socket_timeout": REDIS_TIMEOUT_S,
        "socket_connect_timeout": REDIS_TIMEOUT_S,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), REDIS_RETRIES),
    }

    # Flask-Limiter writes Retry-After on every limited response (its window reset,
    # even over a 503's own advice). Only its 429s should carry its value: the hook
    # registered after init_app runs before the limiter's (Flask runs after_request
    # hooks in reverse) and remembers the view's header; the one registered before
    # runs last and puts it back.
    @app.after_request
    def _restore_retry_after(response: Response) -> Response:
        if response.status_code != 429:
            original = g.pop(_RETRY_AFTER, None)
            if original is None:
                response.headers.pop("Retry-After", None)
            else:
                response.headers["Retry-After"] = original
        return response

    limiter.init_app(app)

    @app.after_request
    def _remember_retry_after(response: Response) -> Response:
        setattr(g, _RETRY_AFTER, response.headers.get("Retry-After"))
        return response
