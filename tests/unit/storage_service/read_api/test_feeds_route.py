"""``GET /feeds`` of storage_service: venues' health as the publisher writes it, judged on the
app's clock, in the documented shape."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
from flask import Flask
from marshmallow import ValidationError

from common.api.feeds import ROUTES, FeedsResponse
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.healthpub import HealthPublisher
from tests.unit.storage_service.read_api.conftest import AppFactory
from tests.unit.storage_service.read_api.support import NOW

pytestmark = pytest.mark.redis


def _publish(redis_client: redis.Redis, at: dt.datetime) -> None:
    ticks = iter([10.0, 10.0, 11.5])  # started, the message, the snapshot: 5 in 1.5 s
    health = FeedHealth("deribit", clock=lambda: next(ticks), wall=lambda: at)
    health.on_message("BTC", 5)
    HealthPublisher(redis_client, [health]).publish_once()


def test_feeds_are_answered_in_the_documented_shape(
    make_app: AppFactory, redis_client: redis.Redis
) -> None:
    _publish(redis_client, NOW - dt.timedelta(seconds=1))
    resp = make_app().test_client().get("/feeds")
    assert resp.status_code == 200
    body = resp.get_json()
    FeedsResponse().load(body)  # the OpenAPI schema describes it exactly
    (feed,) = body["feeds"]
    assert (feed["venue"], feed["state"], feed["stale"], feed["snapshot_age_s"]) == (
        "deribit", "connecting", False, 1.0,
    )  # fmt: skip
    assert feed["products"] == [
        {"product": "BTC", "stale": False, "last_message_age_s": 2.5,
         "messages_per_s": pytest.approx(5 / 1.5), "messages": 5, "dead_letters": 0,
         "sources": None},  # a venue's product: only the reference price lists sources
    ]  # fmt: skip


def test_a_stale_snapshot_is_answered_down(make_app: AppFactory, redis_client: redis.Redis) -> None:
    _publish(redis_client, NOW - dt.timedelta(seconds=7))
    (feed,) = make_app().test_client().get("/feeds").get_json()["feeds"]
    assert (feed["state"], feed["reported_state"], feed["stale"]) == ("down", "connecting", True)


def test_no_feeds_and_unknown_parameters(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/feeds").get_json() == {"feeds": []}
    assert client.get("/feeds?x=1").status_code == 422


def test_the_route_is_live_data_behind_a_token() -> None:
    (spec,) = ROUTES
    assert (spec.path, spec.auth, spec.priority.value) == ("/feeds", True, "live")
    with pytest.raises(ValidationError):
        FeedsResponse().load({"feeds": [], "extra": 1})
