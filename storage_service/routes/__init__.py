"""The data routes of storage_service (``common.api.data`` describes them) and their errors."""

from __future__ import annotations

import redis
from flask import Flask, Response

from common.web import ApiError
from common.web.errors import error_response
from common.web.openapi import Api
from storage_service.routes import history, latest, products
from storage_service.routes.context import data_context
from storage_service.store.port import StoreUnavailable


def register_routes(app: Flask, api: Api) -> None:
    """The blueprints, and 503 answers for an unavailable store or Redis."""
    for module in (products, latest, history):
        api.register_blueprint(module.bp)

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(exc: StoreUnavailable) -> Response:
        retry_after = data_context().store.retry_after_s()
        return error_response(
            ApiError(
                503,
                f"store unavailable and nothing cached: {exc}",
                headers={"Retry-After": str(retry_after)},
            )
        )

    @app.errorhandler(redis.RedisError)
    def _redis_unavailable(exc: redis.RedisError) -> Response:
        return error_response(
            ApiError(503, f"cache unavailable: {type(exc).__name__}", headers={"Retry-After": "1"})
        )
