"""The query schemas the gateway and the service validate with, and the route table."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from analytics_service.calc.resample import Interval
from common.api.analytics import (
    INTERVALS,
    ROUTES,
    CandlesQuerySchema,
    IvRankQuerySchema,
    NoQuerySchema,
    OiChangeQuerySchema,
    SeriesQuerySchema,
)
from common.api.errors import ErrorSchema
from common.api.routes import Priority, Upstream


def errors(schema: type[Schema], query: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as err:
        schema().load(query)
    messages: dict[str, Any] = err.value.messages  # type: ignore[assignment]
    return messages


def test_intervals_match_the_calculations() -> None:
    assert tuple(i.value for i in Interval) == INTERVALS


def test_route_table() -> None:
    assert [r.name for r in ROUTES] == [
        "analytics_series", "analytics_oi_change", "analytics_smile", "analytics_surface",
        "analytics_term_structure", "analytics_gex", "analytics_iv_rank",
        "analytics_realized_vs_implied", "analytics_candles",
    ]  # fmt: skip
    for route in ROUTES:
        assert route.path.startswith("/analytics/<product>/")
        assert (route.method, route.upstream, route.auth, route.priority) == (
            "GET", Upstream.ANALYTICS, True, Priority.HEAVY,
        )  # fmt: skip
        assert set(route.responses) == {200, 404, 422, 503}
        assert all(route.responses[s] is ErrorSchema for s in (404, 422, 503))
        assert route.query is not None
        assert route.body is None


def test_defaults_and_instants() -> None:
    loaded = SeriesQuerySchema().load({"expiry": "2026-11-26", "start": "2026-11-21T09:30+05:30"})
    assert loaded["interval"] == "1m"
    assert loaded["start"].isoformat() == "2026-11-21T09:30:00+05:30"
    assert "metrics" not in loaded
    naive = CandlesQuerySchema().load({"start": "2026-11-21T04:00:00"})
    assert naive["start"].utcoffset().total_seconds() == 0  # naive means UTC
    assert IvRankQuerySchema().load({}) == {"lookback_days": 30, "samples_per_day": 24}
    assert NoQuerySchema().load({}) == {}


@pytest.mark.parametrize(
    ("schema", "query", "field"),
    [
        (SeriesQuerySchema, {}, "expiry"),
        (SeriesQuerySchema, {"expiry": "2026-11-26", "metrics": "pcr_oi,foo"}, "metrics"),
        (SeriesQuerySchema, {"expiry": "2026-11-26", "interval": "1d"}, "interval"),
        (CandlesQuerySchema, {"start": "2026-11-21T05:00Z", "end": "2026-11-21T05:00Z"}, "end"),
        (CandlesQuerySchema, {"start": "2026-10-21T04:59Z", "end": "2026-11-21T05:00Z"}, "start"),
        (CandlesQuerySchema, {"end": "9999-12-31T23:59Z"}, "end"),
        (
            OiChangeQuerySchema,
            {"expiry": "2026-11-26", "from": "2026-11-21T05:00Z", "to": "2026-11-21T04:00Z"},
            "to",
        ),
        (IvRankQuerySchema, {"lookback_days": 100, "samples_per_day": 31}, "samples_per_day"),
        (NoQuerySchema, {"expiry": "2026-11-26"}, "expiry"),
    ],
)
def test_invalid_queries_name_the_field(
    schema: type[Schema], query: dict[str, Any], field: str
) -> None:
    assert field in errors(schema, query)


def test_oi_change_range_may_span_months() -> None:
    got = OiChangeQuerySchema().load(
        {"expiry": "2026-11-26", "from": "2026-01-01T00:00Z", "to": "2026-11-21T00:00Z"}
    )
    assert got["from_"].month == 1
    assert IvRankQuerySchema().load({"lookback_days": 100, "samples_per_day": 10})
