"""socket_gateway in-process (Flask-SocketIO's test client, threading mode) on a real Redis,
with auth_service's JWKS served by a stub over real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, jsonify

import socket_gateway
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.settings import Settings, load_settings
from socket_gateway.gateway import SocketGateway
from tests.support.http import served


@pytest.fixture
def jwks_url(signing_keys: SigningKeys) -> Iterator[str]:
    app = Flask("jwks")
    app.get("/auth/jwks.json")(lambda: jsonify(signing_keys.jwks()))
    with served(app) as url:
        yield url


@pytest.fixture
def socket_settings(redis_url: str, jwks_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REDIS_URL", redis_url)
    base = load_settings()
    return dataclasses.replace(
        base,
        http=dataclasses.replace(base.http, auth_url=jwks_url),
        # a stall of the test machine must not switch the emit mode mid-test
        socket=dataclasses.replace(
            base.socket, max_connections_per_ip=3, max_subscriptions=2, degrade_lag_ms=60_000.0
        ),
    )


@pytest.fixture
def app(socket_settings: Settings) -> Iterator[Flask]:
    app = socket_gateway.create_app(socket_settings, async_mode="threading", message_queue=False)
    yield app
    gateway(app).stop()


def gateway(app: Flask) -> SocketGateway:
    found: SocketGateway = app.extensions[socket_gateway.EXTENSION]
    return found


@pytest.fixture
def token(signing_keys: SigningKeys) -> Callable[..., str]:
    def issue(sub: str = "u1", **kw: Any) -> str:
        return TokenService(signing_keys, **kw).issue_access(sub, Role.USER)

    return issue
