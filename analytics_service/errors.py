"""Failures of the service's dependencies as 503 answers (never a 500)."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response

from common.web.errors import ApiError, error_response
from store import StoreError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""Seconds a client is told to wait before retrying after a 503."""


def unavailable(what: str) -> ApiError:
    return ApiError(
        503,
        f"{what} unavailable, retry later",
        code="unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_unavailable_handlers(app: Flask) -> None:
    """Store errors (transient or not: the data cannot be read either way) and Redis errors
    answer 503 with ``Retry-After``."""

    @app.errorhandler(StoreError)
    def _store(exc: StoreError) -> Response:
        log.warning("store failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return error_response(unavailable("store"))

    @app.errorhandler(redis.RedisError)
    def _redis(exc: redis.RedisError) -> Response:
        log.warning("redis failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return error_response(unavailable("cache"))
