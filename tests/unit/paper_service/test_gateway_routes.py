"""The gateway's side of the strategy routes, in-process: served under ``/api`` from the
route table, ``<strategy_id>`` validated by its own path schema, bodies named as the
service names them, documented in OpenAPI; paper among the upstreams and readiness."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from api_gateway import READINESS_UPSTREAMS, create_app, public_routes
from api_gateway.proxy import _path_schema
from common.api.routes import Priority, Upstream
from common.api.strategies import ROUTES, StrategyIdPath
from common.settings import load_settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = dataclasses.replace(load_settings(), redis_url="redis://127.0.0.1:9/0")
    return dict(create_app(settings).test_client().get("/api/openapi.json").get_json())


def test_the_strategy_routes_are_public_and_paper_is_checked_for_readiness() -> None:
    assert {r.name for r in ROUTES} <= {r.name for r in public_routes()}
    assert Upstream.PAPER in READINESS_UPSTREAMS
    assert {r.upstream for r in ROUTES} == {Upstream.PAPER}
    heavy = {r.name for r in ROUTES if r.priority is Priority.HEAVY}
    assert heavy == {"strategies_evaluate"}  # shed under load, like analytics
    assert all(r.auth and r.roles is None for r in ROUTES)


def test_the_strategy_id_has_its_path_schema() -> None:
    assert _path_schema("/strategies/<strategy_id>") is StrategyIdPath


def test_the_document_describes_the_strategy_routes(document: dict[str, Any]) -> None:
    paths = {
        path: {k: v for k, v in operations.items() if k != "parameters"}
        for path, operations in document["paths"].items()
    }
    assert set(paths["/api/strategies"]) == {"get", "post"}
    assert set(paths["/api/strategies/{strategy_id}"]) == {"get", "put", "delete"}
    assert set(paths["/api/strategies/evaluate"]) == {"post"}
    assert set(paths["/api/strategies/templates/{product}"]) == {"get"}
    for method in ("get", "put", "delete"):
        operation = paths["/api/strategies/{strategy_id}"][method]
        (param,) = [p for p in operation["parameters"] if p["in"] == "path"]
        assert (param["name"], param["schema"]["pattern"]) == (
            "strategy_id", "^st_[A-Za-z0-9_-]{22}$",
        )  # fmt: skip
        assert {"401", "404", "422", "503"} <= set(operation["responses"])
        assert operation["security"] == [{"bearerAuth": []}]
        assert operation["tags"] == ["strategies"]
    evaluate = paths["/api/strategies/evaluate"]["post"]
    assert evaluate["operationId"] == "strategies_evaluate"
    assert {"200", "400", "404", "422", "503"} <= set(evaluate["responses"])
    answer = evaluate["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    evaluation = schemas[answer.rsplit("/", 1)[1]]
    assert {"pop", "pop_lognormal", "breakevens", "max_loss", "greeks", "payoff", "density",
            "stale", "legs", "model"} <= set(evaluation["properties"])  # fmt: skip
    create = paths["/api/strategies"]["post"]
    assert {"201", "400", "409", "422"} <= set(create["responses"])
    templates = paths["/api/strategies/templates/{product}"]["get"]
    template = {p["name"] for p in templates["parameters"]}
    assert template == {"product", "name", "expiry", "far_expiry", "quantity", "width",
                        "option_type", "reverse"}  # fmt: skip
