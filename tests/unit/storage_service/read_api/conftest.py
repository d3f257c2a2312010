"""The read API in process: real Redis, a real SQLite store of enriched chains, a fixed clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from common.settings import Settings, load_settings
from storage_service import create_app
from store.sqlite import SqliteStore
from tests.support.snapshots import EXPIRY_2, enriched, small
from tests.unit.storage_service.read_api.faults import FaultyStore
from tests.unit.storage_service.read_api.support import N_SNAPSHOTS, NOW, PAST_EXPIRY, context


@pytest.fixture(scope="module")
def snapshots() -> list[dict[str, Any]]:
    return [enriched(seq, minutes=seq - 1) for seq in range(1, N_SNAPSHOTS + 1)]


@pytest.fixture
def sqlite_store(tmp_path: Path, snapshots: list[dict[str, Any]]) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "store.db")
    store.insert_chains(snapshots)
    store.insert_chains([small(1, expiry=PAST_EXPIRY), small(2, minutes=1, expiry=EXPIRY_2)])
    store.insert_chains([small(5, product="BANKNIFTY")])
    yield store
    store.close()


@pytest.fixture
def faulty(sqlite_store: SqliteStore) -> Iterator[FaultyStore]:
    faulty = FaultyStore(sqlite_store)
    yield faulty
    faulty.release.set()  # calls a test left hanging end now, not after their delay


@pytest.fixture
def settings(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("STORE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.delenv("PROXY_HOPS", raising=False)
    return load_settings()


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(settings: Settings, faulty: FaultyStore) -> Iterator[AppFactory]:
    """``make_app(clock=..., **http)``: the app on ``faulty`` with HTTP settings overridden."""
    apps: list[Flask] = []

    def make(clock: Callable[[], dt.datetime] = lambda: NOW, **http: Any) -> Flask:
        tuned = dataclasses.replace(settings, http=dataclasses.replace(settings.http, **http))
        app = create_app(tuned, store=faulty, clock=clock)
        apps.append(app)
        return app

    yield make
    for app in apps:
        context(app).close()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()
