"""Routes across expiries and over time: surface, term structure, IV rank, realised vs implied."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response

from analytics_service.calc.atm import chain_atm_iv
from analytics_service.calc.expiries import live_expiries, nearest_expiry
from analytics_service.calc.gex import gex_across
from analytics_service.calc.rank import iv_rank
from analytics_service.calc.realized import realized_by_candle
from analytics_service.calc.resample import (
    Bucket,
    Interval,
    bucket_count,
    day_periods,
    floor_to,
    last_in_bucket,
)
from analytics_service.calc.surface import surface_from_cache, surface_from_chains, term_structure
from analytics_service.calc.times import DAY_MS, wire
from analytics_service.routes.blueprint import AnalyticsBlueprint
from analytics_service.routes.params import (
    check_points,
    check_product,
    conventions,
    dated_response,
    now_ms,
    require_expiries,
    require_expiry,
    require_product,
    sources,
    time_range,
)
from common.api.analytics import (
    GexQuerySchema,
    IvRankQuerySchema,
    NoQuerySchema,
    RealizedQuerySchema,
)
from common.web import json_response

log = logging.getLogger(__name__)

blp = AnalyticsBlueprint("analytics_volatility", __name__)

_ATM_FIELDS = ["atm_iv"]


def _newest_chains(product: str, expiries: list[str]) -> list[dict[str, Any]]:
    """The newest chain of each expiry not yet expired."""
    src = sources()
    live = live_expiries(expiries, now_ms(), conventions(product))
    chains = (src.latest_chain(product, expiry) for expiry in live)
    return [c for c in chains if c is not None]


@blp.get_with("/<product>/surface", NoQuerySchema)
def surface(_args: dict[str, Any], product: str) -> Response:
    """The worker's cached surface, else one built from the newest chain of each expiry."""
    check_product(product)
    cached = sources().cached_surface(product)
    if cached is not None:
        try:
            return dated_response(product, {"product": product, **surface_from_cache(cached)})
        except ValueError as exc:  # built from the chains below instead
            log.warning("cached surface unusable", extra={"product": product, "error": str(exc)})
    chains = _newest_chains(product, require_expiries(product))
    return dated_response(product, {"product": product, **surface_from_chains(chains)})


@blp.get_with("/<product>/term-structure", NoQuerySchema)
def term_structure_route(_args: dict[str, Any], product: str) -> Response:
    """ATM IV and days to expiry from the newest chain of each expiry not yet expired."""
    check_product(product)
    chains = _newest_chains(product, require_expiries(product))
    answer = {"product": product, **term_structure(chains, conventions(product))}
    return dated_response(product, answer)


@blp.get_with("/<product>/gex", GexQuerySchema)
def gex(args: dict[str, Any], product: str) -> Response:
    """Gamma exposure of the newest chain of each live expiry (or of ``expiry``), every
    option revalued at the newest chain's spot."""
    check_product(product)
    expiries = require_expiries(product)
    if (expiry := args.get("expiry")) is not None:
        require_expiry(product, expiry)
        expiries = [expiry]
    chains = _newest_chains(product, expiries)
    answer = {"product": product, **gex_across(chains, conventions(product))}
    return dated_response(product, answer)


def _atm_iv_in(product: str, expiries: list[str], bucket: Bucket) -> float | None:
    """ATM IV of the expiry nearest at the bucket's end, from the bucket's newest snapshot."""
    expiry = nearest_expiry(expiries, bucket.hi - 1, conventions(product))
    if expiry is None:
        return None
    src = sources()
    chain = last_in_bucket(bucket, lambda at: src.chain_at(product, expiry, at, _ATM_FIELDS))
    return None if chain is None else chain_atm_iv(chain)


@blp.get_with("/<product>/iv-rank", IvRankQuerySchema)
def iv_rank_route(args: dict[str, Any], product: str) -> Response:
    """Current ATM IV of the nearest expiry against samples of it over the lookback."""
    check_product(product)
    expiries = require_expiries(product)
    days, per_day = args["lookback_days"], args["samples_per_day"]
    now = now_ms()
    # one sample per period of the UTC day; the last period holds now
    samples = [
        iv
        for period in day_periods(now - days * DAY_MS + 1, now + 1, per_day)
        if (iv := _atm_iv_in(product, expiries, period)) is not None
    ]
    expiry = nearest_expiry(expiries, now, conventions(product))
    chain = sources().latest_chain(product, expiry) if expiry else None
    return json_response(
        {
            "product": product,
            "lookback_days": days,
            "samples_per_day": per_day,
            "expiry": expiry,
            "timestamp": chain["timestamp"] if chain else None,
            **iv_rank(samples, chain_atm_iv(chain) if chain else None),
        }
    )


@blp.get_with("/<product>/realized-vs-implied", RealizedQuerySchema)
def realized_vs_implied(args: dict[str, Any], product: str) -> Response:
    """Realised volatility of closed candles against ATM IV at each candle's close."""
    check_product(product)
    interval, window = Interval(args["interval"]), args["window"]
    start, end = time_range(args.get("start"), args.get("end"))
    check_points(bucket_count(start, end, interval.ms), interval)
    expiries = require_product(product)
    width = interval.ms
    first = floor_to(start, width) - window * width  # the closes the first estimate needs
    closed, _ = sources().candles(product, interval, first, end)
    closes = {t: c["close"] for t, c in closed}
    points = []
    for t, vol in realized_by_candle(closes, first, end, width, window):
        if t >= start:
            implied = _atm_iv_in(product, expiries, Bucket(t, t, t + width))
            spread = None if vol is None or implied is None else implied - vol
            points.append({"t": wire(t), "realized_vol": vol, "implied_vol": implied,
                           "spread": spread})  # fmt: skip
    return json_response(
        {
            "product": product,
            "interval": interval.value,
            "window": window,
            "start": wire(start),
            "end": wire(end),
            "points": points,
        }
    )
