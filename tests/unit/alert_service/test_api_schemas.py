"""common/api/alerts.py: the bodies, the alert id, the history query and its cursor, the
route table; its choices and bounds are alerts.rules' own."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from marshmallow import ValidationError

from alerts.destinations import MAX_URL_LENGTH
from alerts.rules import DEFAULT_COOLDOWN_S, MAX_COOLDOWN_S, MAX_WINDOW_S, AlertRule, Metric, Op
from common.api import alerts as api
from common.api.alerts import (
    AlertCreateBody,
    AlertIdPath,
    AlertPatchBody,
    HistoryQuery,
    decode_cursor,
    encode_cursor,
)
from common.api.routes import Priority, Upstream
from store.alerts.port import MAX_TRIGGER_PAGE

BASE = {"product": "NIFTY", "metric": "atm_iv", "op": "above", "value": 0.25}


def _errors(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    return dict(caught.value.messages)


def test_the_choices_and_bounds_are_those_of_the_rules() -> None:
    assert tuple(m.value for m in Metric) == api.METRICS
    assert tuple(o.value for o in Op) == api.OPS
    assert (api.MAX_COOLDOWN_S, api.MAX_WINDOW_S) == (MAX_COOLDOWN_S, MAX_WINDOW_S)
    assert api.DEFAULT_COOLDOWN_S == DEFAULT_COOLDOWN_S
    assert api.WEBHOOK_URL_MAX == MAX_URL_LENGTH
    # The rule fields a body may carry are the struct's, but for those the service sets.
    create = set(AlertCreateBody().fields)
    assert create == set(AlertRule.__struct_fields__) - {"id", "owner", "active"}
    assert set(AlertPatchBody().fields) == set(AlertRule.__struct_fields__) - {
        "id", "owner", "product",
    }  # fmt: skip
    assert api.HISTORY_MAX_LIMIT < MAX_TRIGGER_PAGE  # one more is read


def test_a_create_body_loads_numbers_as_floats() -> None:
    loaded = AlertCreateBody().load({**BASE, "value": 1, "strike": 24000, "cooldown_s": 60})
    assert loaded == {**BASE, "value": 1.0, "strike": 24000.0, "cooldown_s": 60}
    assert isinstance(loaded["value"], float)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "gamma"}, "metric"),
        ({"op": "equals"}, "op"),
        ({"value": "0.25"}, "value"),  # a numeric string is not a number
        ({"value": True}, "value"),
        ({"value": None}, "value"),
        ({"product": "nifty"}, "product"),  # the product pattern: upper case
        ({"product": "N" * 33}, "product"),
        ({"expiry": "2026-13-01"}, "expiry"),
        ({"strike": 0}, "strike"),
        ({"option_type": "CE"}, "option_type"),
        ({"cooldown_s": -1}, "cooldown_s"),
        ({"cooldown_s": MAX_COOLDOWN_S + 1}, "cooldown_s"),
        ({"cooldown_s": 1.5}, "cooldown_s"),
        ({"window_s": 59}, "window_s"),
        ({"window_s": 86_401}, "window_s"),
        ({"note": "n" * 281}, "note"),
        ({"webhook_url": "h" * (MAX_URL_LENGTH + 1)}, "webhook_url"),
        ({"active": False}, "active"),  # not on create: an unknown field
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_create_body_names_the_field(change: dict[str, Any], field: str) -> None:
    assert set(_errors(AlertCreateBody(), {**BASE, **change})) == {field}


def test_each_required_field_is_named() -> None:
    assert set(_errors(AlertCreateBody(), {})) == {"product", "metric", "op", "value"}


def test_the_bounds_themselves_are_accepted() -> None:
    edge = {"note": "n" * 280, "window_s": 60, "cooldown_s": 0, "strike": 0.5}
    assert AlertCreateBody().load({**BASE, **edge})["note"] == "n" * 280
    assert AlertCreateBody().load({**BASE, "window_s": 86_400, "cooldown_s": 604_800})


def test_a_patch_body_takes_nulls_and_active_but_never_product() -> None:
    loaded = AlertPatchBody().load({"active": False, "strike": None, "expiry": None})
    assert loaded == {"active": False, "strike": None, "expiry": None}
    assert AlertPatchBody().load({}) == {}
    errors = _errors(AlertPatchBody(), {"product": "BANKNIFTY", "note": "x"})
    assert list(errors) == ["product"]
    assert "Cannot change" in errors["product"][0]
    assert set(_errors(AlertPatchBody(), {"active": 1})) == {"active"}
    assert set(_errors(AlertPatchBody(), {"active": "false"})) == {"active"}
    assert set(_errors(AlertPatchBody(), {"value": None})) == {"value"}  # not nullable


@pytest.mark.parametrize(
    ("alert_id", "ok"),
    [
        ("al_" + "A" * 22, True),
        ("al_abcdefghij-_KLMNOPQRST", True),
        ("al_" + "A" * 21, False),
        ("al_" + "A" * 23, False),
        ("xx_" + "A" * 22, False),
        ("al_" + "A" * 21 + "!", False),
        ("al_" + "A" * 22 + "\n", False),  # $ would match before a trailing newline
    ],
)
def test_the_alert_id_path(alert_id: str, ok: bool) -> None:
    if ok:
        assert AlertIdPath().load({"alert_id": alert_id}) == {"alert_id": alert_id}
    else:
        assert set(_errors(AlertIdPath(), {"alert_id": alert_id})) == {"alert_id"}


def test_the_cursor_is_base64url_of_the_last_trigger_unpadded() -> None:
    # "2026-12-06T09:41:00.140Z|t1" is 27 bytes: 36 characters, the 0 padding left out
    cursor = encode_cursor("2026-12-06T09:41:00.140Z", "t1")
    assert cursor == "MjAyNi0xMi0wNlQwOTo0MTowMC4xNDBafHQx"
    assert base64.urlsafe_b64decode(cursor) == b"2026-12-06T09:41:00.140Z|t1"
    assert decode_cursor(cursor) == ("2026-12-06T09:41:00.140Z", "t1")
    padded = encode_cursor("2026-12-06T09:41:00.140Z", "t12")  # 28 bytes: "==" stripped
    assert not padded.endswith("=")
    assert decode_cursor(padded) == ("2026-12-06T09:41:00.140Z", "t12")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        _b64(b"2026-12-06T09:41:00.140Z"),  # no trigger id
        _b64(b"2026-12-06T09:41:00.140Z|"),
        _b64(b"2026-12-06 09:41:00|t1"),  # not the wire format
        _b64(b"2026-12-06T09:41:00.140Z|a/b"),
        _b64(b"2026-12-06T09:41:00.140Z|" + b"a" * 65),
        _b64("2026-12-06T09:41:00.140Z|é".encode()),
        _b64(b"\xff\xfe|t1"),
        "A" * 257,
    ],
)
def test_a_bad_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="Not a cursor"):
        decode_cursor(cursor)
    assert set(_errors(HistoryQuery(), {"cursor": cursor})) == {"cursor"}


def test_the_history_query() -> None:
    assert HistoryQuery().load({}) == {"limit": 50, "cursor": None}
    assert HistoryQuery().load({"limit": "200"})["limit"] == 200
    for limit in ("0", "201", "x"):
        assert set(_errors(HistoryQuery(), {"limit": limit})) == {"limit"}
    assert set(_errors(HistoryQuery(), {"page": "2"})) == {"page"}


def test_the_route_table() -> None:
    table = {(r.method, r.path): r for r in api.ROUTES}
    assert set(table) == {
        ("POST", "/alerts"), ("GET", "/alerts"), ("GET", "/alerts/history"),
        ("GET", "/alerts/<alert_id>"), ("PATCH", "/alerts/<alert_id>"),
        ("DELETE", "/alerts/<alert_id>"),
    }  # fmt: skip
    for spec in api.ROUTES:
        assert spec.upstream is Upstream.ALERTS
        assert spec.priority is Priority.LIVE
        assert spec.auth
        assert spec.roles is None
        assert {401, 422, 429, 503} <= set(spec.responses)
    assert 409 in table["POST", "/alerts"].responses
    assert table["POST", "/alerts"].responses[201] is api.AlertSchema
    assert table["DELETE", "/alerts/<alert_id>"].responses[204] is None
    for method in ("GET", "PATCH", "DELETE"):
        assert 404 in table[method, "/alerts/<alert_id>"].responses
    assert table["PATCH", "/alerts/<alert_id>"].body is AlertPatchBody
