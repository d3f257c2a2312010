"""The app: configuration, the route table served, readiness, and the repository opened on
first use (one attempt at a time, a pause after a failure)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient

from common.api.strategies import ROUTES
from common.settings import Settings, SettingsError
from paper_service import create_app
from paper_service.context import EXTENSION, PaperContext
from store.strategies.port import StrategyStore
from tests.unit.paper_service.fakes import MemoryStrategyStore

pytestmark = pytest.mark.redis


def test_the_fake_honours_the_port() -> None:
    assert isinstance(MemoryStrategyStore(), StrategyStore)


def test_redis_url_is_required(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        create_app(dataclasses.replace(settings, redis_url=None))


def test_every_route_of_the_table_is_served(app: Flask) -> None:
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.rule, set()).update(rule.methods or ())
    for spec in ROUTES:
        assert spec.method in rules.get(spec.path, set()), (spec.method, spec.path)
    assert sorted(r for r in rules if r.startswith("/strategies")) == [
        "/strategies", "/strategies/<strategy_id>", "/strategies/evaluate",
        "/strategies/templates/<product>",
    ]  # fmt: skip


def test_the_context_holds_the_settings(app: Flask, settings: Settings) -> None:
    context: PaperContext = app.extensions[EXTENSION]
    assert context.strategies_per_user == 3
    assert {"NIFTY", "BANKNIFTY", "BTC", "ETH"} <= context.products
    assert context.registry.get("NIFTY").contract_size == 75.0


def test_now_is_the_clocks_instant_to_the_millisecond(app: Flask) -> None:
    context: PaperContext = app.extensions[EXTENSION]
    fixed = dataclasses.replace(
        context, clock=lambda: dt.datetime(2026, 11, 21, 9, 41, 0, 123_999, tzinfo=dt.UTC)
    )
    assert fixed.now() == dt.datetime(2026, 11, 21, 9, 41, 0, 123_000, tzinfo=dt.UTC)


def test_ready_when_redis_and_the_store_answer(client: FlaskClient) -> None:
    resp = client.get("/readyz")
    assert (resp.status_code, resp.get_json()["checks"]) == (200, {"redis": "ok", "store": "ok"})
