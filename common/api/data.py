"""The data API of storage_service: products, the newest chain and underlying, chain history.

Query schemas validate at the gateway and in the service alike; response schemas
describe the exact bodies served (``additionalProperties: false``), including
the ``stale`` flag of an answer served from an expired cache entry and the
``data_age_stale``/``data_age_s`` members of an answer whose data is older than its
product's ``stale_after_s`` (``common.latest``: two different things).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common import latest
from common.api.errors import ErrorSchema
from common.api.messages import response_schema, validate_expiry
from common.api.routes import Priority, RouteSpec, Upstream
from common.messages import PRODUCT_PATTERN, EnrichedChain, EnrichedUnderlying
from common.timestamps import parse_ts

HISTORY_MAX_LIMIT = 5000
"""Rows per history page at most (the store port's ``MAX_HISTORY_LIMIT``)."""
HISTORY_DEFAULT_LIMIT = 500
HISTORY_MAX_SPAN = dt.timedelta(days=31)
HISTORY_DEFAULT_SPAN = dt.timedelta(hours=1)
INSTANT_MIN = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""Earliest instant a query may name (inclusive)."""
INSTANT_MAX = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
"""Instants a query names are before this one (as in ``common.api.analytics``)."""

CHAIN_FIELDS: frozenset[str] = frozenset(EnrichedChain.__struct_fields__)
"""Top-level fields of an enriched chain: what ``fields`` may name."""


_OUT_OF_RANGE = f"Out of range: give an instant from {INSTANT_MIN.year} to {INSTANT_MAX.year - 1}."


def _expiry(required: bool) -> fields.String:
    return fields.String(
        required=required,
        validate=validate_expiry,
        metadata={"description": "YYYY-MM-DD", "example": "2026-11-26"},
    )


class Instant(fields.AwareDateTime):
    """An ISO-8601 instant with an offset or ``Z`` (naive means UTC), loaded as aware UTC.

    Years 1970 to 8999 only: epoch milliseconds stay non-negative, and shifting to
    UTC or rounding up to the millisecond can never leave ``datetime``'s range.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            format="iso",
            default_timezone=dt.UTC,
            validate=validate.Range(min=INSTANT_MIN, max=INSTANT_MAX, max_inclusive=False),
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(dt.UTC)
        except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before datetime.min in UTC
            raise ValidationError(_OUT_OF_RANGE) from exc


class FieldNames(fields.String):
    """Comma-separated top-level chain fields, loaded as a sorted tuple without repeats."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        names = [name.strip() for name in text.split(",")]
        if not all(names):
            raise ValidationError("Empty field name: give names separated by single commas.")
        unknown = sorted(set(names) - CHAIN_FIELDS)
        if unknown:
            raise ValidationError(f"Unknown fields {unknown}; known: {sorted(CHAIN_FIELDS)}.")
        return tuple(sorted(set(names)))


def encode_cursor(timestamp: str, seq: int) -> str:
    """The opaque cursor after the row (``timestamp``, ``seq``): base64url, unpadded."""
    return base64.urlsafe_b64encode(f"{timestamp}|{seq}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    """(timestamp, seq) of a cursor from :func:`encode_cursor`; ``ValueError`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        timestamp, _, seq_text = raw.decode("ascii").partition("|")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("not a cursor from a previous page") from exc
    if not seq_text.isdigit() or len(seq_text) > 16:
        raise ValueError("not a cursor from a previous page")
    parse_ts(timestamp)  # raises ValueError naming the format
    return timestamp, int(seq_text)


class Cursor(fields.String):
    """The ``next_cursor`` of a previous page, loaded as (timestamp, seq)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return decode_cursor(text)
        except ValueError as exc:
            raise ValidationError("Not a cursor from a previous page.") from exc


def history_window(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The (start, end) a history query means: end defaults to ``now``, start to end − 1 h.

    ``ValidationError`` names the field at fault: ``end`` when not after start,
    ``start`` when more than 31 days before end.
    """
    try:
        end = now if end is None else end
        start = end - HISTORY_DEFAULT_SPAN if start is None else start
    except OverflowError as exc:
        raise ValidationError(_OUT_OF_RANGE, "end") from exc
    if start >= end:
        raise ValidationError(f"Must be after start ({start.isoformat()}).", "end")
    if end - start > HISTORY_MAX_SPAN:
        raise ValidationError(
            f"At most {HISTORY_MAX_SPAN.days} days before end ({end.isoformat()}).", "start"
        )
    return start, end


# -- query and path schemas ---------------------------------------------------------------


class ProductPath(Schema):
    """The ``<product>`` path parameter of the data routes."""

    product = fields.String(
        required=True,
        validate=validate.Regexp(PRODUCT_PATTERN),
        metadata={"example": "NIFTY"},
    )


class NoQuery(Schema):
    """Routes without query parameters: any parameter is rejected (422)."""


class ChainQuery(Schema):
    expiry = _expiry(required=False)
    at = Instant(
        load_default=None,
        metadata={
            "description": "Time travel: the newest chain stored at or before this instant "
            "(ISO-8601, naive means UTC; not in the future). Default: the newest chain.",
            "example": "2026-11-21T09:41:00Z",
        },
    )


class HistoryQuery(Schema):
    expiry = _expiry(required=True)
    start = Instant(
        load_default=None,
        metadata={"description": "Inclusive; ISO-8601, naive means UTC. Default: end − 1 h."},
    )
    end = Instant(
        load_default=None,
        metadata={"description": "Exclusive; ISO-8601, naive means UTC. Default: now."},
    )
    field_names = FieldNames(
        data_key="fields",
        load_default=None,
        metadata={
            "description": "Comma-separated top-level chain fields to keep "
            "(product, expiry, timestamp and seq always come). Default: all.",
            "example": "spot_price,pcr_oi,max_pain_strike",
        },
    )
    limit = fields.Integer(
        load_default=HISTORY_DEFAULT_LIMIT,
        validate=validate.Range(1, HISTORY_MAX_LIMIT),
        metadata={"description": "Rows per page."},
    )
    cursor = Cursor(
        load_default=None,
        metadata={"description": "The next_cursor of the previous page."},
    )

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") is not None and data.get("end") is not None:
            history_window(data["start"], data["end"], data["end"])


# -- response schemas ---------------------------------------------------------------------

_STALE_DOC = {
    "description": "Present (true) only when served from an expired cache entry "
    "because the store is unavailable (header X-Data-Stale: true)."
}
_AGE_STALE_DOC = {
    "description": "Present (true) only when the data is older than its product's "
    "stale_after_s, measured from its origin timestamp when answered (header "
    "X-Data-Age-Stale: true), whatever the cause; not the cache's stale."
}
_AGE_DOC = {
    "description": "Seconds from the data's origin timestamp to the answer; present "
    "with data_age_stale only (the header X-Data-Age is on every answer)."
}


def _age_fields() -> dict[str, fields.Field[Any]]:
    return {
        "data_age_stale": fields.Boolean(metadata=_AGE_STALE_DOC),
        "data_age_s": fields.Float(validate=validate.Range(min=0.0), metadata=_AGE_DOC),
    }


class ProductSchema(Schema):
    product = fields.String(required=True)
    expiries = fields.List(fields.String(), required=True, metadata={"description": "Sorted."})
    venue = fields.String(
        required=True,
        metadata={
            "description": "The venue the product's data comes from (its conventions, "
            "common/products.py).",
            "example": "deribit",
        },
    )
    currency = fields.String(
        required=True,
        metadata={
            "description": "Currency of the product's prices, strikes and spot (its "
            "conventions' quote currency).",
            "example": "USD",
        },
    )


class ProductsResponse(Schema):
    products = fields.List(fields.Nested(ProductSchema), required=True)
    stale = fields.Boolean(metadata=_STALE_DOC)


ChainResponse = response_schema(
    EnrichedChain,
    "ChainResponse",
    "The newest enriched chain: the exact bytes broadcast on ``enriched:option_chain``; with "
    "``at``, the stored chain of that instant (its age measured at ``at``).",
    stale=fields.Boolean(metadata=_STALE_DOC),
    **_age_fields(),
)
UnderlyingResponse = response_schema(
    EnrichedUnderlying,
    "UnderlyingResponse",
    "The newest enriched underlying tick (never a stale cached copy: it is not kept in the "
    "store; marked data_age_stale when older than its product's limit).",
    **_age_fields(),
)


class HistoryResponse(Schema):
    product = fields.String(required=True)
    expiry = fields.String(required=True)
    start = fields.String(required=True, metadata={"description": "Applied start (wire format)."})
    end = fields.String(required=True, metadata={"description": "Applied end (wire format)."})
    items = fields.List(
        fields.Dict(keys=fields.String()),
        required=True,
        metadata={"description": "Chain snapshots ascending by (timestamp, seq)."},
    )
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Cursor of the next page; null on the last page."},
    )
    stale = fields.Boolean(metadata=_STALE_DOC)


# -- routes -------------------------------------------------------------------------------

_ERRORS: dict[int, type[Schema] | None] = {
    401: ErrorSchema,  # the gateway: missing or invalid access token
    404: ErrorSchema,
    422: ErrorSchema,
    429: ErrorSchema,  # the gateway: rate limited
    503: ErrorSchema,
}


def _answers(ok: type[Schema], *, not_found: bool = True) -> dict[int, type[Schema] | None]:
    errors = {k: v for k, v in _ERRORS.items() if not_found or k != 404}
    return {200: ok, **errors}


def latest_chain_edge_key(args: Mapping[str, Any]) -> latest.Entry | None:
    """The chain entry of an explicit expiry; None (the service answers) for the nearest
    expiry, which needs the listing, and for a chain at a past instant (``at``), which
    ``latest:*`` does not hold."""
    expiry = args.get("expiry")
    if not expiry or args.get("at") is not None:
        return None
    return latest.chain(args["product"], expiry)


def latest_underlying_edge_key(args: Mapping[str, Any]) -> latest.Entry:
    return latest.underlying(args["product"])


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        name="data_products",
        method="GET",
        path="/products",
        upstream=Upstream.STORAGE,
        summary="Products with their expiries",
        responses=_answers(ProductsResponse, not_found=False),
        query=NoQuery,
        priority=Priority.LIVE,
        tags=("data",),
    ),
    RouteSpec(
        name="data_latest_chain",
        method="GET",
        path="/data/chain/<product>",
        upstream=Upstream.STORAGE,
        summary="The newest enriched chain, or with at the newest stored at or before that "
        "instant (nearest expiry on or after today, or at's date, when omitted)",
        responses=_answers(ChainResponse),
        query=ChainQuery,
        priority=Priority.LIVE,
        tags=("data",),
        edge_key=latest_chain_edge_key,
    ),
    RouteSpec(
        name="data_latest_underlying",
        method="GET",
        path="/data/underlying/<product>",
        upstream=Upstream.STORAGE,
        summary="The newest enriched underlying tick",
        responses=_answers(UnderlyingResponse),
        query=NoQuery,
        priority=Priority.LIVE,
        tags=("data",),
        edge_key=latest_underlying_edge_key,
    ),
    RouteSpec(
        name="data_chain_history",
        method="GET",
        path="/data/chain/<product>/history",
        upstream=Upstream.STORAGE,
        summary="Stored chain snapshots of one expiry over a time range, paginated",
        responses=_answers(HistoryResponse),
        query=HistoryQuery,
        priority=Priority.HEAVY,
        tags=("data",),
    ),
)
