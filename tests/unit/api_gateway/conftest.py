"""The gateway in-process against a stub service served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from flask import Flask, jsonify, request
from marshmallow import Schema, fields, validate

from api_gateway import create_app
from auth_service.keys import SigningKeys
from common.api.routes import Priority, RouteSpec, Upstream
from common.latest import Entry
from common.settings import Settings, load_settings
from tests.support.http import Hold, served


class EchoQuery(Schema):
    n = fields.Integer(validate=validate.Range(1, 100))
    hold = fields.Boolean()
    v = fields.Integer(validate=validate.Range(0, 100))


class EchoBody(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 10))


class EchoResponse(Schema):
    path = fields.String()


def edge_key(args: Mapping[str, Any]) -> Entry | None:
    """The underlying entry of ``product``, or with ``v`` the chain entry of expiry ``v``,
    unless ``n`` is given (then the service answers). ``v=07`` names another entry
    before validation than after."""
    if "n" in args:
        return None
    return Entry(args["product"], str(args["v"]) if "v" in args else None)


ROUTES = (
    RouteSpec("echo_edge", "GET", "/data/edge/<product>", Upstream.STORAGE, "Echo or cached",
              {200: EchoResponse}, query=EchoQuery, edge_key=edge_key),
    RouteSpec("echo_live", "GET", "/data/echo/<product>", Upstream.STORAGE, "Echo",
              {200: EchoResponse}, query=EchoQuery),
    RouteSpec("echo_heavy", "GET", "/analytics/<product>/echo", Upstream.ANALYTICS, "Echo",
              {200: EchoResponse}, query=EchoQuery, priority=Priority.HEAVY),
    RouteSpec("echo_post", "POST", "/auth/echo", Upstream.AUTH, "Echo", {200: EchoResponse},
              body=EchoBody, auth=False),
)  # fmt: skip


def stub_service(keys: SigningKeys, hold: Hold) -> Flask:
    """Answers JWKS and echoes what the gateway forwarded (headers, path, body); a request
    with ``?hold=true`` first waits for ``hold`` to be released."""
    app = Flask("stub")

    @app.get("/auth/jwks.json")
    def jwks() -> object:
        return jsonify(keys.jwks())

    @app.get("/healthz")
    def healthz() -> object:
        return jsonify(status="ok")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def echo(path: str) -> object:
        if request.args.get("hold") == "true":
            hold.enter()
        return (
            jsonify(
                path=request.full_path.rstrip("?"),
                body=request.get_data(as_text=True),
                headers={k: v for k, v in request.headers.items()},
            ),
            200,
            {"X-Cache": "hit", "X-Secret-Internal": "no"},
        )

    return app


@pytest.fixture
def hold() -> Iterator[Hold]:
    """The stub's hold on ``?hold=true`` requests, released after the test at the latest."""
    held = Hold()
    yield held
    held.release.set()


@pytest.fixture
def stub_url(signing_keys: SigningKeys, hold: Hold) -> Iterator[str]:
    with served(stub_service(signing_keys, hold)) as url:
        yield url


@pytest.fixture
def gateway_settings(redis_url: str, stub_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REDIS_URL", redis_url)
    base = load_settings()
    http = dataclasses.replace(
        base.http, auth_url=stub_url, storage_url=stub_url, analytics_url=stub_url,
        logging_url=stub_url, alert_url=stub_url, paper_url=stub_url,
        rate_limit_user="1000/minute", rate_limit_ip="1000/minute", proxy_hops=0,
    )  # fmt: skip
    return dataclasses.replace(base, http=http)


@pytest.fixture
def gateway(gateway_settings: Settings) -> Flask:
    return create_app(gateway_settings, routes=ROUTES)
