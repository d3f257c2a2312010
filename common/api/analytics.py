"""analytics_service's routes: query schemas, response schemas and the route table.

Every route is ``GET /analytics/<product>/…`` (``product`` matches the feed's
product pattern). Instants in queries are ISO-8601 (a naive one means UTC);
instants in answers are wire timestamps (``2026-11-21T09:41:00.123Z``).
Volatilities are annualised decimals (0.14 = 14 %); a value that cannot be
computed is ``null``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api.errors import ErrorSchema
from common.api.messages import Quantity, validate_expiry
from common.api.routes import Priority, RouteSpec, Upstream

INTERVALS = ("1m", "5m", "15m", "1h")
"""Series bucket and candle widths."""
SERIES_METRICS = (
    "pcr_oi", "pcr_volume", "max_pain", "atm_straddle", "atm_iv", "net_gex", "call_wall",
    "put_wall", "gex_flip",
)  # fmt: skip
"""Metrics of ``series``, in the order answers list them."""
MAX_SPAN = dt.timedelta(days=31)
"""Longest ``start``–``end`` range."""
MAX_IV_RANK_SAMPLES = 1000
"""Largest ``lookback_days × samples_per_day`` of ``iv-rank``: each sample is a store read,
and the request must answer within the gateway's ``UPSTREAM_TIMEOUT_S`` (5 s by default)."""

_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
_WIRE_EXAMPLE = "2026-11-21T09:41:00.000Z"


# -- query fields --------------------------------------------------------------------------


def _instant(description: str, data_key: str | None = None) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        default_timezone=dt.UTC,
        data_key=data_key,
        validate=validate.Range(min=_EARLIEST, max=_LATEST, max_inclusive=False),
        metadata={"description": description, "example": _WIRE_EXAMPLE},
    )


def _expiry() -> fields.String:
    return fields.String(
        required=True,
        validate=validate_expiry,
        metadata={"description": "Expiry date, YYYY-MM-DD.", "example": "2026-11-26"},
    )


def _interval(default: str) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.OneOf(INTERVALS),
        metadata={"description": f"Bucket width: one of {', '.join(INTERVALS)}."},
    )


def _validate_metrics(value: str) -> None:
    unknown = sorted({name.strip() for name in value.split(",")} - set(SERIES_METRICS))
    if unknown:
        raise ValidationError(f"unknown metrics {unknown}; choose from {', '.join(SERIES_METRICS)}")


def _check_order(
    data: dict[str, Any], first: str, second: str, names: tuple[str, str], max_span: bool
) -> None:
    start, end = data.get(first), data.get(second)
    if start is None or end is None:
        return
    if start >= end:
        raise ValidationError(f"{names[1]} must be after {names[0]}", names[1])
    if max_span and end - start > MAX_SPAN:
        raise ValidationError(
            f"{names[0]} must be at most {MAX_SPAN.days} days before {names[1]}", names[0]
        )


# -- query schemas -------------------------------------------------------------------------


class NoQuerySchema(Schema):
    """A route without query parameters: any parameter is refused."""


class RangeQuerySchema(Schema):
    """``start``/``end``: default the last hour (``end`` now), ``start < end``, at most 31 days."""

    start = _instant("Range start (inclusive); default: an hour before end.")
    end = _instant("Range end (exclusive); default: now.")

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        _check_order(data, "start", "end", ("start", "end"), max_span=True)


class SeriesQuerySchema(RangeQuerySchema):
    expiry = _expiry()
    interval = _interval("1m")
    metrics = fields.String(
        validate=_validate_metrics,
        metadata={
            "description": f"Comma-separated subset of {', '.join(SERIES_METRICS)}; default all.",
            "example": "pcr_oi,max_pain",
        },
    )


class OiChangeQuerySchema(Schema):
    expiry = _expiry()
    from_ = _instant("The newest snapshot at or before this is compared; default to − 1 h.", "from")
    to = _instant("…with the newest snapshot at or before this; default now.")

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        _check_order(data, "from_", "to", ("from", "to"), max_span=False)


class SmileQuerySchema(Schema):
    expiry = _expiry()


class IvRankQuerySchema(Schema):
    lookback_days = fields.Integer(
        load_default=30,
        validate=validate.Range(1, 365),
        metadata={
            "description": "Days of history sampled;"
            f" lookback_days × samples_per_day ≤ {MAX_IV_RANK_SAMPLES}."
        },
    )
    samples_per_day = fields.Integer(
        load_default=24,
        validate=validate.Range(1, 96),
        metadata={
            "description": "Samples per day (24: hourly); period j of a UTC day starts"
            " round(j × 24 h / samples_per_day) after midnight."
        },
    )

    @validates_schema
    def _samples(self, data: dict[str, Any], **_: Any) -> None:
        days, per_day = data.get("lookback_days"), data.get("samples_per_day")
        if days is not None and per_day is not None and days * per_day > MAX_IV_RANK_SAMPLES:
            raise ValidationError(
                f"lookback_days × samples_per_day must be at most {MAX_IV_RANK_SAMPLES}"
                f" (at most {MAX_IV_RANK_SAMPLES // days} per day over {days} days)",
                "samples_per_day",
            )


class RealizedQuerySchema(RangeQuerySchema):
    interval = _interval("1h")
    window = fields.Integer(
        load_default=20,
        validate=validate.Range(2, 500),
        metadata={"description": "Returns per realised-volatility estimate."},
    )


class CandlesQuerySchema(RangeQuerySchema):
    interval = _interval("1m")


# -- response schemas ----------------------------------------------------------------------


def _wire(**kw: Any) -> fields.String:
    return fields.String(required=True, metadata={"example": _WIRE_EXAMPLE}, **kw)


def _num(description: str | None = None) -> fields.Float:
    return fields.Float(
        required=True, allow_none=True, metadata={"description": description} if description else {}
    )


def _oi() -> Quantity:
    """Open interest or its change: an integer, or a fraction where a venue counts in coins."""
    return Quantity(required=True, allow_none=True)


class SeriesPointSchema(Schema):
    """One bucket: ``t`` its start; only the metrics asked for are present."""

    t = _wire()
    pcr_oi = fields.Float(allow_none=True)
    pcr_volume = fields.Float(allow_none=True)
    max_pain = fields.Float(allow_none=True, metadata={"description": "Max pain strike."})
    atm_straddle = fields.Float(allow_none=True, metadata={"description": "ATM call + put price."})
    atm_iv = fields.Float(allow_none=True)
    net_gex = fields.Float(
        allow_none=True, metadata={"description": "Net gamma exposure, currency per 1 % move."}
    )
    call_wall = fields.Float(allow_none=True, metadata={"description": "Call wall strike."})
    put_wall = fields.Float(allow_none=True, metadata={"description": "Put wall strike."})
    gex_flip = fields.Float(allow_none=True, metadata={"description": "Zero-gamma level."})


class SeriesSchema(Schema):
    product = fields.String(required=True)
    expiry = fields.String(required=True)
    interval = fields.String(required=True)
    metrics = fields.List(fields.String(), required=True)
    start = _wire()
    end = _wire()
    points = fields.List(fields.Nested(SeriesPointSchema), required=True)


class OiStrikeSchema(Schema):
    strike = fields.Float(required=True)
    call_oi_from = _oi()
    call_oi_to = _oi()
    call_oi_change = _oi()
    put_oi_from = _oi()
    put_oi_to = _oi()
    put_oi_change = _oi()


class OiChangeSchema(Schema):
    product = fields.String(required=True)
    expiry = fields.String(required=True)
    from_timestamp = _wire(allow_none=True)
    to_timestamp = _wire(allow_none=True)
    strikes = fields.List(fields.Nested(OiStrikeSchema), required=True)
    total_call_oi_change = _oi()
    total_put_oi_change = _oi()


class SmilePointSchema(Schema):
    strike = fields.Float(required=True)
    moneyness = _num("ln(K / F), F the chain's forward (spot for a chain stored without one).")
    call_iv = _num()
    put_iv = _num()
    otm_iv = _num("The put's IV below the forward, the call's at or above.")


_AGE_STALE_DOC = (
    "Present (true) only when the newest chain the answer is built from is older than the "
    "product's stale_after_s (header X-Data-Age-Stale: true); see data_age_s."
)


class DataAgeMembers(Schema):
    """What an answer built from the newest chains carries when its data is too old."""

    data_age_stale = fields.Boolean(metadata={"description": _AGE_STALE_DOC})
    data_age_s = fields.Float(
        validate=validate.Range(min=0.0),
        metadata={"description": "Seconds from the newest chain's origin timestamp; with "
                  "data_age_stale only (the header X-Data-Age is on every answer)."},
    )  # fmt: skip


class SmileSchema(DataAgeMembers):
    product = fields.String(required=True)
    expiry = fields.String(required=True)
    timestamp = _wire()
    spot = _num()
    forward = _num("The chain's forward; null for a chain stored without one.")
    atm_strike = _num("The listed strike nearest the forward.")
    points = fields.List(fields.Nested(SmilePointSchema), required=True)


class SurfaceSchema(DataAgeMembers):
    product = fields.String(required=True)
    timestamp = _wire(allow_none=True)
    spot = _num()
    expiries = fields.List(fields.String(), required=True)
    strikes = fields.List(fields.Float(), required=True)
    iv = fields.List(
        fields.List(fields.Float(allow_none=True)),
        required=True,
        metadata={"description": "Out-of-the-money IV, one row per expiry, one column per strike."},
    )


class TermPointSchema(Schema):
    expiry = fields.String(required=True)
    days = fields.Float(required=True, metadata={"description": "Calendar days to expiry."})
    atm_strike = _num()
    atm_iv = _num()


class TermStructureSchema(DataAgeMembers):
    product = fields.String(required=True)
    timestamp = _wire(allow_none=True)
    points = fields.List(fields.Nested(TermPointSchema), required=True)


class GexQuerySchema(Schema):
    expiry = fields.String(
        validate=validate_expiry,
        metadata={"description": "Only this expiry (YYYY-MM-DD); default every live expiry."},
    )


class GexStrikeSchema(Schema):
    strike = fields.Float(required=True)
    call_gex = fields.Float(required=True, metadata={"description": "≥ 0, currency per 1 %."})
    put_gex = fields.Float(required=True, metadata={"description": "≤ 0, currency per 1 %."})
    net_gex = fields.Float(required=True)


class GexSchema(DataAgeMembers):
    product = fields.String(required=True)
    timestamp = _wire(allow_none=True)
    spot = _num("The newest chain's spot: every option is revalued there.")
    expiries = fields.List(fields.String(), required=True)
    strikes = fields.List(fields.Nested(GexStrikeSchema), required=True)
    call_gex = fields.Float(required=True)
    put_gex = fields.Float(required=True)
    net_gex = fields.Float(required=True, metadata={"description": "Currency per 1 % move."})
    call_wall = _num("The strike of the largest call GEX, summed over the expiries.")
    put_wall = _num("The strike of the most negative put GEX, summed over the expiries.")
    gex_flip = _num("Spot at which net GEX changes sign, nearest spot within ±20 %.")


class IvRankSchema(Schema):
    product = fields.String(required=True)
    lookback_days = fields.Integer(required=True, strict=True)
    samples_per_day = fields.Integer(required=True, strict=True)
    expiry = fields.String(required=True, allow_none=True)
    timestamp = _wire(allow_none=True)
    observations = fields.Integer(required=True, strict=True)
    current_iv = _num()
    min_iv = _num()
    max_iv = _num()
    iv_rank = _num("0–100.")
    iv_percentile = _num("0–100.")


class RealizedPointSchema(Schema):
    t = _wire()
    realized_vol = _num()
    implied_vol = _num()
    spread = _num("implied_vol − realized_vol.")


class RealizedSchema(Schema):
    product = fields.String(required=True)
    interval = fields.String(required=True)
    window = fields.Integer(required=True, strict=True)
    start = _wire()
    end = _wire()
    points = fields.List(fields.Nested(RealizedPointSchema), required=True)


class CandleBarSchema(Schema):
    t = _wire()
    open = fields.Float(required=True)
    high = fields.Float(required=True)
    low = fields.Float(required=True)
    close = fields.Float(required=True)
    volume = fields.Float(required=True)


class CandlesSchema(Schema):
    product = fields.String(required=True)
    interval = fields.String(required=True)
    start = _wire()
    end = _wire()
    candles = fields.List(fields.Nested(CandleBarSchema), required=True)
    open_candle = fields.Nested(CandleBarSchema, required=True, allow_none=True)


# -- routes --------------------------------------------------------------------------------


def _route(
    name: str, suffix: str, summary: str, query: type[Schema], body: type[Schema]
) -> RouteSpec:
    return RouteSpec(
        name=f"analytics_{name}",
        method="GET",
        path=f"/analytics/<product>/{suffix}",
        upstream=Upstream.ANALYTICS,
        summary=summary,
        responses={200: body, 404: ErrorSchema, 422: ErrorSchema, 503: ErrorSchema},
        query=query,
        auth=True,
        priority=Priority.HEAVY,
        tags=("analytics",),
    )


ROUTES: tuple[RouteSpec, ...] = (
    _route("series", "series", "Chain statistics resampled over time.",
           SeriesQuerySchema, SeriesSchema),
    _route("oi_change", "oi-change", "Open interest change by strike between two instants.",
           OiChangeQuerySchema, OiChangeSchema),
    _route("smile", "smile", "IV smile of the newest chain of an expiry.",
           SmileQuerySchema, SmileSchema),
    _route("surface", "surface", "IV surface: out-of-the-money IV by expiry and strike.",
           NoQuerySchema, SurfaceSchema),
    _route("term_structure", "term-structure", "ATM IV by expiry from the newest chains.",
           NoQuerySchema, TermStructureSchema),
    _route("gex", "gex", "Dealer gamma exposure by strike, its walls and flip, across expiries.",
           GexQuerySchema, GexSchema),
    _route("iv_rank", "iv-rank", "IV rank and percentile of the nearest expiry's ATM IV.",
           IvRankQuerySchema, IvRankSchema),
    _route("realized_vs_implied", "realized-vs-implied",
           "Realised volatility of the underlying against ATM implied volatility.",
           RealizedQuerySchema, RealizedSchema),
    _route("candles", "candles", "Underlying OHLCV candles and the one still forming.",
           CandlesQuerySchema, CandlesSchema),
)  # fmt: skip
"""The analytics routes, as the gateway serves them under ``/api``."""
