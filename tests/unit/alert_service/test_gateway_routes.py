"""The gateway's side of the alert routes, in-process: served under ``/api`` from the
route table, ``<alert_id>`` validated by its own path schema and documented in OpenAPI,
alerts among the upstreams and the readiness checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from api_gateway import READINESS_UPSTREAMS, create_app, public_routes
from api_gateway.proxy import PATH_SCHEMAS, _path_schema
from common.api.alerts import ROUTES, AlertIdPath
from common.api.routes import Upstream
from common.settings import load_settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = dataclasses.replace(load_settings(), redis_url="redis://127.0.0.1:9/0")
    return dict(create_app(settings).test_client().get("/api/openapi.json").get_json())


def test_the_alert_routes_are_public_and_alerts_is_checked_for_readiness() -> None:
    assert {r.name for r in ROUTES} <= {r.name for r in public_routes()}
    assert Upstream.ALERTS in READINESS_UPSTREAMS


def test_each_set_of_path_parameters_has_its_schema() -> None:
    assert _path_schema("/alerts/<alert_id>") is AlertIdPath
    assert _path_schema("/data/chain/<product>") is PATH_SCHEMAS[frozenset({"product"})]
    assert _path_schema("/alerts") is None
    with pytest.raises(ValueError, match=r"\['alert_id', 'product'\]"):
        _path_schema("/x/<product>/<alert_id>")


def test_the_document_describes_the_alert_routes(document: dict[str, Any]) -> None:
    paths = {
        path: {k: v for k, v in operations.items() if k != "parameters"}
        for path, operations in document["paths"].items()
    }
    assert set(paths["/api/alerts"]) == {"get", "post"}
    assert set(paths["/api/alerts/{alert_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/api/alerts/history"]) == {"get"}
    for method in ("get", "patch", "delete"):
        operation = paths["/api/alerts/{alert_id}"][method]
        (param,) = [p for p in operation["parameters"] if p["in"] == "path"]
        assert param["name"] == "alert_id"
        assert param["required"] is True
        assert param["schema"]["pattern"] == "^al_[A-Za-z0-9_-]{22}$"
        assert {"401", "404", "422", "503"} <= set(operation["responses"])
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["tags"] == ["alerts"]
    create = paths["/api/alerts"]["post"]
    assert create["operationId"] == "alerts_create"
    assert {"201", "400", "409", "422"} <= set(create["responses"])
    assert "204" in paths["/api/alerts/{alert_id}"]["delete"]["responses"]
    history = {p["name"] for p in paths["/api/alerts/history"]["get"]["parameters"]}
    assert history == {"limit", "cursor"}
