"""The service's failures as answers: a full quota 409, a fault in the legs 422 naming its
field, no live chain 404, a failing store 503 with ``Retry-After`` (never a 500)."""

from __future__ import annotations

import logging

from flask import Flask, Response

from common.web.errors import ApiError, error_response
from optionsmath.strategy import StrategyInputError
from paper_service.market import NoLiveChain
from store.port import StoreError
from store.strategies.port import StrategyLimitReached

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""Seconds a client is told to wait before retrying after a 503."""


def invalid(field: str, message: str) -> ApiError:
    """422 naming ``field``."""
    return ApiError(422, f"invalid request: {field}", fields={field: [message]})


def input_error(exc: StrategyInputError) -> ApiError:
    """The math's fault (``legs[2].strike: … ``) as a 422 naming its field."""
    return invalid(exc.field, str(exc).partition(": ")[2])


def install_error_handlers(app: Flask, per_user: int) -> None:
    """``StrategyLimitReached`` → 409 ``strategy_limit``; ``StrategyInputError`` → 422
    naming its field; ``NoLiveChain`` → 404 naming its field; any other store error → 503
    ``unavailable`` with ``Retry-After``."""

    @app.errorhandler(StrategyLimitReached)
    def _limit(_exc: StrategyLimitReached) -> Response:
        return error_response(
            ApiError(
                409,
                f"you hold {per_user} strategies, the most allowed (STRATEGIES_PER_USER): "
                "delete one before saving another",
                code="strategy_limit",
            )
        )

    @app.errorhandler(StrategyInputError)
    def _input(exc: StrategyInputError) -> Response:
        return error_response(input_error(exc))

    @app.errorhandler(NoLiveChain)
    def _no_chain(exc: NoLiveChain) -> Response:
        return error_response(ApiError(404, exc.message, fields={exc.field: [exc.message]}))

    @app.errorhandler(StoreError)
    def _store(exc: StoreError) -> Response:
        # The text may name hosts or paths: the log has it, the answer does not.
        log.warning("strategy store failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return error_response(
            ApiError(
                503,
                "strategy store unavailable, retry later",
                code="unavailable",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        )
