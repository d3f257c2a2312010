"""common.api.data: the route table, cursors, and the OpenAPI the gateway derives from it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import ValidationError

from common.api.data import (
    HISTORY_MAX_LIMIT,
    ROUTES,
    ChainQuery,
    ChainResponse,
    HistoryQuery,
    HistoryResponse,
    ProductSchema,
    ProductsResponse,
    decode_cursor,
    encode_cursor,
    latest_chain_edge_key,
)
from common.api.errors import ErrorSchema
from common.api.routes import Priority
from common.latest import Entry
from store.port import MAX_HISTORY_LIMIT


def _openapi(schema: type[Any]) -> dict[str, Any]:
    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema(schema.__name__, schema=schema)
    found: dict[str, Any] = spec.to_dict()["components"]["schemas"][schema.__name__]
    return found


def test_the_limit_bound_is_the_store_ports() -> None:
    assert HISTORY_MAX_LIMIT == MAX_HISTORY_LIMIT


def test_routes_answer_errors_in_the_shared_shape_and_history_is_heavy() -> None:
    by_path = {route.path: route for route in ROUTES}
    assert sorted(by_path) == [
        "/data/chain/<product>", "/data/chain/<product>/history",
        "/data/underlying/<product>", "/products",
    ]  # fmt: skip
    assert len({route.name for route in ROUTES}) == len(ROUTES)
    for route in ROUTES:
        assert route.auth
        assert route.responses[200] is not None
        assert {s for s, schema in route.responses.items() if schema is ErrorSchema} >= {422, 503}
    assert 404 not in by_path["/products"].responses
    heavy = [route.path for route in ROUTES if route.priority is Priority.HEAVY]
    assert heavy == ["/data/chain/<product>/history"]


@pytest.mark.parametrize(
    ("timestamp", "seq"), [("2026-11-21T04:00:00.000Z", 0), ("2026-11-21T04:00:00.123Z", 2**53 - 1)]
)
def test_cursors_round_trip_and_are_url_safe(timestamp: str, seq: int) -> None:
    cursor = encode_cursor(timestamp, seq)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor) == (timestamp, seq)


@pytest.mark.parametrize("cursor", ["", "%%%", encode_cursor("2026-11-21", 1), "MjAyNnwx"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match=r"cursor|timestamp"):
        decode_cursor(cursor)


def test_response_schemas_document_the_exact_bodies() -> None:
    history = _openapi(HistoryResponse)
    assert history["additionalProperties"] is False
    assert history["properties"]["next_cursor"]["nullable"] is True
    assert set(history["required"]) == {"product", "expiry", "start", "end", "items", "next_cursor"}
    chain = _openapi(ChainResponse)
    assert chain["additionalProperties"] is False
    assert chain["properties"]["stale"] == {
        "type": "boolean", "description": chain["properties"]["stale"]["description"],
    }  # fmt: skip
    assert "stale" not in chain["required"]
    assert "stale" in _openapi(ProductsResponse)["properties"]
    product = _openapi(ProductSchema)
    assert product["additionalProperties"] is False
    assert set(product["required"]) == {"product", "expiries", "venue", "currency"}
    assert product["properties"]["currency"]["example"] == "USD"


def test_history_query_documents_its_parameters() -> None:
    query = _openapi(HistoryQuery)["properties"]
    assert sorted(query) == ["cursor", "end", "expiry", "fields", "limit", "start"]
    assert query["start"]["format"] == "date-time"
    assert (query["limit"]["minimum"], query["limit"]["maximum"]) == (1, MAX_HISTORY_LIMIT)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "0001-01-01T00:00:00+01:00"}, "start"),
        ({"end": "9999-12-31T23:59:59-01:00"}, "end"),
        ({"end": "9999-12-31T23:59:59.9995Z"}, "end"),
        ({"start": "0001-01-01T00:00:00Z", "end": "0001-01-01T01:00:00Z"}, "start"),
    ],
)
def test_history_query_refuses_instants_out_of_range_naming_the_field(
    query: dict[str, str], field: str
) -> None:
    # The gateway validates with this schema: a 422 there too, never an OverflowError (500).
    with pytest.raises(ValidationError) as info:
        HistoryQuery().load({"expiry": "2026-11-26", **query})
    assert field in info.value.messages
    assert "1970" in str(info.value.messages[field])


def test_a_chain_at_an_instant_is_never_an_edge_key() -> None:
    at = ChainQuery().load({"expiry": "2026-11-26", "at": "2026-11-21T09:41:00+05:30"})
    assert at == {"expiry": "2026-11-26", "at": dt.datetime(2026, 11, 21, 4, 11, tzinfo=dt.UTC)}
    assert latest_chain_edge_key({"product": "NIFTY", **at}) is None
    newest = ChainQuery().load({"expiry": "2026-11-26"})
    assert newest == {"expiry": "2026-11-26", "at": None}
    assert latest_chain_edge_key({"product": "NIFTY", **newest}) == Entry("NIFTY", "2026-11-26")
    assert latest_chain_edge_key({"product": "NIFTY", "at": None}) is None  # nearest expiry
