"""The routes in-process: the in-memory repository, a real Redis, a fixed clock."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from common.names import alert_version_key
from tests.unit.alert_service.conftest import PER_USER, Clock, call
from tests.unit.alert_service.fakes import MemoryAlertStore

pytestmark = pytest.mark.redis

BODY = {"product": "NIFTY", "metric": "atm_iv", "op": "crosses_above", "value": 0.25}


def _create(client: FlaskClient, user: str = "u1", **fields: Any) -> dict[str, Any]:
    status, alert = call(client, "POST", "/alerts", user, {**BODY, **fields})
    assert status == 201, alert
    return dict(alert)


def test_create_answers_the_stored_alert(client: FlaskClient, store: MemoryAlertStore) -> None:
    alert = _create(client, note="watch the open", cooldown_s=60)
    assert alert == {
        "id": alert["id"], "owner": "u1", "product": "NIFTY", "metric": "atm_iv",
        "op": "crosses_above", "value": 0.25, "expiry": None, "strike": None,
        "option_type": None, "cooldown_s": 60, "window_s": None, "active": True,
        "webhook_url": None, "webhook_secret": None, "note": "watch the open",
        "created_at": "2026-12-06T09:41:00.123Z", "updated_at": "2026-12-06T09:41:00.123Z",
    }  # fmt: skip
    assert store.alerts[alert["id"]] == alert


def test_list_get_patch_delete(client: FlaskClient, clock: Clock) -> None:
    first = _create(client)
    clock.advance(1)
    second = _create(client, metric="spot", op="below", value=23_000)
    assert call(client, "GET", "/alerts") == (200, {"alerts": [first, second]})
    assert call(client, "GET", f"/alerts/{second['id']}") == (200, second)
    clock.advance(1)
    status, paused = call(client, "PATCH", f"/alerts/{first['id']}", body={"active": False})
    assert status == 200
    assert paused == {**first, "active": False, "updated_at": "2026-12-06T09:41:02.123Z"}
    assert call(client, "GET", f"/alerts/{first['id']}") == (200, paused)
    resp = client.delete(f"/alerts/{first['id']}", headers={"X-User-Id": "u1"})
    assert (resp.status_code, resp.data) == (204, b"")
    status, err = call(client, "GET", f"/alerts/{first['id']}")
    assert (status, err["error"]["code"]) == (404, "not_found")
    assert call(client, "DELETE", f"/alerts/{first['id']}")[0] == 404
    assert call(client, "GET", "/alerts") == (200, {"alerts": [second]})


def test_another_users_alert_is_not_found(client: FlaskClient, store: MemoryAlertStore) -> None:
    mine = _create(client, user="alice")
    path = f"/alerts/{mine['id']}"
    for method, body in (("GET", None), ("PATCH", {"active": False}), ("DELETE", None)):
        status, err = call(client, method, path, "bob", body)
        assert status == 404, (method, err)
        assert err["error"]["message"] == f"no alert {mine['id']}"  # as for an unknown id
    assert call(client, "GET", "/alerts", "bob") == (200, {"alerts": []})
    assert store.alerts[mine["id"]] == mine  # untouched


def test_a_webhook_gets_a_secret_shown_to_its_owner(client: FlaskClient) -> None:
    alert = _create(client, webhook_url="https://hooks.example.com/x")
    assert len(alert["webhook_secret"]) == 64
    status, moved = call(client, "PATCH", f"/alerts/{alert['id']}",
                         body={"webhook_url": "https://hooks.example.com/y"})  # fmt: skip
    assert (status, moved["webhook_secret"]) == (200, alert["webhook_secret"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "metric": "vega"}, "metric"),
        ({**BODY, "op": "equals"}, "op"),
        ({**BODY, "metric": "iv", "option_type": "CALL"}, "strike"),
        ({**BODY, "window_s": 300}, "window_s"),
        ({**BODY, "product": "SENSEX"}, "product"),
        ({**BODY, "webhook_url": "http://127.0.0.1:8080/hook"}, "webhook_url"),
        ({**BODY, "note": "x" * 281}, "note"),
        ({**BODY, "colour": "red"}, "colour"),
        ({k: v for k, v in BODY.items() if k != "value"}, "value"),
    ],
)
def test_a_bad_create_is_422_naming_the_field(
    client: FlaskClient, store: MemoryAlertStore, body: dict[str, Any], field: str
) -> None:
    status, err = call(client, "POST", "/alerts", body=body)
    assert status == 422
    assert err["error"]["code"] == "validation_error"
    assert list(err["error"]["fields"]) == [field]
    assert store.writes == 0


def test_a_bad_patch_is_422_and_changes_nothing(
    client: FlaskClient, store: MemoryAlertStore
) -> None:
    alert = _create(client)
    path = f"/alerts/{alert['id']}"
    for body, field in (
        ({"product": "BTC"}, "product"),
        ({"op": "change_pct"}, "window_s"),
        ({"metric": "iv"}, "strike"),
        ({"webhook_url": "http://[::1]/h"}, "webhook_url"),
        ({"active": "no"}, "active"),
        ({"owner": "u2"}, "owner"),
    ):
        status, err = call(client, "PATCH", path, body=body)
        assert (status, list(err["error"]["fields"])) == (422, [field]), body
    assert store.alerts[alert["id"]] == alert
    assert store.writes == 1


def test_a_malformed_alert_id_is_422_naming_it(client: FlaskClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        status, err = call(
            client, method, "/alerts/al_short", body={} if method == "PATCH" else None
        )
        assert (status, list(err["error"]["fields"])) == (422, ["alert_id"]), method


def test_the_limit_is_409(client: FlaskClient, store: MemoryAlertStore) -> None:
    for _ in range(PER_USER):
        _create(client)
    status, err = call(client, "POST", "/alerts", body=BODY)
    assert status == 409
    assert err["error"]["code"] == "alert_limit"
    assert f"you hold {PER_USER} alerts" in err["error"]["message"]
    assert len(store.alerts) == PER_USER
    _create(client, user="u2")  # the limit is per user


def test_each_write_sets_a_new_version(client: FlaskClient, redis_client: redis.Redis) -> None:
    key = alert_version_key("NIFTY")
    assert redis_client.get(key) is None
    seen = []
    alert = _create(client)
    seen.append(redis_client.get(key))
    call(client, "PATCH", f"/alerts/{alert['id']}", body={"value": 0.3})
    seen.append(redis_client.get(key))
    call(client, "PATCH", f"/alerts/{alert['id']}", body={"value": 0.3})  # no change
    assert redis_client.get(key) == seen[-1]
    call(client, "DELETE", f"/alerts/{alert['id']}")
    seen.append(redis_client.get(key))
    assert all(v is not None and len(v) == 16 and int(v, 16) >= 0 for v in seen)
    assert len(set(seen)) == 3
    assert redis_client.ttl(key) == -1  # no expiry
    assert redis_client.get(alert_version_key("BTC")) is None  # only the product's


def test_history_pages_newest_first(client: FlaskClient, store: MemoryAlertStore) -> None:
    def trigger(n: int, owner: str) -> dict[str, Any]:
        return {"trigger_id": f"{owner}{n:030d}", "alert_id": "al_" + "x" * 22, "owner": owner,
                "product": "NIFTY", "triggered_at": f"2026-12-06T09:41:0{n}.000Z"}  # fmt: skip

    store.record_triggers([trigger(n, "u1") for n in range(5)] + [trigger(9, "u2")])
    status, page = call(client, "GET", "/alerts/history?limit=2")
    assert status == 200
    assert [t["triggered_at"][-6:] for t in page["triggers"]] == ["4.000Z", "3.000Z"]
    status, page2 = call(client, "GET", f"/alerts/history?limit=2&cursor={page['next']}")
    assert [t["triggered_at"][-6:] for t in page2["triggers"]] == ["2.000Z", "1.000Z"]
    status, last = call(client, "GET", f"/alerts/history?limit=2&cursor={page2['next']}")
    assert ([t["triggered_at"][-6:] for t in last["triggers"]], last["next"]) == (["0.000Z"], None)
    exact = call(client, "GET", "/alerts/history?limit=5")[1]
    assert (len(exact["triggers"]), exact["next"]) == (5, None)  # no empty page after it
    assert call(client, "GET", "/alerts/history", "u2")[1]["triggers"][0]["owner"] == "u2"
    status, err = call(client, "GET", "/alerts/history?cursor=bogus")
    assert (status, list(err["error"]["fields"])) == (422, ["cursor"])
