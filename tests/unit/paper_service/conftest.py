"""A paper_service app on the session's Redis with the in-memory strategy repository, the
clock fixed a second after the test chains' origin, and those chains as the workers cache
them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from common.settings import Settings, load_settings
from optionsmath import enrich_chain
from paper_service import create_app
from tests.support.chains import EXPIRY, TIMESTAMP, build_chain
from tests.support.latest import put_chain
from tests.unit.paper_service.fakes import MemoryStrategyStore

NOW = dt.datetime(2026, 11, 21, 4, 0, 1, tzinfo=dt.UTC)
"""A second after the chains' origin (2026-11-21T04:00:00.000Z): they are fresh."""
FAR = "2026-12-03"
"""A second expiry (a calendar's far leg)."""
PER_USER = 3


class Clock:
    """Instants the test moves on by hand."""

    def __init__(self, at: dt.datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def enriched(expiry: str = EXPIRY, **overrides: Any) -> dict[str, Any]:
    """The 21-strike NIFTY chain of ``tests.support.chains`` (spot 24,010, strikes 23,500 to
    24,500 by 50, bid = ask = the Black-Scholes price), enriched as the workers do."""
    raw = build_chain(expiry=expiry, **overrides)
    return enrich_chain(raw, processed_at=raw.get("timestamp", TIMESTAMP))


def cache(client: redis.Redis, chain: dict[str, Any]) -> bytes:
    """Keep ``chain`` in ``latest:*`` as the workers do; its bytes."""
    body = orjson.dumps(chain)
    put_chain(client, chain["product"], chain["expiry"], body)
    return body


@pytest.fixture
def settings(redis_url: str) -> Settings:
    base = load_settings()
    paper = dataclasses.replace(base.paper, strategies_per_user=PER_USER)
    return dataclasses.replace(base, redis_url=redis_url, paper=paper)


@pytest.fixture
def store() -> MemoryStrategyStore:
    return MemoryStrategyStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings: Settings, store: MemoryStrategyStore, clock: Clock) -> Flask:
    return create_app(settings, strategies=store, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def near(redis_client: redis.Redis) -> dict[str, Any]:
    """The NIFTY chain of 2026-11-26, cached."""
    chain = enriched()
    cache(redis_client, chain)
    return chain


def call(client: FlaskClient, method: str, path: str, user: str = "u1", body: Any = None) -> Any:
    """(status, JSON body or None) of one request as ``user``."""
    resp = client.open(path, method=method, json=body, headers={"X-User-Id": user})
    return resp.status_code, (resp.get_json() if resp.data else None)
