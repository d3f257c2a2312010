"""What the alert routes share: the repository (opened on first use), Redis, the clock, the
policy, and who is calling."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import current_app, request

from alert_service.documents import Policy
from common.names import alert_version_key
from common.web.errors import ApiError
from store.alerts.port import AlertStore
from store.lazy import LazyRepository

log = logging.getLogger(__name__)

EXTENSION = "alert_service"
USER_HEADER = "X-User-Id"
"""The caller's user id, set by the gateway from the access token (``common.web.servicecred``
makes sure only the gateway reaches the service)."""
MAX_USER_ID = 128


@dataclass(frozen=True, slots=True)
class AlertContext:
    """The service's collaborators, kept in ``app.extensions``."""

    store: LazyRepository[AlertStore]
    redis: redis.Redis
    policy: Policy
    per_user: int
    """``ALERTS_PER_USER``."""
    clock: Callable[[], dt.datetime]
    """The current instant (aware UTC): ``created_at``, ``updated_at``."""

    def repository(self) -> AlertStore:
        return self.store.get()

    def changing(self, product: str) -> None:
        """Before a write: a new token in ``product``'s version key. A Redis error (503)
        stops the request before the store is written, so the workers never miss a change
        because Redis was down when it was made."""
        self.redis.set(alert_version_key(product), secrets.token_hex(8))

    def changed(self, product: str, alert_id: str) -> None:
        """After the write: a new token again, which the workers see and read ``product``'s
        alerts again (they may have read them between :meth:`changing` and the write).
        The write stands whatever happens here: a Redis failure now is logged."""
        try:
            self.redis.set(alert_version_key(product), secrets.token_hex(8))
        except redis.RedisError as exc:
            log.error(
                "alert version not set after a change",
                extra={"product": product, "alert_id": alert_id, "error": type(exc).__name__},
            )


def alert_context() -> AlertContext:
    context: AlertContext = current_app.extensions[EXTENSION]
    return context


def caller() -> str:
    """The calling user's id (``X-User-Id``); 401 without one."""
    user = request.headers.get(USER_HEADER, "")
    if not user or len(user) > MAX_USER_ID:
        raise ApiError(401, "no caller identity: alert_service answers through the API gateway")
    return user
