"""``GET /api/feeds`` through the gateway: a token is required, the answer comes from
storage_service (served in process over real HTTP) and the OpenAPI document describes it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from flask import Flask

from api_gateway import create_app
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.settings import Settings
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.healthpub import HealthPublisher
from storage_service import create_app as create_storage_app
from store.sqlite import SqliteStore
from tests.support.http import served

pytestmark = pytest.mark.redis

NOW = dt.datetime(2026, 12, 5, 10, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def feeds_gateway(gateway_settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The gateway with the public routes; storage_service answers on a fixed clock."""
    store = SqliteStore(tmp_path / "store.db")
    storage = create_storage_app(gateway_settings, store=store, clock=lambda: NOW)
    with served(storage) as storage_url:
        http = dataclasses.replace(gateway_settings.http, storage_url=storage_url)
        yield create_app(dataclasses.replace(gateway_settings, http=http))


def test_feeds_need_a_token_and_answer_each_venue(
    feeds_gateway: Flask, redis_client: redis.Redis, signing_keys: SigningKeys
) -> None:
    health = FeedHealth("synthetic", session="simulated", wall=lambda: NOW)
    health.set_state(FeedState.LIVE)
    HealthPublisher(redis_client, [health]).publish_once()
    client = feeds_gateway.test_client()

    assert client.get("/api/feeds").status_code == 401
    token = TokenService(signing_keys).issue_access("u1", Role.USER)
    resp = client.get("/api/feeds", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    (feed,) = resp.get_json()["feeds"]
    assert (feed["venue"], feed["state"], feed["session"], feed["stale"]) == (
        "synthetic", "live", "simulated", False,
    )  # fmt: skip


def test_the_openapi_document_describes_the_answer(feeds_gateway: Flask) -> None:
    doc = orjson.loads(feeds_gateway.test_client().get("/api/openapi.json").data)
    op = doc["paths"]["/api/feeds"]["get"]
    assert op["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "422", "429", "503"} <= set(op["responses"])
    schemas = doc["components"]["schemas"]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/FeedsAnswer"}
    status = schemas["FeedStatus"]
    assert status["additionalProperties"] is False
    assert status["properties"]["state"]["enum"] == ["connecting", "live", "degraded", "down"]
    assert status["properties"]["stale"]["type"] == "boolean"
    assert status["properties"]["last_message_age_s"]["nullable"] is True
