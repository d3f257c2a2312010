"""Routes on one expiry's chains: series over time, OI change, the smile."""

from __future__ import annotations

from typing import Any

from flask import Response

from analytics_service.calc.oi import oi_change
from analytics_service.calc.resample import Interval, bucket_count, buckets, resample
from analytics_service.calc.series import parse_metrics, series_point, source_fields
from analytics_service.calc.smile import smile
from analytics_service.calc.times import wire
from analytics_service.routes.blueprint import AnalyticsBlueprint
from analytics_service.routes.params import (
    check_points,
    check_product,
    dated_response,
    invalid,
    require_expiry,
    sources,
    time_range,
)
from common.api.analytics import OiChangeQuerySchema, SeriesQuerySchema, SmileQuerySchema
from common.web import ApiError, json_response

blp = AnalyticsBlueprint("analytics_chains", __name__)


@blp.get_with("/<product>/series", SeriesQuerySchema)
def series(args: dict[str, Any], product: str) -> Response:
    """The newest snapshot of each bucket (``t`` its start); empty buckets left out."""
    check_product(product)
    try:
        metrics = parse_metrics(args.get("metrics"))
    except ValueError as exc:
        raise invalid("metrics", str(exc)) from exc
    interval = Interval(args["interval"])
    expiry = args["expiry"]
    start, end = time_range(args.get("start"), args.get("end"))
    check_points(bucket_count(start, end, interval.ms), interval)
    require_expiry(product, expiry)
    fields = source_fields(metrics)
    src = sources()
    picked = resample(
        buckets(start, end, interval.ms),
        lambda at: src.chain_at(product, expiry, at, fields),
    )
    return json_response(
        {
            "product": product,
            "expiry": expiry,
            "interval": interval.value,
            "metrics": [m.value for m in metrics],
            "start": wire(start),
            "end": wire(end),
            "points": [series_point(b.start, chain, metrics) for b, chain in picked],
        }
    )


@blp.get_with("/<product>/oi-change", OiChangeQuerySchema)
def oi_change_route(args: dict[str, Any], product: str) -> Response:
    """OI by strike in the newest snapshots at or before ``from`` and ``to``."""
    check_product(product)
    expiry = args["expiry"]
    before_ms, after_ms = time_range(
        args.get("from_"), args.get("to"), names=("from", "to"), max_span=False, instants=True
    )
    require_expiry(product, expiry)
    src = sources()
    before = src.chain_at(product, expiry, before_ms, ["calls", "puts"])
    after = src.chain_at(product, expiry, after_ms, ["calls", "puts"])
    return json_response({"product": product, "expiry": expiry, **oi_change(before, after)})


@blp.get_with("/<product>/smile", SmileQuerySchema)
def smile_route(args: dict[str, Any], product: str) -> Response:
    """IV against strike in the newest chain of the expiry."""
    check_product(product)
    expiry = args["expiry"]
    require_expiry(product, expiry)
    chain = sources().latest_chain(product, expiry)
    if chain is None:  # listed a moment ago, gone since (the cache entry expired)
        raise ApiError(404, f"nothing stored for {product} {expiry}")
    return dated_response(product, {"product": product, "expiry": expiry, **smile(chain)})
