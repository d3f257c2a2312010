"""The app: configuration, the route table served, the caller's identity, readiness, and
503 (never 500) when the store or Redis fail."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from alert_service import create_app
from alert_service.context import EXTENSION, AlertContext
from common.api.alerts import ROUTES
from common.embedded_redis import free_port
from common.settings import Settings, SettingsError
from store.alerts.port import AlertStore
from tests.unit.alert_service.conftest import Clock, call
from tests.unit.alert_service.fakes import MemoryAlertStore

pytestmark = pytest.mark.redis

BODY = {"product": "BTC", "metric": "spot", "op": "above", "value": 100_000}


def test_the_fake_honours_the_port() -> None:
    assert isinstance(MemoryAlertStore(), AlertStore)


def test_redis_url_is_required(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        create_app(dataclasses.replace(settings, redis_url=None))


def test_every_route_of_the_table_is_served(app: Flask) -> None:
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.rule, set()).update(rule.methods or ())
    for spec in ROUTES:
        assert spec.method in rules.get(spec.path, set()), (spec.method, spec.path)
    assert len([r for r in rules if r.startswith("/alerts")]) == 3


def test_a_call_without_the_callers_identity_is_401(
    client: FlaskClient, store: MemoryAlertStore
) -> None:
    store.down = True  # the identity is looked at first
    for headers in ({}, {"X-User-Id": ""}, {"X-User-Id": "u" * 129}):
        for path in ("/alerts", "/alerts/history", "/alerts/al_" + "a" * 22):
            resp = client.get(path, headers=headers)
            assert resp.status_code == 401, (headers, path)
            assert resp.get_json()["error"]["code"] == "unauthorized"


def test_ready_when_redis_and_the_store_answer(client: FlaskClient) -> None:
    resp = client.get("/readyz")
    assert (resp.status_code, resp.get_json()["checks"]) == (200, {"redis": "ok", "store": "ok"})


def test_a_store_down_is_503_with_retry_after(client: FlaskClient, store: MemoryAlertStore) -> None:
    store.down = True
    for method, path, body in (("GET", "/alerts", None), ("POST", "/alerts", BODY),
                               ("GET", "/alerts/history", None)):  # fmt: skip
        resp = client.open(path, method=method, json=body, headers={"X-User-Id": "u1"})
        assert resp.status_code == 503, path
        assert resp.headers["Retry-After"] == "2"
        assert resp.get_json()["error"] == {
            "code": "unavailable", "message": "alert store unavailable, retry later",
            "fields": {}, "trace_id": resp.headers["X-Trace-ID"],
        }  # fmt: skip
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()["checks"]["store"]) == (
        503, "error: StoreUnavailable",
    )  # fmt: skip


def test_redis_down_before_a_write_is_503_and_nothing_is_written(
    settings: Settings, store: MemoryAlertStore, clock: Clock
) -> None:
    nowhere = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(nowhere, store=store, clock=clock).test_client()
    status, err = call(client, "POST", "/alerts", body=BODY)
    assert (status, err["error"]["code"]) == (503, "unavailable")
    assert store.writes == 0
    assert call(client, "GET", "/alerts") == (200, {"alerts": []})  # reads need no Redis


class _FailsAfter:
    """A Redis whose ``set`` works ``ok`` times, then fails."""

    def __init__(self, client: redis.Redis, ok: int) -> None:
        self.client, self.ok = client, ok

    def set(self, *args: Any) -> Any:
        if self.ok <= 0:
            raise redis.ConnectionError("gone")
        self.ok -= 1
        return self.client.set(*args)


def test_redis_lost_after_the_write_keeps_the_write_and_logs(
    app: Flask, client: FlaskClient, store: MemoryAlertStore, redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    context: AlertContext = app.extensions[EXTENSION]
    app.extensions[EXTENSION] = dataclasses.replace(context, redis=_FailsAfter(redis_client, 1))
    with caplog.at_level(logging.ERROR, logger="alert_service.context"):
        status, alert = call(client, "POST", "/alerts", body=BODY)
    assert status == 201
    assert store.alerts[alert["id"]] == alert
    (record,) = [r for r in caplog.records if r.message == "alert version not set after a change"]
    assert (record.product, record.alert_id) == ("BTC", alert["id"])  # type: ignore[attr-defined]
