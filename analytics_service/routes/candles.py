"""Underlying candles: closed ones from the store, the one still forming from Redis."""

from __future__ import annotations

from typing import Any

from flask import Response

from analytics_service.calc.resample import Interval, bucket_count
from analytics_service.calc.times import wire
from analytics_service.routes.blueprint import AnalyticsBlueprint
from analytics_service.routes.params import (
    check_points,
    check_product,
    require_product,
    sources,
    time_range,
)
from common.api.analytics import CandlesQuerySchema
from common.web import json_response

blp = AnalyticsBlueprint("analytics_candles", __name__)


@blp.get_with("/<product>/candles", CandlesQuerySchema)
def candles(args: dict[str, Any], product: str) -> Response:
    """Candles starting in ``[start, end)``; ``open_candle`` when the forming one does too."""
    check_product(product)
    interval = Interval(args["interval"])
    start, end = time_range(args.get("start"), args.get("end"))
    check_points(bucket_count(start, end, interval.ms), interval)
    require_product(product)
    closed, forming = sources().candles(product, interval, start, end)
    in_range = forming is not None and start <= forming[0] < end
    return json_response(
        {
            "product": product,
            "interval": interval.value,
            "start": wire(start),
            "end": wire(end),
            "candles": [c for t, c in closed if start <= t < end],
            "open_candle": forming[1] if in_range and forming else None,
        }
    )
