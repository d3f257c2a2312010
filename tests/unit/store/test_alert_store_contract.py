"""The alert repository contract, run on SQLite, mongomock and (with MONGO_URL) a live
MongoDB: documents, owners, order, replace, delete, active alerts, triggers and their
pages, the per-user limit (alone and under concurrent creations), timing."""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import pytest
from prometheus_client import REGISTRY

from common.timestamps import format_ts
from store import StoreError, StoreUnavailable, timing
from store.alerts import MAX_TRIGGER_PAGE, AlertLimitReached, AlertStore
from store.alerts.documents import TIMED_ALERT_OPS
from store.alerts.mongo import MongoAlertStore
from store.alerts.sqlite import SqliteAlertStore
from tests.unit.store.clients import live_mongo, mongomock_client

T0 = dt.datetime(2026, 12, 6, 9, 41, tzinfo=dt.UTC)
_WRITES = ("insert_one", "insert_many", "update_one", "replace_one", "find_one_and_delete")


def ts(seconds: float) -> str:
    """The wire timestamp ``seconds`` after ``T0``."""
    return format_ts(T0 + dt.timedelta(seconds=seconds))


def alert(n: int, owner: str = "alice", **fields: Any) -> dict[str, Any]:
    """Alert number ``n`` (created ``n`` seconds after T0) of ``owner``, as the service
    stores it."""
    return {
        "id": f"al_{owner}_{n:04d}", "owner": owner, "product": "NIFTY", "metric": "iv",
        "op": "crosses_above", "value": 0.25, "expiry": "2026-12-31", "strike": 24000.0,
        "option_type": "CE", "cooldown_s": 300, "window_s": None, "active": True,
        "webhook_url": "https://hooks.example.com/of", "webhook_secret": "ab" * 32,
        "note": "watch the open", "created_at": ts(n), "updated_at": ts(n), **fields,
    }  # fmt: skip


def trigger(trigger_id: str, at_s: float, owner: str = "alice", **fields: Any) -> dict[str, Any]:
    """A trigger decided ``at_s`` seconds after T0 (its data 17 ms older)."""
    return {
        "trigger_id": trigger_id, "alert_id": f"al_{owner}_0001", "owner": owner,
        "product": "NIFTY", "expiry": "2026-12-31", "metric": "iv", "op": "crosses_above",
        "strike": 24000.0, "option_type": "CE", "value": 0.2531, "threshold": 0.25,
        "timestamp": ts(at_s - 0.017), "triggered_at": ts(at_s), "note": None, **fields,
    }  # fmt: skip


def _serialised(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each mongomock write runs alone, as one MongoDB write on one document is atomic
    (mongomock's are Python loops that threads can interleave); a thread switch is
    invited before each, so concurrent creations do interleave between their writes."""
    lock = threading.RLock()
    for name in _WRITES:
        method = getattr(mongomock.collection.Collection, name)

        def locked(*args: Any, __method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            time.sleep(0)
            with lock:
                return __method(*args, **kwargs)

        monkeypatch.setattr(mongomock.collection.Collection, name, locked)


@pytest.fixture(params=["sqlite", "mongomock", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def alerts(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AlertStore]:
    """A fresh, empty alert repository of each adapter."""
    if request.param == "sqlite":
        store = SqliteAlertStore(tmp_path_factory.mktemp("alerts") / "optionsflow.db")
        yield store
        store.close()
    elif request.param == "mongomock":
        client = mongomock_client(monkeypatch)
        _serialised(monkeypatch)
        yield MongoAlertStore.from_client(client, "optionsflow_test")
        client.close()
    else:
        yield from live_mongo(MongoAlertStore.from_client)


# -- documents -----------------------------------------------------------------------


def test_satisfies_the_port(alerts: AlertStore) -> None:
    assert isinstance(alerts, AlertStore)
    alerts.ping()
    assert MAX_TRIGGER_PAGE == 500


def test_alerts_round_trip_exactly(alerts: AlertStore) -> None:
    awkward = {"tiny": 5e-324, "third": 0.1 + 0.2, "neg_zero": -0.0, "big": 2**63 - 1,
               "small": -(2**63), "seven": 7.0, "text": "₹ Δ 日本", "empty": {},
               "nested": [[None, True, 1.5, {"k": [False]}]]}  # fmt: skip
    doc = alert(1, extra=awkward, expiry=None, strike=None, option_type=None, window_s=60)
    assert alerts.create_alert(doc, limit=10) == doc
    for got in (alerts.alert("alice", doc["id"]), alerts.alerts_of("alice")[0]):
        assert got == doc
        assert got is not None
        assert "_id" not in got
        extra = got["extra"]
        assert math.copysign(1.0, extra["neg_zero"]) == -1.0
        assert (type(extra["big"]), type(extra["seven"]), type(got["cooldown_s"])) == (
            int, float, int,
        )  # fmt: skip
        assert extra["third"] == 0.30000000000000004
    assert alerts.active_alerts("NIFTY") == [doc]


def test_triggers_round_trip_exactly(alerts: AlertStore) -> None:
    doc = trigger("a" * 32, 5, value=5e-324, note="₹ crossed", strike=None, option_type=None)
    assert alerts.record_triggers([doc]) == 1
    assert alerts.triggers_of("alice") == [doc]
    assert "_id" not in alerts.triggers_of("alice")[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": {1, 2}}, "alert.extra: a set is not JSON data"),
        ({"extra": (1, 2)}, "alert.extra: a tuple is not JSON data"),
        ({"value": math.nan}, "alert.value: nan is not a finite number"),
        ({"extra": [0, math.inf]}, r"alert.extra\[1\]: inf is not a finite number"),
        ({"extra": {"n": 2**63}}, "alert.extra.n: integer outside the signed 64-bit range"),
        ({"extra": {1: "x"}}, "alert.extra: key 1 is not a string"),
        ({"extra": b"x"}, "alert.extra: a bytes is not JSON data"),
        ({"_id": "x"}, "alert._id: a key the store keeps for itself"),
        ({"id": ""}, "alert.id must be a non-empty string"),
        ({"owner": None}, "alert.owner must be a non-empty string"),
        ({"product": 5}, "alert.product must be a non-empty string"),
        ({"created_at": "2026-12-06 09:41:00"}, "alert.created_at: timestamp must look like"),
        ({"updated_at": "2026-12-06T09:41:00Z"}, "alert.updated_at: timestamp must look like"),
        ({"active": 1}, "alert.active must be true or false, got 1"),
        ({"active": None}, "alert.active must be true or false, got None"),
    ],
)
def test_an_alert_that_is_not_json_data_is_refused(
    alerts: AlertStore, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        alerts.create_alert({**alert(1), **change}, limit=10)
    assert alerts.alerts_of("alice") == []
    alerts.create_alert(alert(1), limit=1)  # the refused one took no slot
    with pytest.raises(ValueError, match=message):
        alerts.replace_alert("alice", {**alert(1), **change})
    assert alerts.alerts_of("alice") == [alert(1)]


def test_a_document_missing_a_key_or_not_a_mapping_is_refused(alerts: AlertStore) -> None:
    missing = alert(1)
    del missing["created_at"]
    with pytest.raises(ValueError, match=r"alert\.created_at"):
        alerts.create_alert(missing, limit=10)
    no_active = alert(2)
    del no_active["active"]
    with pytest.raises(ValueError, match=r"alert\.active"):
        alerts.create_alert(no_active, limit=10)
    with pytest.raises(ValueError, match="alert must be a JSON object, got list"):
        alerts.create_alert([("id", "x")], limit=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit must be a whole number"):
        alerts.create_alert(alert(3), limit=-1)
    with pytest.raises(ValueError, match="limit must be a whole number"):
        alerts.create_alert(alert(3), limit=True)
    assert alerts.alerts_of("alice") == []


# -- owners, order, replace, delete --------------------------------------------------


def test_another_owners_alert_is_out_of_reach(alerts: AlertStore) -> None:
    mine = alerts.create_alert(alert(1), limit=10)
    alerts.record_triggers([trigger("t1", 1)])
    assert alerts.alert("bob", mine["id"]) is None
    assert alerts.replace_alert("bob", {**mine, "owner": "bob", "value": 9.0}) is None
    assert alerts.delete_alert("bob", mine["id"]) is None
    assert alerts.alerts_of("bob") == []
    assert alerts.triggers_of("bob") == []
    assert alerts.alerts_of("alice") == [mine]
    assert alerts.triggers_of("alice") == [trigger("t1", 1)]
    with pytest.raises(ValueError, match="owner"):
        alerts.alert("", mine["id"])


def test_alerts_of_are_oldest_first_then_by_id(alerts: AlertStore) -> None:
    same_time = alert(5, id="al_alice_0003")  # created at 5 s, like alert(5)
    for doc in (alert(5), alert(2), same_time, alert(9), alert(1, owner="bob")):
        alerts.create_alert(doc, limit=10)
    ids = [doc["id"] for doc in alerts.alerts_of("alice")]
    assert ids == ["al_alice_0002", "al_alice_0003", "al_alice_0005", "al_alice_0009"]
    assert [doc["id"] for doc in alerts.alerts_of("bob")] == ["al_bob_0001"]


def test_replace_stores_the_new_document_whole(alerts: AlertStore) -> None:
    alerts.create_alert(alert(1), limit=10)
    changed = {**alert(1), "value": 0.3, "active": False, "updated_at": ts(60)}
    del changed["note"]  # a key left out is gone: a replacement, not a merge
    assert alerts.replace_alert("alice", changed) == changed
    assert alerts.alert("alice", changed["id"]) == changed
    assert alerts.alerts_of("alice") == [changed]
    assert alerts.replace_alert("alice", alert(2)) is None  # no such alert
    assert alerts.alerts_of("alice") == [changed]


@pytest.mark.parametrize(
    ("field", "value"),
    [("product", "BANKNIFTY"), ("created_at", ts(30)), ("owner", "bob")],
)
def test_replace_refuses_a_changed_owner_product_or_creation_time(
    alerts: AlertStore, field: str, value: str
) -> None:
    alerts.create_alert(alert(1), limit=10)
    with pytest.raises(ValueError, match=f"alert.{field} cannot change"):
        alerts.replace_alert("alice", {**alert(1), field: value, "value": 0.9})
    assert alerts.alert("alice", alert(1)["id"]) == alert(1)


def test_delete_returns_the_alert_and_keeps_its_triggers(alerts: AlertStore) -> None:
    alerts.create_alert(alert(1), limit=10)
    alerts.create_alert(alert(2), limit=10)
    alerts.record_triggers([trigger("t1", 3)])
    assert alerts.delete_alert("alice", alert(1)["id"]) == alert(1)
    assert alerts.delete_alert("alice", alert(1)["id"]) is None
    assert alerts.alert("alice", alert(1)["id"]) is None
    assert alerts.alerts_of("alice") == [alert(2)]
    assert alerts.triggers_of("alice") == [trigger("t1", 3)]


def test_active_alerts_by_product_and_flag(alerts: AlertStore) -> None:
    for doc in (
        alert(1), alert(2, active=False), alert(3, product="BANKNIFTY"), alert(4, owner="bob"),
        alert(5, owner="bob", product="BANKNIFTY", active=False),
    ):  # fmt: skip
        alerts.create_alert(doc, limit=10)

    def ids(product: str) -> set[str]:
        return {doc["id"] for doc in alerts.active_alerts(product)}

    assert ids("NIFTY") == {"al_alice_0001", "al_bob_0004"}
    assert ids("BANKNIFTY") == {"al_alice_0003"}
    assert ids("FINNIFTY") == set()
    alerts.replace_alert("alice", {**alert(1), "active": False})
    alerts.replace_alert("alice", {**alert(2), "active": True})
    assert ids("NIFTY") == {"al_alice_0002", "al_bob_0004"}
    alerts.delete_alert("bob", "al_bob_0004")
    assert alerts.active_alerts("NIFTY") == [{**alert(2), "active": True}]


# -- triggers ------------------------------------------------------------------------


def test_record_triggers_is_idempotent(alerts: AlertStore) -> None:
    first = trigger("t_a", 1)
    again = trigger("t_a", 1, value=0.99)  # a repeat of t_a within one call: the first is kept
    assert alerts.record_triggers([first, trigger("t_b", 2), again, trigger("t_c", 3)]) == 3
    assert alerts.record_triggers([first, trigger("t_b", 2)]) == 0
    assert alerts.record_triggers([trigger("t_c", 3), trigger("t_d", 4)]) == 1
    assert alerts.record_triggers([]) == 0
    assert [t["trigger_id"] for t in alerts.triggers_of("alice")] == ["t_d", "t_c", "t_b", "t_a"]
    assert alerts.triggers_of("alice")[-1] == first


def test_an_invalid_trigger_refuses_the_whole_batch(alerts: AlertStore) -> None:
    for bad in (
        {"trigger_id": ""}, {"owner": None}, {"triggered_at": "09:41"}, {"alert_id": 7},
        {"value": math.nan}, {"_id": 1},
    ):  # fmt: skip
        with pytest.raises(ValueError, match="trigger #1"):
            alerts.record_triggers([trigger("t_ok", 1), {**trigger("t_bad", 2), **bad}])
    with pytest.raises(ValueError, match="list of trigger documents"):
        alerts.record_triggers(trigger("t_x", 1))  # type: ignore[arg-type]
    assert alerts.triggers_of("alice") == []


def test_triggers_of_pages_newest_first_with_ties_broken_by_id(alerts: AlertStore) -> None:
    # three triggers share 20 s: newest first means t_c, t_b, t_a among them
    times = (("t_x", 10), ("t_b", 20), ("t_a", 20), ("t_c", 20), ("t_y", 30), ("t_z", 5))
    mine = [trigger(trigger_id, at_s) for trigger_id, at_s in times]
    theirs = [trigger(f"o_{n}", n * 7.0, owner="bob") for n in range(6)]
    assert alerts.record_triggers(theirs + mine) == 12
    expected = ["t_y", "t_c", "t_b", "t_a", "t_x", "t_z"]
    assert [t["trigger_id"] for t in alerts.triggers_of("alice")] == expected

    pages: list[list[str]] = []
    before: tuple[str, str] | None = None
    while True:
        page = alerts.triggers_of("alice", limit=2, before=before)
        if not page:
            break
        pages.append([t["trigger_id"] for t in page])
        before = (page[-1]["triggered_at"], page[-1]["trigger_id"])
    assert pages == [["t_y", "t_c"], ["t_b", "t_a"], ["t_x", "t_z"]]  # a boundary in the tie
    page = alerts.triggers_of("alice", limit=3, before=(ts(20), "t_c"))
    assert [t["trigger_id"] for t in page] == ["t_b", "t_a", "t_x"]
    page = alerts.triggers_of("alice", limit=MAX_TRIGGER_PAGE, before=(ts(20), "t_b"))
    assert [t["trigger_id"] for t in page] == ["t_a", "t_x", "t_z"]
    assert alerts.triggers_of("alice", before=(ts(5), "t_z")) == []
    assert len(alerts.triggers_of("bob", limit=1)) == 1


@pytest.mark.parametrize("limit", [0, -1, MAX_TRIGGER_PAGE + 1, True, "5", 2.0, None])
def test_trigger_page_limit_out_of_bounds(alerts: AlertStore, limit: Any) -> None:
    with pytest.raises(ValueError, match=f"limit must be an integer in 1..{MAX_TRIGGER_PAGE}"):
        alerts.triggers_of("alice", limit=limit)


@pytest.mark.parametrize("before", [[ts(1), "t"], (ts(1),), (ts(1), "t", "u"), (ts(1), 5), "t"])
def test_a_malformed_cursor_is_refused(alerts: AlertStore, before: Any) -> None:
    with pytest.raises(ValueError, match="before"):
        alerts.triggers_of("alice", before=before)


# -- the per-user limit --------------------------------------------------------------


def test_the_limit_holds_per_owner_and_a_deletion_frees_a_slot(alerts: AlertStore) -> None:
    for n in range(3):
        alerts.create_alert(alert(n), limit=3)
    with pytest.raises(AlertLimitReached) as info:
        alerts.create_alert(alert(3), limit=3)
    assert isinstance(info.value, StoreError)
    assert not isinstance(info.value, StoreUnavailable)
    assert len(alerts.alerts_of("alice")) == 3
    assert alerts.alert("alice", alert(3)["id"]) is None
    alerts.create_alert(alert(0, owner="bob"), limit=3)  # another owner's count is its own
    alerts.delete_alert("alice", alert(1)["id"])
    alerts.create_alert(alert(3), limit=3)
    with pytest.raises(AlertLimitReached):
        alerts.create_alert(alert(4), limit=3)
    alerts.create_alert(alert(4), limit=4)  # a raised limit counts what is held
    with pytest.raises(AlertLimitReached):
        alerts.create_alert(alert(5), limit=2)  # a lowered one refuses until below it
    with pytest.raises(AlertLimitReached):
        alerts.create_alert(alert(0, owner="carol"), limit=0)
    assert [doc["id"][-1] for doc in alerts.alerts_of("alice")] == ["0", "2", "3", "4"]


def test_a_stored_id_is_a_store_error_and_takes_no_slot(alerts: AlertStore) -> None:
    alerts.create_alert(alert(1), limit=2)
    for doc in (alert(1, value=0.5), {**alert(1, owner="bob"), "id": alert(1)["id"]}):
        with pytest.raises(StoreError, match="stored already") as info:
            alerts.create_alert(doc, limit=2)
        assert not isinstance(info.value, AlertLimitReached | StoreUnavailable)
    assert alerts.alerts_of("alice") == [alert(1)]
    assert alerts.alerts_of("bob") == []
    alerts.create_alert(alert(2), limit=2)
    alerts.create_alert(alert(2, owner="bob"), limit=1)  # bob's failed creation freed his slot
    with pytest.raises(AlertLimitReached):
        alerts.create_alert(alert(3), limit=2)


def test_concurrent_creations_never_pass_the_limit(alerts: AlertStore) -> None:
    """8 threads × 4 creations for one owner at once, limit 5: exactly 5 stored."""
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def create(worker: int) -> None:
        start.wait(30)
        for n in range(4):
            try:
                alerts.create_alert(alert(worker * 10 + n), limit=5)
                outcomes.append("stored")
            except AlertLimitReached:
                outcomes.append("refused")
            except BaseException as exc:  # surfaced by the assertion below
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=create, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 27 + ["stored"] * 5
    assert len(alerts.alerts_of("alice")) == 5
    alerts.delete_alert("alice", alerts.alerts_of("alice")[0]["id"])
    alerts.create_alert(alert(99), limit=5)


# -- timing --------------------------------------------------------------------------


def test_every_alert_operation_but_close_is_timed() -> None:
    port_ops = {n for n, _ in inspect.getmembers(AlertStore, inspect.isfunction) if n[0] != "_"}
    assert set(TIMED_ALERT_OPS) == port_ops - {"close"}
    method = SqliteAlertStore.create_alert
    assert (method.__name__, method.__qualname__) == (
        "create_alert", "SqliteAlertStore.create_alert",
    )  # fmt: skip


def test_calls_are_timed_per_op_and_adapter(
    alerts: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings = itertools.chain.from_iterable((1.0, 1.007) for _ in itertools.count())
    monkeypatch.setattr(timing, "clock", lambda: next(readings))
    adapter = "sqlite" if isinstance(alerts, SqliteAlertStore) else "mongodb"
    name = "optionsflow_store_call_seconds"

    def count(op: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count", {"op": op, "adapter": adapter}) or 0.0

    def total(op: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_sum", {"op": op, "adapter": adapter}) or 0.0

    before = {op: (count(op), total(op)) for op in ("create_alert", "triggers_of")}
    alerts.create_alert(alert(1), limit=1)
    with pytest.raises(AlertLimitReached):  # a refused call is timed too
        alerts.create_alert(alert(2), limit=1)
    alerts.triggers_of("alice")
    assert count("create_alert") - before["create_alert"][0] == 2
    assert total("create_alert") - before["create_alert"][1] == pytest.approx(0.014)
    assert count("triggers_of") - before["triggers_of"][0] == 1
