"""Through the gateway to the real services: auth flows, token checks, brute force,
latest data, validation and a trace id followed into every service's log."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import orjson

from common.latest import Entry
from common.redis_client import make_redis
from tests.integration.api_gateway.conftest import Stack
from tests.support.latest import put_chain


def _claims(token: str) -> dict[str, object]:
    return dict(json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")))


def test_register_login_refresh_reuse_logout(stack: Stack) -> None:
    status, user = stack.json(
        "POST", "/api/auth/register", body={"username": "Trader1", "password": "correct-horse-1"}
    )
    assert status == 201
    assert user["username"] == "Trader1"
    assert user["role"] == "user"
    dup, err = stack.json(
        "POST", "/api/auth/register", body={"username": "trader1", "password": "another-pass-2"}
    )
    assert dup == 409
    assert err["error"]["code"] == "username_taken"

    status, pair = stack.json(
        "POST", "/api/auth/login", body={"username": "TRADER1", "password": "correct-horse-1"}
    )
    assert status == 200
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 900
    access, refresh = pair["access_token"], pair["refresh_token"]
    assert stack.json("GET", "/api/products", token=access)[0] == 200

    status, rotated = stack.json("POST", "/api/auth/refresh", body={"refresh_token": refresh})
    assert status == 200
    assert rotated["refresh_token"] != refresh
    reused, err = stack.json("POST", "/api/auth/refresh", body={"refresh_token": refresh})
    assert reused == 401
    assert err["error"]["code"] == "token_reused"
    # the whole family is revoked: the newer refresh token dies with it
    assert (
        stack.json("POST", "/api/auth/refresh", body={"refresh_token": rotated["refresh_token"]})[0]
        == 401
    )

    pair = stack.login("trader2")
    access = pair["access_token"]
    status, _, _ = stack.request(
        "POST", "/api/auth/logout", body={"refresh_token": pair["refresh_token"]}, token=access
    )
    assert status == 204
    status, err = stack.json("GET", "/api/products", token=access)
    assert status == 401
    assert err["error"]["code"] == "token_revoked"
    after, _ = stack.json(
        "POST", "/api/auth/refresh", body={"refresh_token": pair["refresh_token"]}
    )
    assert after == 401


def test_tokens_the_gateway_refuses(stack: Stack) -> None:
    access = stack.login("trader3")["access_token"]
    head, payload, sig = access.split(".")
    forged_claims = {**_claims(access), "role": "admin"}
    forged = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for token in (f"{head}.{forged}.{sig}", f"{none_head}.{payload}.", access[:-4] + "AAAA"):
        status, err = stack.json("GET", "/api/products", token=token)
        assert status == 401
        assert err["error"]["code"] == "invalid_token"
    assert stack.json("GET", "/api/products")[0] == 401


def test_brute_force_gets_429_not_a_slower_401(stack: Stack) -> None:
    stack.login("victim")
    codes = []
    for _ in range(6):
        status, _, _ = stack.request(
            "POST", "/api/auth/login", body={"username": "victim", "password": "wrong-guess-0"}
        )
        codes.append(status)
    assert codes[:4] == [401] * 4  # the registration's login used one of the five
    assert codes[-1] == 429
    status, headers, body = stack.request(
        "POST", "/api/auth/login", body={"username": "victim", "password": "correct-horse-1"}
    )
    assert status == 429  # even the right password, until the window passes
    assert int(headers["Retry-After"]) >= 1
    assert json.loads(body)["error"]["code"] == "rate_limited"


def _access_lines(stack: Stack, wanted: dict[str, str], trace_id: str) -> dict[str, list[Any]]:
    """Each service's access lines for its path in ``wanted`` with ``trace_id`` (up to 5 s)."""
    deadline = time.monotonic() + 5
    found: dict[str, list[Any]] = {}
    while time.monotonic() < deadline:
        for name, path in wanted.items():
            lines = [json.loads(x) for x in stack.procs.log(name).splitlines() if x.startswith("{")]
            found[name] = [
                x for x in lines if x.get("path") == path and x.get("trace_id") == trace_id
            ]
        if all(found.values()):
            break
        time.sleep(0.1)
    return found


def test_trace_id_in_every_log(stack: Stack) -> None:
    access = stack.login("trader4")["access_token"]
    status, headers, _ = stack.request(
        "GET", "/api/products", token=access, headers={"X-Trace-ID": "trace-followed-1"}
    )
    assert status == 200
    assert headers["X-Trace-ID"] == "trace-followed-1"
    # each service logged one access line for this request, with the trace id it was given
    wanted = {"api_gateway": "/api/products", "storage_service": "/products"}
    for name, lines in _access_lines(stack, wanted, "trace-followed-1").items():
        assert [(x["service"], x["status"]) for x in lines] == [(name, 200)], name


def test_latest_chain_from_the_edge_and_a_miss_forwarded(stack: Stack) -> None:
    access = stack.login("trader6")["access_token"]
    payload = orjson.dumps({"product": "NIFTY", "expiry": "2099-12-31", "seq": 7, "calls": []})
    client = make_redis(stack.redis_url)
    put_chain(client, "NIFTY", "2099-12-31", payload)
    path = "/api/data/chain/NIFTY?expiry=2099-12-31"
    status, headers, body = stack.request(
        "GET", path, token=access, headers={"X-Trace-ID": "trace-hit-1"}
    )
    assert status == 200
    assert body == payload  # the workers' exact bytes
    assert headers["X-Cache"] == "hit"
    assert int(headers["X-RateLimit-Remaining"]) < int(headers["X-RateLimit-Limit"])

    client.delete(Entry("NIFTY", "2099-12-31").key)  # gone, as if evicted
    client.close()
    status, headers, body = stack.request(
        "GET", path, token=access, headers={"X-Trace-ID": "trace-miss-1"}
    )
    assert status == 404  # storage_service answered: nothing cached, nothing stored
    assert json.loads(body)["error"]["code"] == "not_found"
    storage = {"storage_service": "/data/chain/NIFTY"}
    assert [
        x["status"] for x in _access_lines(stack, storage, "trace-miss-1")["storage_service"]
    ] == [404]
    # the hit never reached storage_service (its log is written in order: the miss is there)
    assert "trace-hit-1" not in stack.procs.log("storage_service")


def test_bad_input_is_422_naming_the_field_never_500(stack: Stack) -> None:
    access = stack.login("trader5")["access_token"]
    cases = {
        "/api/data/chain/nifty": "product",
        "/api/data/chain/NIFTY?expiry=2026-13-01": "expiry",
        "/api/data/chain/NIFTY/history?expiry=2026-12-01&limit=0": "limit",
        "/api/data/chain/NIFTY?bogus=1": "bogus",
    }
    for path, field in cases.items():
        status, err = stack.json("GET", path, token=access)
        assert status == 422, path
        assert field in err["error"]["fields"], (path, err)
    status, err = stack.json("POST", "/api/auth/register", body={"username": "x"})
    assert status == 422
    assert set(err["error"]["fields"]) >= {"username", "password"}


def test_health_and_readiness_of_the_gateway(stack: Stack) -> None:
    assert stack.json("GET", "/healthz")[0] == 200
    status, ready = stack.json("GET", "/readyz")
    assert status == 200
    assert ready["checks"] == {
        "redis": "ok", "auth": "ok", "storage": "ok", "analytics": "ok", "alerts": "ok",
        "paper": "ok",
    }  # fmt: skip
