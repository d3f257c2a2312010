"""What every analytics route checks: the product, the expiry, the time range, the size."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Response, current_app

from analytics_service.calc.ranges import MAX_SPAN_MS, RangeError, resolve_range
from analytics_service.calc.resample import MAX_POINTS
from analytics_service.calc.times import ceil_ms, to_ms
from analytics_service.sources import Sources
from common.latest import data_age_headers, mark_data_age_fields, stamp_age
from common.messages import PRODUCT_PATTERN
from common.products import ProductConventions, serving_registry
from common.settings import Settings
from common.web.errors import ApiError
from common.web.responses import json_response

_PRODUCT = re.compile(PRODUCT_PATTERN)
_PRODUCT_HINT = "must match " + PRODUCT_PATTERN.removesuffix("\\Z")


def sources() -> Sources:
    source: Sources = current_app.extensions["analytics"]
    return source


def settings() -> Settings:
    config: Settings = current_app.config["SETTINGS"]
    return config


def conventions(product: str) -> ProductConventions:
    """The product's conventions (expiry instant, rate): the settings' for NSE products and
    unknown ones, Deribit's (08:00 UTC) for BTC and ETH."""
    s = settings()
    return serving_registry(s).get(product)


def dated_response(product: str, doc: dict[str, Any]) -> Response:
    """``doc``, an answer built from the newest chains (its ``timestamp`` the newest one's),
    with the data's age: ``X-Data-Age`` and, past the product's ``stale_after_s``,
    ``X-Data-Age-Stale`` and the ``data_age_stale``/``data_age_s`` members (common/latest.py)."""
    limit = serving_registry(settings()).get(product).stale_after_s
    age = stamp_age(doc.get("timestamp"), sources().clock().timestamp(), limit)
    return json_response(mark_data_age_fields(doc, age), headers=data_age_headers(age))


def now_ms() -> int:
    return to_ms(sources().clock())


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, f"invalid request: {field}", fields={field: [message]})


def check_product(product: str) -> None:
    """422 naming ``product`` unless it matches the feed's product pattern."""
    if not _PRODUCT.match(product):
        raise invalid("product", _PRODUCT_HINT)


def _unknown_product(product: str) -> ApiError:
    return ApiError(404, f"nothing stored for product {product}")


def require_expiries(product: str) -> list[str]:
    """The product's expiries (stored or cached); 404 if it has none."""
    expiries = sources().expiries(product)
    if not expiries:
        raise _unknown_product(product)
    return expiries


def require_product(product: str) -> list[str]:
    """The product's expiries, possibly none for an underlying without chains; 404 if
    nothing at all is known of it."""
    expiries = sources().expiries(product)
    if not expiries and not sources().has_underlying(product):
        raise _unknown_product(product)
    return expiries


def require_expiry(product: str, expiry: str) -> None:
    """404 unless a chain of (product, expiry) is stored or cached."""
    if sources().has_expiry(product, expiry):
        return
    if not sources().expiries(product):
        raise _unknown_product(product)
    raise ApiError(
        404, f"nothing stored for {product} {expiry}", fields={"expiry": ["no chain stored"]}
    )


def time_range(
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    names: tuple[str, str] = ("start", "end"),
    max_span: bool = True,
    instants: bool = False,
) -> tuple[int, int]:
    """``[start, end)`` in epoch ms, defaults filled in; 422 naming the field otherwise.

    A bound is rounded up to the millisecond (``ts >= start``, ``ts < end`` keep
    their meaning); with ``instants`` both are rounded down (``ts <= at``).
    """
    rounded = to_ms if instants else ceil_ms
    try:
        return resolve_range(
            None if start is None else rounded(start),
            None if end is None else rounded(end),
            now_ms(),
            names=names,
            max_span=MAX_SPAN_MS if max_span else None,
        )
    except RangeError as exc:
        raise invalid(exc.field, str(exc)) from exc


def check_points(count: int, interval: str) -> None:
    """422 naming ``interval`` when a request spans more than ``MAX_POINTS`` buckets."""
    if count > MAX_POINTS:
        raise invalid(
            "interval",
            f"{count} buckets of {interval} between start and end; at most {MAX_POINTS}:"
            " use a wider interval or a later start",
        )
