"""The app: configuration, readiness, and 503 (never 500) when Redis or the store fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from analytics_service import create_app
from analytics_service.sources import Sources
from common.api.analytics import ROUTES
from common.embedded_redis import free_port
from common.settings import SettingsError, load_settings
from store import StoreError, StoreUnavailable
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.unit.analytics_service.support import at, get_error, handmade

pytestmark = pytest.mark.redis

SERIES = f"/analytics/NIFTY/series?expiry={EXPIRY}"


def test_redis_url_is_required(tmp_path: Path) -> None:
    settings = dataclasses.replace(load_settings(), redis_url=None)
    with pytest.raises(SettingsError, match="REDIS_URL"):
        create_app(settings)


def test_every_route_of_the_table_is_served(app: Flask) -> None:
    rules = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    for spec in ROUTES:
        assert spec.method in (rules.get(spec.path) or set()), spec.path
    assert len([r for r in rules if r.startswith("/analytics/")]) == len(ROUTES) == 9


def test_ready_when_redis_and_store_answer(client: FlaskClient) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"redis": "ok", "store": "ok"}


def test_starts_with_the_store_down_and_answers_503(redis_url: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = dataclasses.replace(
        load_settings(), redis_url=redis_url, store_url=f"sqlite:///{blocker / 'store.db'}"
    )
    app = create_app(settings)  # the store is not opened yet
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    resp = client.get(SERIES)
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert resp.get_json()["error"]["code"] == "unavailable"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["store"].startswith("error: StoreUnavailable")
    assert ready.get_json()["checks"]["redis"] == "ok"


@pytest.mark.parametrize("error", [StoreUnavailable("mongodb: timed out"), StoreError("sqlite: x")])
def test_store_failure_mid_request_is_503(
    app: Flask, client: FlaskClient, store: SqliteStore, monkeypatch: pytest.MonkeyPatch,
    error: StoreError,
) -> None:  # fmt: skip
    store.insert_chains([handmade(at(0), 1, 0.2)])
    sources: Sources = app.extensions["analytics"]

    def fail(*_args: object, **_kw: object) -> None:
        raise error

    monkeypatch.setattr(sources.store, "chain_at", fail)
    resp = client.get(SERIES)
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert resp.get_json()["error"]["code"] == "unavailable"


def test_redis_down_is_503(store_path: Path) -> None:
    settings = dataclasses.replace(
        load_settings(),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        store_url=f"sqlite:///{store_path}",
    )
    client = create_app(settings).test_client()
    for url in (SERIES, "/analytics/NIFTY/candles", "/analytics/NIFTY/surface"):
        error = get_error(client, url, 503)
        assert error["code"] == "unavailable"
    assert client.get("/readyz").get_json()["checks"]["redis"].startswith("error:")
