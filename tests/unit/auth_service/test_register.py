"""POST /auth/register: 201 with the public user, 409 for a taken name, 400/422 for bad input."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from auth_service import accounts
from auth_service.passwords import verify_password
from auth_service.state import AuthState
from tests.unit.auth_service.support import PASSWORD, conforms, register

pytestmark = pytest.mark.redis


def test_register_creates_a_user(client: FlaskClient, state: AuthState) -> None:
    resp = register(client, "Alice.W-1")
    assert resp.status_code == 201
    body = conforms("auth_register", resp)
    assert set(body) == {"id", "username", "role", "created_at"}
    assert (body["username"], body["role"]) == ("Alice.W-1", "user")
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["created_at"])
    stored = state.store.find_user("alice.w-1")
    assert stored is not None
    assert stored["id"] == body["id"]
    assert stored["password_hash"].startswith("$argon2id$")
    assert verify_password(stored["password_hash"], PASSWORD)
    assert not verify_password(stored["password_hash"], PASSWORD + "x")


def test_duplicate_username_in_any_case_is_409(client: FlaskClient) -> None:
    assert register(client, "alice").status_code == 201
    resp = register(client, "ALICE", "another password")
    assert resp.status_code == 409
    error = conforms("auth_register", resp)["error"]
    assert (error["code"], error["fields"]) == (
        "username_taken",
        {"username": ["Username is taken."]},
    )


def test_a_taken_name_is_refused_before_any_hashing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(client, "bob").status_code == 201
    hashed: list[str] = []
    monkeypatch.setattr(accounts, "hash_password", lambda pw: hashed.append(pw) or "x")
    assert register(client, "BOB").status_code == 409
    assert hashed == []


def test_role_cannot_be_chosen(client: FlaskClient) -> None:
    resp = client.post(
        "/auth/register", json={"username": "mallory", "password": PASSWORD, "role": "admin"}
    )
    assert resp.status_code == 422
    assert conforms("auth_register", resp)["error"]["fields"] == {"role": ["Unknown field."]}


@pytest.mark.parametrize(
    ("username", "password", "bad"),
    [
        ("ab", PASSWORD, "username"),
        ("a" * 33, PASSWORD, "username"),
        ("bad name", PASSWORD, "username"),
        ("alice\n", PASSWORD, "username"),
        ("élan", PASSWORD, "username"),
        ("alice", "seven77", "password"),
        ("alice", "p" * 129, "password"),
        (42, PASSWORD, "username"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(
    client: FlaskClient, username: object, password: str, bad: str
) -> None:
    resp = client.post("/auth/register", json={"username": username, "password": password})
    assert resp.status_code == 422
    error = conforms("auth_register", resp)["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [bad]


def test_boundary_lengths_are_accepted(client: FlaskClient) -> None:
    assert register(client, "abc", "p" * 8).status_code == 201
    assert register(client, "z" * 32, "p" * 128).status_code == 201


def test_missing_fields_are_named(client: FlaskClient) -> None:
    resp = client.post("/auth/register", json={})
    assert resp.status_code == 422
    fields = conforms("auth_register", resp)["error"]["fields"]
    assert fields == {
        "username": ["Missing data for required field."],
        "password": ["Missing data for required field."],
    }


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b'{"username": "alice",', "application/json", "request body must be a JSON object"),
        (b'["alice", "pw"]', "application/json", "request body must be a JSON object"),
        (b"null", "application/json", "request body must be a JSON object"),
        (b"", "application/json", "request body must be a JSON object"),
        (b"\xff\xfe", "application/json", "request body must be a JSON object"),
        (
            b"username=alice",
            "application/x-www-form-urlencoded",
            "Content-Type must be application/json",
        ),
    ],
)
def test_malformed_body_is_400(
    client: FlaskClient, data: bytes, content_type: str, message: str
) -> None:
    resp = client.post("/auth/register", data=data, content_type=content_type)
    assert resp.status_code == 400
    error = conforms("auth_register", resp)["error"]
    assert (error["code"], error["message"], error["fields"]) == ("bad_request", message, {})


def test_unknown_query_parameter_is_422(client: FlaskClient) -> None:
    resp = client.post("/auth/register?debug=1", json={"username": "alice", "password": PASSWORD})
    assert resp.status_code == 422
    assert conforms("auth_register", resp)["error"]["fields"] == {"debug": ["Unknown field."]}


def test_body_over_64_kib_is_413(client: FlaskClient) -> None:
    resp = client.post("/auth/register", json={"username": "alice", "password": "p" * 70_000})
    assert resp.status_code == 413
    assert conforms("auth_register", resp)["error"]["code"] == "payload_too_large"
