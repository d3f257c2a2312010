"""An alert_service app on the session's Redis with the in-memory repository, clock fixed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from alert_service import create_app
from common.settings import Settings, load_settings
from tests.unit.alert_service.fakes import MemoryAlertStore

NOW = dt.datetime(2026, 12, 6, 9, 41, 0, 123_000, tzinfo=dt.UTC)
PER_USER = 3


class Clock:
    """Instants the test moves on by hand."""

    def __init__(self, at: dt.datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def settings(redis_url: str) -> Settings:
    base = load_settings()
    return dataclasses.replace(
        base,
        redis_url=redis_url,
        alerts=dataclasses.replace(base.alerts, per_user=PER_USER, webhook_allow_private=False),
    )


@pytest.fixture
def store() -> MemoryAlertStore:
    return MemoryAlertStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings: Settings, store: MemoryAlertStore, clock: Clock) -> Flask:
    return create_app(settings, store=store, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def as_user(user: str) -> dict[str, str]:
    return {"X-User-Id": user}


def call(client: FlaskClient, method: str, path: str, user: str = "u1", body: Any = None) -> Any:
    """(status, JSON body or None) of one request as ``user``."""
    resp = client.open(path, method=method, json=body, headers=as_user(user))
    return resp.status_code, (resp.get_json() if resp.data else None)
