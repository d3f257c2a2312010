"""Answers built from the newest chains (smile, surface, term structure) carry the data's age
and are marked when the newest chain is older than the product's ``stale_after_s``."""

from __future__ import annotations

import datetime as dt

import orjson
import redis
from flask.testing import FlaskClient

from common.api.analytics import SmileSchema, SurfaceSchema, TermStructureSchema
from tests.support.latest import put_chain
from tests.unit.analytics_service.support import EXPIRY, NOW, enriched

BTC_EXPIRY = "2026-11-27"


def _put(redis_client: redis.Redis, product: str, expiry: str, age_s: float) -> None:
    moment = NOW - dt.timedelta(seconds=age_s)
    chain = enriched(moment, 1, expiry=expiry, product=product)
    put_chain(redis_client, product, expiry, orjson.dumps(chain))


def test_a_smile_of_a_fresh_chain_is_dated_not_marked(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    _put(redis_client, "NIFTY", EXPIRY, 3.0)
    resp = client.get(f"/analytics/NIFTY/smile?expiry={EXPIRY}")
    assert resp.status_code == 200
    assert (resp.headers["X-Data-Age"], resp.headers["X-Data-Age-Limit"]) == ("3.000", "5")
    assert "X-Data-Age-Stale" not in resp.headers
    body = resp.get_json()
    assert not {"data_age_stale", "data_age_s"} & body.keys()
    assert SmileSchema().validate(body) == {}


def test_answers_from_an_old_chain_are_marked(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    _put(redis_client, "NIFTY", EXPIRY, 120.0)
    for path, schema in (
        (f"/analytics/NIFTY/smile?expiry={EXPIRY}", SmileSchema),
        ("/analytics/NIFTY/surface", SurfaceSchema),
        ("/analytics/NIFTY/term-structure", TermStructureSchema),
    ):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["X-Data-Age-Stale"] == "true", path
        assert resp.headers["X-Data-Age"] == "120.000", path
        body = resp.get_json()
        assert (body["data_age_stale"], body["data_age_s"]) == (True, 120.0), path
        assert list(body)[:2] == ["data_age_stale", "data_age_s"]
        assert schema().validate(body) == {}, path


def test_the_limit_is_the_products(client: FlaskClient, redis_client: redis.Redis) -> None:
    _put(redis_client, "BTC", BTC_EXPIRY, 7.0)  # within Deribit's 10 s
    _put(redis_client, "NIFTY", EXPIRY, 7.0)  # past NIFTY's 5 s
    btc = client.get(f"/analytics/BTC/smile?expiry={BTC_EXPIRY}")
    nifty = client.get(f"/analytics/NIFTY/smile?expiry={EXPIRY}")
    assert (btc.status_code, nifty.status_code) == (200, 200)
    assert (btc.headers["X-Data-Age-Limit"], btc.headers.get("X-Data-Age-Stale")) == ("10", None)
    assert "data_age_stale" not in btc.get_json()
    assert (nifty.headers["X-Data-Age-Limit"], nifty.headers["X-Data-Age-Stale"]) == ("5", "true")
