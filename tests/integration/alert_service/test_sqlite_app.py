"""The app in-process on the real SQLite alert repository (``STORE_URL``) and a real Redis:
the limit holds when creations race, and a store that cannot open is 503, not 500."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from alert_service import create_app
from common.settings import Settings, load_settings
from store.alerts import open_alert_store

pytestmark = pytest.mark.redis

BODY = {"product": "ETH", "metric": "spot", "op": "above", "value": 5000}


def _settings(redis_url: str, store_url: str, per_user: int = 3) -> Settings:
    base = load_settings()
    alerts = dataclasses.replace(base.alerts, per_user=per_user)
    return dataclasses.replace(base, redis_url=redis_url, store_url=store_url, alerts=alerts)


def test_racing_creations_never_pass_the_limit(redis_url: str, tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    app = create_app(_settings(redis_url, store_url))
    # opened by this first request (the others would be 503 while it opens)
    assert app.test_client().get("/alerts", headers={"X-User-Id": "racer"}).status_code == 200
    statuses: list[int] = []
    start = threading.Barrier(8)

    def create() -> None:
        client = app.test_client()
        start.wait()
        resp = client.post("/alerts", json=BODY, headers={"X-User-Id": "racer"})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [201] * 3 + [409] * 5
    repository = open_alert_store(store_url)
    try:
        assert len(repository.alerts_of("racer")) == 3
        assert len(repository.active_alerts("ETH")) == 3  # what the workers will read
    finally:
        repository.close()


def test_a_store_that_cannot_open_is_503(redis_url: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    app = create_app(_settings(redis_url, f"sqlite:///{blocker / 'store.db'}"))
    client = app.test_client()  # started: the store is opened on first use
    assert client.get("/healthz").status_code == 200
    resp = client.post("/alerts", json=BODY, headers={"X-User-Id": "u1"})
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert resp.get_json()["error"]["code"] == "unavailable"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"redis": "ok", "store": "error: StoreUnavailable"}
