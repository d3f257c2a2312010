"""alert_service as deployed: gunicorn behind the real gateway (JWT, validation, the service
credential), the real SQLite alert repository, a real Redis. Two users: each sees and
changes only their own alerts; every bad input is 422 naming the field; the limit is 409;
each write changes the product's version key; the history pages through triggers written
by the repository itself (as the workers do). One stack for the module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from common.embedded_redis import EmbeddedRedis
from common.names import alert_version_key
from common.redis_client import make_redis, redis_db_url
from store.alerts import open_alert_store
from tests.integration.api_gateway.conftest import Stack, start_stack

pytestmark = pytest.mark.redis

ALERTS_DB = 5
"""A database of the session's Redis for this module alone."""
PER_USER = 4
BODY = {"product": "NIFTY", "metric": "atm_iv", "op": "crosses_above", "value": 0.25}
IV = {"product": "NIFTY", "metric": "iv", "op": "above", "value": 0.3, "expiry": "2026-12-31",
      "strike": 24000, "option_type": "PUT"}  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Stack]:
    started = start_stack(
        tmp_path_factory.mktemp("alerts-stack"),
        redis_db_url(redis_server.url, ALERTS_DB),
        {"ALERTS_PER_USER": str(PER_USER), "RATE_LIMIT_USER": "1000/second"},
        services=("auth_service", "alert_service"),
    )
    try:
        yield started
    finally:
        started.procs.close()


class User:
    """A registered, signed-in user calling the gateway."""

    def __init__(self, stack: Stack, name: str) -> None:
        body = {"username": name, "password": "correct-horse-1"}
        status, account = stack.json("POST", "/api/auth/register", body=body)
        assert status == 201, account
        self.id: str = account["id"]
        self.token = stack.login(name)["access_token"]
        self.stack = stack

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.stack.json(method, "/api" + path, body=body, token=self.token)

    def create(self, **fields: Any) -> dict[str, Any]:
        status, alert = self.call("POST", "/alerts", {**BODY, **fields})
        assert status == 201, alert
        return dict(alert)

    def clear(self) -> None:
        for alert in self.call("GET", "/alerts")[1]["alerts"]:
            assert self.call("DELETE", f"/alerts/{alert['id']}")[0] == 204


@pytest.fixture(scope="module")
def alice(stack: Stack) -> User:
    return User(stack, "alice")


@pytest.fixture(scope="module")
def bob(stack: Stack) -> User:
    return User(stack, "bob")


@pytest.fixture(autouse=True)
def _no_alerts_left(alice: User, bob: User) -> Iterator[None]:
    yield
    alice.clear()
    bob.clear()


def test_create_list_get_pause_delete(alice: User) -> None:
    alert = alice.create(**IV, cooldown_s=120, note="put skew",
                         webhook_url="https://hooks.example.com/of")  # fmt: skip
    assert re.fullmatch(r"al_[A-Za-z0-9_-]{22}", alert["id"])
    assert re.fullmatch(r"[0-9a-f]{64}", alert["webhook_secret"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", alert["created_at"])
    assert alert == {
        "id": alert["id"], "owner": alice.id, "product": "NIFTY", "metric": "iv", "op": "above",
        "value": 0.3, "expiry": "2026-12-31", "strike": 24000.0, "option_type": "PUT",
        "cooldown_s": 120, "window_s": None, "active": True,
        "webhook_url": "https://hooks.example.com/of", "webhook_secret": alert["webhook_secret"],
        "note": "put skew", "created_at": alert["created_at"], "updated_at": alert["created_at"],
    }  # fmt: skip
    second = alice.create(metric="spot", op="below", value=23_500)
    assert alice.call("GET", "/alerts") == (200, {"alerts": [alert, second]})
    assert alice.call("GET", f"/alerts/{alert['id']}") == (200, alert)

    status, paused = alice.call("PATCH", f"/alerts/{alert['id']}", {"active": False})
    assert status == 200
    assert paused["active"] is False
    assert paused["updated_at"] > alert["updated_at"]
    assert {k: v for k, v in paused.items() if k not in ("active", "updated_at")} == {
        k: v for k, v in alert.items() if k not in ("active", "updated_at")
    }
    assert alice.call("GET", f"/alerts/{alert['id']}") == (200, paused)

    status, _, body = alice.stack.request("DELETE", f"/api/alerts/{alert['id']}", token=alice.token)
    assert (status, body) == (204, b"")
    status, err = alice.call("GET", f"/alerts/{alert['id']}")
    assert (status, err["error"]["code"]) == (404, "not_found")
    assert alice.call("GET", "/alerts") == (200, {"alerts": [second]})


def test_another_users_alerts_are_out_of_reach(alice: User, bob: User, stack: Stack) -> None:
    mine = alice.create()
    for method, body in (("GET", None), ("PATCH", {"active": False}), ("DELETE", None)):
        status, err = bob.call(method, f"/alerts/{mine['id']}", body)
        assert (status, err["error"]["code"]) == (404, "not_found"), method
    assert bob.call("GET", "/alerts") == (200, {"alerts": []})
    assert alice.call("GET", f"/alerts/{mine['id']}") == (200, mine)  # untouched
    repository = open_alert_store(stack.store_url)
    try:
        repository.record_triggers([_trigger(alice, mine["id"], 1)])
    finally:
        repository.close()
    assert bob.call("GET", "/alerts/history") == (200, {"triggers": [], "next": None})
    assert len(alice.call("GET", "/alerts/history")[1]["triggers"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "metric": "vanna"}, "metric"),  # the gateway's schema
        ({**BODY, "op": "equals"}, "op"),
        ({**IV, "strike": None}, "strike"),  # the rule's own check, in the service
        ({**BODY, "window_s": 600}, "window_s"),
        ({**BODY, "product": "SENSEX"}, "product"),  # not a product the platform serves
        ({**BODY, "webhook_url": "http://127.0.0.1:9999/hook"}, "webhook_url"),
        ({**BODY, "note": "n" * 281}, "note"),
        ({**BODY, "owner": "someone-else"}, "owner"),  # an unknown field
    ],
)
def test_each_bad_input_is_422_naming_the_field(
    alice: User, body: dict[str, Any], field: str
) -> None:
    status, err = alice.call("POST", "/alerts", body)
    assert status == 422, err
    assert err["error"]["code"] == "validation_error"
    assert list(err["error"]["fields"]) == [field]
    assert alice.call("GET", "/alerts") == (200, {"alerts": []})


def test_bad_changes_and_ids_are_422(alice: User) -> None:
    alert = alice.create()
    changes = [({"product": "BTC"}, "product"), ({"metric": "iv"}, "strike"),
               ({"op": "change_pct"}, "window_s"), ({"active": "no"}, "active")]  # fmt: skip
    for change, field in changes:
        status, err = alice.call("PATCH", f"/alerts/{alert['id']}", change)
        assert (status, list(err["error"]["fields"])) == (422, [field]), change
    status, err = alice.call("GET", "/alerts/not-an-alert-id")
    assert (status, list(err["error"]["fields"])) == (422, ["alert_id"])
    assert alice.call("GET", f"/alerts/{alert['id']}") == (200, alert)


def test_the_limit_is_409_per_user(alice: User, bob: User) -> None:
    for _ in range(PER_USER):
        alice.create()
    status, err = alice.call("POST", "/alerts", BODY)
    assert status == 409
    assert err["error"]["code"] == "alert_limit"
    assert len(alice.call("GET", "/alerts")[1]["alerts"]) == PER_USER
    bob.create()  # bob's quota is his own


def test_each_write_changes_the_version_key(alice: User, stack: Stack) -> None:
    client = make_redis(stack.redis_url)
    try:
        key = alert_version_key("NIFTY")
        seen = [client.get(key)]
        alert = alice.create()
        seen.append(client.get(key))
        alice.call("PATCH", f"/alerts/{alert['id']}", {"value": 0.35})
        seen.append(client.get(key))
        alice.call("DELETE", f"/alerts/{alert['id']}")
        seen.append(client.get(key))
    finally:
        client.close()
    assert all(re.fullmatch(rb"[0-9a-f]{16}", v or b"") for v in seen[1:])
    assert len(set(seen)) == 4  # each write a new token (the first: whatever was there)


def _trigger(user: User, alert_id: str, n: int) -> dict[str, Any]:
    return {
        "trigger_id": f"{n:032d}", "alert_id": alert_id, "owner": user.id, "product": "NIFTY",
        "expiry": None, "metric": "atm_iv", "op": "crosses_above", "strike": None,
        "option_type": None, "value": 0.25 + n / 1000, "threshold": 0.25,
        "timestamp": f"2026-12-06T09:{n:02d}:00.000Z",
        "triggered_at": f"2026-12-06T09:{n:02d}:00.020Z", "note": None,
    }  # fmt: skip


def test_history_pages_newest_first(stack: Stack) -> None:
    carol = User(stack, "carol")  # only this test writes carol's history
    repository = open_alert_store(stack.store_url)
    try:
        triggers = [_trigger(carol, "al_" + "h" * 22, n) for n in range(10, 17)]
        assert repository.record_triggers(triggers) == 7
    finally:
        repository.close()
    pages, path = [], "/alerts/history?limit=3"
    while True:
        status, page = carol.call("GET", path)
        assert status == 200, page
        pages.append([t["trigger_id"][-2:] for t in page["triggers"]])
        if page["next"] is None:
            break
        path = f"/alerts/history?limit=3&cursor={page['next']}"
    assert pages == [["16", "15", "14"], ["13", "12", "11"], ["10"]]  # newest first, 3 a page
    first = carol.call("GET", "/alerts/history?limit=1")[1]["triggers"][0]
    assert first == triggers[-1]  # the document as recorded
    status, err = carol.call("GET", "/alerts/history?cursor=garbage")
    assert (status, list(err["error"]["fields"])) == (422, ["cursor"])
    status, err = carol.call("GET", "/alerts/history?limit=201")
    assert (status, list(err["error"]["fields"])) == (422, ["limit"])


def test_the_routes_need_a_token_and_are_documented(stack: Stack) -> None:
    assert stack.json("GET", "/api/alerts")[0] == 401
    status, doc = stack.json("GET", "/api/openapi.json")
    assert status == 200
    one = doc["paths"]["/api/alerts/{alert_id}"]
    assert set(one) >= {"get", "patch", "delete"}
    (param,) = [p for p in one["get"]["parameters"] if p["in"] == "path"]
    assert (param["name"], param["schema"]["pattern"]) == ("alert_id", "^al_[A-Za-z0-9_-]{22}$")
    assert set(doc["paths"]["/api/alerts"]) == {"get", "post"}
    assert "409" in doc["paths"]["/api/alerts"]["post"]["responses"]
