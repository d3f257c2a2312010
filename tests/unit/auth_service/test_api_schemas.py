"""common/api/auth.py: field validation, the response schemas and the ROUTES table."""

from __future__ import annotations

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, ValidationError

from common.api.auth import (
    ROUTES,
    LoginBody,
    LogoutBody,
    RefreshBody,
    RegisterBody,
    TokenPairSchema,
    UserPublic,
)
from common.api.errors import ErrorSchema
from common.api.routes import Priority, Upstream


@pytest.mark.parametrize("username", ["abc", "A.b-c_9", "z" * 32])
def test_valid_usernames(username: str) -> None:
    assert RegisterBody().load({"username": username, "password": "p" * 8})["username"] == username


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", "Length must be between 3 and 32."),
        ("z" * 33, "Length must be between 3 and 32."),
        ("alice\n", "Only letters, digits, '_', '.' and '-'."),
        ("al ice", "Only letters, digits, '_', '.' and '-'."),
        ("al/ice", "Only letters, digits, '_', '.' and '-'."),
        ("ålice", "Only letters, digits, '_', '.' and '-'."),
    ],
)
def test_invalid_usernames(username: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RegisterBody().load({"username": username, "password": "p" * 8})
    assert refused.value.messages == {"username": [message]}


def test_password_bounds() -> None:
    schema = RegisterBody()
    assert schema.load({"username": "alice", "password": "p" * 128})["password"] == "p" * 128
    for password in ("p" * 7, "p" * 129):
        with pytest.raises(ValidationError) as refused:
            schema.load({"username": "alice", "password": password})
        assert refused.value.messages == {"password": ["Length must be between 8 and 128."]}
    assert LoginBody().load({"username": "alice", "password": "p"})["password"] == "p"


def test_token_bodies() -> None:
    assert LogoutBody().load({}) == {}
    with pytest.raises(ValidationError) as refused:
        RefreshBody().load({"refresh_token": ""})
    assert refused.value.messages == {"refresh_token": ["Length must be between 1 and 4096."]}


def test_dump_schemas_match_what_the_service_builds() -> None:
    user = {"id": "1" * 32, "username": "alice", "password_hash": "$argon2id$...", "role": "user",
            "created_at": "2026-11-21T09:41:00.123Z"}  # fmt: skip
    dumped = UserPublic().dump(user)
    assert dumped == {k: v for k, v in user.items() if k != "password_hash"}
    pair = {"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expires_in": 900}
    assert TokenPairSchema().load(TokenPairSchema().dump(pair)) == pair


def test_routes_table() -> None:
    by_name = {spec.name: spec for spec in ROUTES}
    assert list(by_name) == [
        "auth_register",
        "auth_login",
        "auth_refresh",
        "auth_logout",
        "auth_jwks",
    ]
    assert {(s.method, s.path) for s in ROUTES} == {
        ("POST", "/auth/register"), ("POST", "/auth/login"), ("POST", "/auth/refresh"),
        ("POST", "/auth/logout"), ("GET", "/auth/jwks.json"),
    }  # fmt: skip
    assert all(s.upstream is Upstream.AUTH and s.priority is Priority.LIVE for s in ROUTES)
    assert [s.name for s in ROUTES if s.auth] == ["auth_logout"]
    assert [s.name for s in ROUTES if 429 in s.responses] == ["auth_register", "auth_login"]
    success = {s.name: {k: v for k, v in s.responses.items() if k < 400} for s in ROUTES}
    assert success == {
        "auth_register": {201: UserPublic},
        "auth_login": {200: TokenPairSchema},
        "auth_refresh": {200: TokenPairSchema},
        "auth_logout": {204: None},
        "auth_jwks": {200: by_name["auth_jwks"].responses[200]},
    }
    for spec in ROUTES:
        errors = {k: v for k, v in spec.responses.items() if k >= 400}
        assert set(errors.values()) == {ErrorSchema}
        assert 422 in errors  # unknown query parameters at least
        assert (400 in errors) == (spec.body is not None)
    assert by_name["auth_register"].body is RegisterBody
    assert 409 in by_name["auth_register"].responses
    assert 401 not in by_name["auth_register"].responses


def test_openapi_pattern_is_portable() -> None:
    spec = APISpec("t", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    schema: type[Schema] = RegisterBody
    spec.components.schema("Register", schema=schema)
    props = spec.to_dict()["components"]["schemas"]["Register"]["properties"]
    # ECMA-262 has no \\Z: the document carries ^…$ and Python checks the full match.
    assert props["username"] == {
        "type": "string",
        "minLength": 3,
        "maxLength": 32,
        "pattern": "^[A-Za-z0-9_.-]+$",
        "description": "Unique case-insensitively.",
        "example": "alice",
    }
