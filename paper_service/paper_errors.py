"""Paper trading's failures as answers: a fault in an order 422 naming its field, a client
order id stored for another placement 409 ``client_order_id_conflict``, a stale market 409
``stale_market``, and the paper store down 503 with ``Retry-After`` (never a 500)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response

from common.web.errors import ApiError, error_response
from paper.checks import OrderError
from paper_service.quotes import StaleMarket
from store.paper.port import ClientOrderIdConflict
from store.port import StoreError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""Seconds a client is told to wait before retrying after a 503."""


def conflict(message: str) -> ApiError:
    """409 ``client_order_id_conflict``."""
    return ApiError(409, message, code="client_order_id_conflict")


@contextmanager
def paper_store_errors() -> Iterator[None]:
    """The paper store's failures inside as 503 ``unavailable`` (a conflict as 409): a
    write happened whole or not at all, and a retried placement is idempotent."""
    try:
        yield
    except ClientOrderIdConflict as exc:
        raise conflict(f"{exc}: nothing was placed") from None
    except StoreError as exc:
        log.warning("paper store failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        raise ApiError(
            503,
            "paper store unavailable, retry later (the same client_order_id places once)",
            code="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None


def install_paper_error_handlers(app: Flask) -> None:
    """``OrderError`` → 422 naming its field; ``StaleMarket`` → 409 ``stale_market``."""

    @app.errorhandler(OrderError)
    def _order(exc: OrderError) -> Response:
        return error_response(
            ApiError(422, f"invalid request: {exc.field}", fields={exc.field: [exc.message]})
        )

    @app.errorhandler(StaleMarket)
    def _stale(exc: StaleMarket) -> Response:
        return error_response(
            ApiError(409, exc.message, code="stale_market", fields={exc.field: [exc.message]})
        )
