"""The service's failures as answers: a full quota 409, a rule at fault 422, a failing store
503 with ``Retry-After`` (never a 500)."""

from __future__ import annotations

import logging

from flask import Flask, Response

from alerts.rules import RuleError
from common.web.errors import ApiError, error_response
from store.alerts.port import AlertLimitReached
from store.port import StoreError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""Seconds a client is told to wait before retrying after a 503."""


def invalid(field: str, message: str) -> ApiError:
    """422 naming ``field``."""
    return ApiError(422, f"invalid request: {field}", fields={field: [message]})


def install_error_handlers(app: Flask, per_user: int) -> None:
    """``AlertLimitReached`` → 409 ``alert_limit``; ``RuleError`` → 422 naming its field;
    any other store error → 503 ``unavailable`` with ``Retry-After``."""

    @app.errorhandler(AlertLimitReached)
    def _limit(_exc: AlertLimitReached) -> Response:
        return error_response(
            ApiError(
                409,
                f"you hold {per_user} alerts, the most allowed (ALERTS_PER_USER): delete one "
                "before creating another",
                code="alert_limit",
            )
        )

    @app.errorhandler(RuleError)
    def _rule(exc: RuleError) -> Response:
        return error_response(invalid(exc.field, exc.message))

    @app.errorhandler(StoreError)
    def _store(exc: StoreError) -> Response:
        # The text may name hosts or paths: the log has it, the answer does not.
        log.warning("alert store failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return error_response(
            ApiError(
                503,
                "alert store unavailable, retry later",
                code="unavailable",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        )
