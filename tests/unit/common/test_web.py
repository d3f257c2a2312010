"""The base Flask app every service shares: trace ids, error shape, health, metrics."""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import Schema, fields, validate

from common.settings import Settings, load_settings
from common.web import ApiError, create_base_app, json_response
from common.web.errors import flatten_messages
from common.web.openapi import Blueprint, make_api


class _Args(Schema):
    n = fields.Integer(required=True, validate=validate.Range(1, 10))


def _failing() -> None:
    raise ConnectionError("refused")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("PROXY_HOPS", raising=False)
    return load_settings()


@pytest.fixture
def app(settings: Settings) -> Flask:
    app = create_base_app("demo", settings, {"ok": lambda: None})
    bp = Blueprint("demo", __name__)

    @bp.route("/echo")
    @bp.arguments(_Args, location="query")
    def echo(args: dict[str, int]) -> object:
        return json_response(args)

    @app.get("/teapot")
    def teapot() -> object:
        raise ApiError(418, "short and stout", code="teapot", fields={"spout": ["bent"]})

    @app.get("/boom")
    def boom() -> object:
        raise RuntimeError("secret detail")

    make_api(app, "demo").register_blueprint(bp)
    return app


def test_trace_id_is_echoed_when_valid_and_replaced_when_not(app: Flask) -> None:
    client = app.test_client()
    assert (
        client.get("/healthz", headers={"X-Trace-ID": "abc-123"}).headers["X-Trace-ID"] == "abc-123"
    )
    replaced = client.get("/healthz", headers={"X-Trace-ID": "bad id;"}).headers["X-Trace-ID"]
    assert replaced != "bad id;"
    assert len(replaced) == 32
    assert len(client.get("/healthz").headers["X-Trace-ID"]) == 32


def test_validation_error_names_the_field_and_unknown_params(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/echo?n=3").get_json() == {"n": 3}
    bad = client.get("/echo?n=99", headers={"X-Trace-ID": "t1"})
    assert bad.status_code == 422
    body = bad.get_json()["error"]
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == ["n"]
    assert body["trace_id"] == "t1"
    unknown = client.get("/echo?n=3&m=1").get_json()["error"]
    assert list(unknown["fields"]) == ["m"]


def test_errors_have_one_shape(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/nowhere").get_json()["error"]["code"] == "not_found"
    assert client.post("/healthz").get_json()["error"]["code"] == "method_not_allowed"
    teapot = client.get("/teapot")
    assert teapot.status_code == 418
    assert teapot.get_json()["error"] | {"trace_id": None} == {
        "code": "teapot", "message": "short and stout", "fields": {"spout": ["bent"]},
        "trace_id": None,
    }  # fmt: skip
    boom = client.get("/boom")
    assert boom.status_code == 500
    assert "secret" not in boom.get_data(as_text=True)
    assert boom.get_json()["error"]["code"] == "internal_error"


def test_readyz_reports_each_check(settings: Settings) -> None:
    app = create_base_app("demo", settings, {"redis": lambda: None, "store": _failing})
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    checks = resp.get_json()["checks"]
    assert checks["redis"] == "ok"
    assert checks["store"].startswith("error: ConnectionError")


def test_metrics_count_requests_per_route(app: Flask) -> None:
    client = app.test_client()
    client.get("/echo?n=1")
    text = client.get("/metrics").get_data(as_text=True)
    series = 'optionsflow_http_request_duration_seconds_count{method="GET",route="/echo",'
    assert series in text.replace('service="demo",', "")


def test_flatten_messages_drops_locations_and_joins_nesting() -> None:
    assert flatten_messages({"query": {"a": ["x"]}, "json": {"b": {"c": ["y"]}}}) == {
        "a": ["x"], "b.c": ["y"],
    }  # fmt: skip
    assert flatten_messages(["whole"]) == {"_schema": ["whole"]}
