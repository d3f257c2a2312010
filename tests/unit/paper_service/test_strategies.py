"""The saved strategies in-process (the in-memory repository, a fixed clock): create, list,
read, replace, delete, each caller's own; the per-user limit; faults named; a store down."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.unit.paper_service.conftest import PER_USER, Clock, call
from tests.unit.paper_service.fakes import MemoryStrategyStore

pytestmark = pytest.mark.redis

SHORT_PUT = {"product": "NIFTY", "expiry": "2026-11-26", "strike": 23_900, "option_type": "PUT",
             "side": "SELL", "quantity": 75}  # fmt: skip
HEDGE = {"product": "NIFTY", "side": "BUY", "quantity": 25, "price": 24_010.5}
BODY = {"name": "put and hedge", "legs": [SHORT_PUT, HEDGE], "note": "weekly"}
STORED_LEGS = [
    {**SHORT_PUT, "strike": 23_900.0, "quantity": 75.0, "price": None},
    {**HEDGE, "expiry": None, "strike": None, "option_type": None, "quantity": 25.0},
]


def _create(client: FlaskClient, user: str = "u1", **fields: Any) -> dict[str, Any]:
    status, strategy = call(client, "POST", "/strategies", user, {**BODY, **fields})
    assert status == 201, strategy
    return dict(strategy)


def test_create_answers_the_stored_strategy(
    client: FlaskClient, store: MemoryStrategyStore
) -> None:
    strategy = _create(client)
    assert re.fullmatch(r"st_[A-Za-z0-9_-]{22}", strategy["id"])
    assert strategy == {
        "id": strategy["id"], "owner": "u1", "name": "put and hedge", "legs": STORED_LEGS,
        "note": "weekly", "created_at": "2026-11-21T04:00:01.000Z",
        "updated_at": "2026-11-21T04:00:01.000Z",
    }  # fmt: skip
    assert store.strategies[strategy["id"]] == strategy


def test_list_get_replace_delete(client: FlaskClient, clock: Clock) -> None:
    first = _create(client)
    clock.advance(1)
    second = _create(client, name="second", note=None)
    assert call(client, "GET", "/strategies") == (200, {"strategies": [first, second]})
    assert call(client, "GET", f"/strategies/{second['id']}") == (200, second)
    clock.advance(1)
    status, replaced = call(client, "PUT", f"/strategies/{first['id']}",
                            body={"name": "hedge only", "legs": [HEDGE]})  # fmt: skip
    assert status == 200
    assert replaced == {**first, "name": "hedge only", "legs": STORED_LEGS[1:], "note": None,
                        "updated_at": "2026-11-21T04:00:03.000Z"}  # fmt: skip
    assert call(client, "GET", f"/strategies/{first['id']}") == (200, replaced)
    resp = client.delete(f"/strategies/{first['id']}", headers={"X-User-Id": "u1"})
    assert (resp.status_code, resp.data) == (204, b"")
    status, err = call(client, "GET", f"/strategies/{first['id']}")
    assert (status, err["error"]["code"]) == (404, "not_found")
    assert call(client, "DELETE", f"/strategies/{first['id']}")[0] == 404
    assert call(client, "GET", "/strategies") == (200, {"strategies": [second]})


def test_another_users_strategy_is_not_found(
    client: FlaskClient, store: MemoryStrategyStore
) -> None:
    mine = _create(client, user="alice")
    path = f"/strategies/{mine['id']}"
    for method, body in (("GET", None), ("PUT", BODY), ("DELETE", None)):
        status, err = call(client, method, path, "bob", body)
        assert status == 404, (method, err)
        assert err["error"]["message"] == f"no strategy {mine['id']}"  # as for an unknown id
    assert call(client, "GET", "/strategies", "bob") == (200, {"strategies": []})
    assert store.strategies[mine["id"]] == mine  # untouched


def test_the_limit_is_409_and_a_deletion_frees_a_place(client: FlaskClient) -> None:
    held = [_create(client) for _ in range(PER_USER)]
    status, err = call(client, "POST", "/strategies", body=BODY)
    assert status == 409
    assert err["error"]["code"] == "strategy_limit"
    assert err["error"]["message"].startswith(f"you hold {PER_USER} strategies")
    _create(client, user="u2")  # another user's count is theirs
    assert call(client, "DELETE", f"/strategies/{held[0]['id']}")[0] == 204
    _create(client)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**BODY, "name": ""}, "name", "Length must be between 1 and 80."),
        ({**BODY, "legs": []}, "legs", "Length must be between 1 and 12."),
        ({**BODY, "legs": [SHORT_PUT, {**HEDGE, "product": "BANKNIFTY"}]}, "legs[1].product",
         "Every leg is of one product (NIFTY), not BANKNIFTY."),
        ({**BODY, "legs": [{**SHORT_PUT, "product": "SENSEX"}]}, "legs[0].product",
         "not a product the platform serves"),
        ({**BODY, "legs": [{**SHORT_PUT, "expiry": None}]}, "legs[0].expiry", "Required for a"),
        ({**BODY, "legs": [HEDGE, {**SHORT_PUT, "side": "SHORT"}]}, "legs[1].side",
         "Must be one of: BUY, SELL."),
        ({**BODY, "note": "n" * 281}, "note", "Longer than maximum length 280."),
        ({**BODY, "owner": "u2"}, "owner", "Unknown field."),
    ],
)  # fmt: skip
def test_each_bad_body_is_422_naming_the_field(
    client: FlaskClient, store: MemoryStrategyStore, body: dict[str, Any], field: str,
    message: str,
) -> None:  # fmt: skip
    for method, path in (("POST", "/strategies"), ("PUT", f"/strategies/st_{'a' * 22}")):
        status, err = call(client, method, path, body=body)
        assert status == 422, (method, err)
        assert err["error"]["fields"] == {field: [err["error"]["fields"][field][0]]}
        assert err["error"]["fields"][field][0].startswith(message)
    assert store.writes == 0


def test_a_malformed_id_is_422_naming_strategy_id(client: FlaskClient) -> None:
    for method, body in (("GET", None), ("PUT", BODY), ("DELETE", None)):
        status, err = call(client, method, "/strategies/st_short", body=body)
        assert status == 422, method
        assert list(err["error"]["fields"]) == ["strategy_id"]
    status, err = call(client, "GET", "/strategies?limit=5")
    assert (status, list(err["error"]["fields"])) == (422, ["limit"])


def test_the_caller_must_be_named_whatever_the_store(
    client: FlaskClient, store: MemoryStrategyStore
) -> None:
    store.down = True  # the identity is looked at first
    for headers in ({}, {"X-User-Id": ""}, {"X-User-Id": "u" * 129}):
        for method, path in (("GET", "/strategies"), ("POST", "/strategies"),
                             ("GET", f"/strategies/st_{'a' * 22}")):  # fmt: skip
            body = BODY if method == "POST" else None
            resp = client.open(path, method=method, json=body, headers=headers)
            assert resp.status_code == 401, (headers, path)
            assert resp.get_json()["error"]["code"] == "unauthorized"


def test_a_store_down_is_503_with_retry_after(
    client: FlaskClient, store: MemoryStrategyStore
) -> None:
    store.down = True
    for method, path, body in (("GET", "/strategies", None), ("POST", "/strategies", BODY),
                               ("DELETE", f"/strategies/st_{'a' * 22}", None)):  # fmt: skip
        resp = client.open(path, method=method, json=body, headers={"X-User-Id": "u1"})
        assert resp.status_code == 503, path
        assert resp.headers["Retry-After"] == "2"
        assert resp.get_json()["error"] == {
            "code": "unavailable", "message": "strategy store unavailable, retry later",
            "fields": {}, "trace_id": resp.headers["X-Trace-ID"],
        }  # fmt: skip
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()["checks"]["store"]) == (
        503, "error: StoreUnavailable",
    )  # fmt: skip
