"""The chain at a past instant through the gateway, on the real data routes: never answered from
``latest:*`` (the service reads the store), validated at the edge, documented in OpenAPI."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import pytest
import redis
from flask import Flask

from api_gateway import create_app
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.api.data import ROUTES
from common.settings import Settings
from tests.support.latest import put_chain

CACHED = b'{"product": "NIFTY", "expiry": "2099-12-31", "seq": 9, "note": "the newest"}'
AT = "2026-11-21T04:00:00Z"


@pytest.fixture
def data_gateway(gateway_settings: Settings) -> Flask:
    """The gateway with the real data routes; the stub echoes what reaches storage_service."""
    return create_app(gateway_settings, routes=ROUTES)


def _auth(keys: SigningKeys) -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenService(keys).issue_access('u1', Role.USER)}"}


def test_with_at_the_request_is_forwarded_even_when_latest_holds_the_expiry(
    data_gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    put_chain(redis_client, "NIFTY", "2099-12-31", CACHED)
    client = data_gateway.test_client()
    newest = client.get("/api/data/chain/NIFTY?expiry=2099-12-31", headers=_auth(signing_keys))
    assert newest.data == CACHED  # without at: the workers' bytes, from the edge

    query = urlencode({"expiry": "2099-12-31", "at": AT})
    resp = client.get(f"/api/data/chain/NIFTY?{query}", headers=_auth(signing_keys))
    assert resp.status_code == 200
    forwarded = urlsplit(orjson.loads(resp.data)["path"])  # the stub's echo: the service asked
    assert forwarded.path == "/data/chain/NIFTY"
    assert parse_qs(forwarded.query) == {"expiry": ["2099-12-31"], "at": [AT]}


@pytest.mark.parametrize("at", ["yesterday", "2026-11-31T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_an_unparseable_instant_is_422_at_the_gateway(
    data_gateway: Flask, signing_keys: SigningKeys, at: str
) -> None:
    query = urlencode({"expiry": "2099-12-31", "at": at})
    resp = data_gateway.test_client().get(
        f"/api/data/chain/NIFTY?{query}", headers=_auth(signing_keys)
    )
    assert resp.status_code == 422  # not the stub's 200 echo: never forwarded
    assert list(resp.get_json()["error"]["fields"]) == ["at"]


def test_the_openapi_document_describes_at(data_gateway: Flask) -> None:
    doc = orjson.loads(data_gateway.test_client().get("/api/openapi.json").data)
    op = doc["paths"]["/api/data/chain/{product}"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert sorted(params) == ["at", "expiry", "product"]
    at = params["at"]
    assert (at["in"], at["required"]) == ("query", False)
    assert at["schema"]["format"] == "date-time"
    assert "at or before this instant" in at["description"]
    assert "at or before" in op["summary"]
    assert {"200", "404", "422"} <= set(op["responses"])
