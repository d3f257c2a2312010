"""The data routes of storage_service (``common.api.data`` describes them) and their errors."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, request

from common.web import ApiError
from common.web.errors import error_response
from common.web.openapi import Api
from storage_service.routes import feeds, history, latest, products
from storage_service.routes.context import data_context
from store.port import StoreError, StoreUnavailable

log = logging.getLogger(__name__)


def register_routes(app: Flask, api: Api) -> None:
    """The blueprints, and 503 answers for a failing store or an unavailable Redis."""
    for module in (products, latest, history, feeds):
        api.register_blueprint(module.bp)

    @app.errorhandler(StoreError)
    def _store_failed(exc: StoreError) -> Response:
        context = data_context()
        guard = context.history_store if request.blueprint == history.bp.name else context.store
        if isinstance(exc, StoreUnavailable):
            message = f"store unavailable and nothing cached: {exc}"
        else:  # refused by the server (credentials, a failed query): its text stays in the log
            log.error("store error", extra={"error": f"{type(exc).__name__}: {exc}"})
            message = "store failing and nothing cached"
        return error_response(
            ApiError(503, message, headers={"Retry-After": str(guard.retry_after_s())})
        )

    @app.errorhandler(redis.RedisError)
    def _redis_unavailable(exc: redis.RedisError) -> Response:
        return error_response(
            ApiError(503, f"cache unavailable: {type(exc).__name__}", headers={"Retry-After": "1"})
        )
