"""Helpers for auth_service tests: users, logins and checking answers against ROUTES."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from auth_service import create_app
from auth_service.state import auth_state
from common.api.auth import ROUTES

PASSWORD = "correct horse battery"
ROUTE = {spec.name: spec for spec in ROUTES}


def conforms(route: str, resp: TestResponse) -> Any:
    """The JSON body of ``resp`` after checking ``route`` documents its status with a schema
    that loads the body exactly (no unknown or missing fields)."""
    responses = ROUTE[route].responses
    assert resp.status_code in responses, f"{route} does not list {resp.status_code}"
    schema = responses[resp.status_code]
    if schema is None:
        assert resp.get_data() == b""
        return None
    body = resp.get_json()
    schema().load(body)  # raises on an unknown, missing or mistyped field
    return body


def register(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    return client.post("/auth/register", json={"username": username, "password": password})


def login(client: FlaskClient, username: str, password: str = PASSWORD, **kw: Any) -> TestResponse:
    return client.post("/auth/login", json={"username": username, "password": password}, **kw)


def tokens_for(client: FlaskClient, username: str) -> dict[str, Any]:
    """Register ``username`` and log in: the token pair."""
    assert register(client, username).status_code == 201
    resp = login(client, username)
    assert resp.status_code == 200, resp.get_json()
    return conforms("auth_login", resp)  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def running_app() -> Iterator[Flask]:
    """An app from the current environment, its store and Redis closed afterwards."""
    app = create_app()
    try:
        yield app
    finally:
        auth_state(app).keeper.stop()
        auth_state(app).lazy_store.close()
        auth_state(app).redis.close()
