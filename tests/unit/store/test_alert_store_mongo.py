"""The MongoDB alert repository on mongomock: indexes, stored shape, the slots that keep the
per-user limit (taken before the insert, given back, kept when unsure, reclaimed after the
grace), error mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import pytest
from bson.errors import InvalidDocument
from pymongo.errors import AutoReconnect, OperationFailure, WriteError

from store import StoreError, StoreUnavailable
from store.alerts import AlertLimitReached
from store.alerts.mongo import MongoAlertStore
from store.mongo_slots import RESERVATION_GRACE_S
from tests.support.clock import FakeClock
from tests.unit.store.clients import mongomock_client
from tests.unit.store.test_alert_store_contract import alert, trigger

Collection = mongomock.collection.Collection
NOW = 1_796_000_000.0


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[mongomock.MongoClient]:
    client = mongomock_client(monkeypatch)
    yield client
    client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(client: mongomock.MongoClient, clock: FakeClock) -> MongoAlertStore:
    store = MongoAlertStore.from_client(client, "optionsflow_test")
    store.clock = clock
    return store


def _slots(client: mongomock.MongoClient, owner: str = "alice") -> list[dict[str, Any]]:
    quota = client["optionsflow_test"].alert_quotas.find_one({"_id": owner})
    return [] if quota is None else list(quota["slots"])


def _failing(
    monkeypatch: pytest.MonkeyPatch, method: str, collection: str, error: Exception, *,
    after_real: bool = False,
) -> None:  # fmt: skip
    """``Collection.<method>`` of ``collection`` raises ``error`` (after doing its work when
    ``after_real``: a write that landed but whose answer was lost)."""
    real: Callable[..., Any] = getattr(Collection, method)

    def failing(self: Collection, *args: Any, **kwargs: Any) -> Any:
        if self.name != collection:
            return real(self, *args, **kwargs)
        if after_real:
            real(self, *args, **kwargs)
        raise error

    monkeypatch.setattr(Collection, method, failing)


def test_indexes_are_created(store: MongoAlertStore, client: mongomock.MongoClient) -> None:
    db = client["optionsflow_test"]
    alerts = db.alerts.index_information()
    assert alerts["alerts_owner"]["key"] == [("owner", 1), ("created_at", 1), ("id", 1)]
    assert alerts["alerts_product"]["key"] == [("product", 1), ("active", 1)]
    triggers = db.alert_triggers.index_information()
    assert triggers["alert_triggers_owner"]["key"] == [
        ("owner", 1), ("triggered_at", 1), ("trigger_id", 1),
    ]  # fmt: skip
    MongoAlertStore.from_client(client, "optionsflow_test")  # a second start-up is a no-op


def test_documents_are_keyed_by_their_ids(
    store: MongoAlertStore, client: mongomock.MongoClient
) -> None:
    store.create_alert(alert(1), limit=5)
    store.record_triggers([trigger("t1", 1)])
    db = client["optionsflow_test"]
    assert db.alerts.find_one() == {"_id": alert(1)["id"], **alert(1)}
    assert db.alert_triggers.find_one() == {"_id": "t1", **trigger("t1", 1)}
    assert _slots(client) == [{"id": alert(1)["id"], "at": NOW}]


def test_a_creation_holds_its_slot_before_it_inserts(
    store: MongoAlertStore, client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two other creations run while the first is between its slot and its insert: with
    limit 2 the second fits, the third is refused though only one alert is stored yet."""
    real_insert = Collection.insert_one
    seen: list[str] = []

    def insert_one(self: Collection, doc: dict[str, Any], *args: Any, **kw: Any) -> Any:
        if self.name == "alerts" and doc["id"] == alert(1)["id"]:
            assert _slots(client)[0]["id"] == alert(1)["id"]
            store.create_alert(alert(2), limit=2)
            with pytest.raises(AlertLimitReached):
                store.create_alert(alert(3), limit=2)
            seen.append("inside")
        return real_insert(self, doc, *args, **kw)

    monkeypatch.setattr(Collection, "insert_one", insert_one)
    store.create_alert(alert(1), limit=2)
    assert seen == ["inside"]
    assert [doc["id"] for doc in store.alerts_of("alice")] == [alert(1)["id"], alert(2)["id"]]


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (WriteError("Document failed validation", code=121), StoreError),
        (InvalidDocument("key '$x' must not start with '$'"), ValueError),
    ],
)
def test_a_failed_insert_gives_its_slot_back(
    store: MongoAlertStore,
    client: mongomock.MongoClient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    raised: type[Exception],
) -> None:
    store.create_alert(alert(1), limit=2)
    _failing(monkeypatch, "insert_one", "alerts", error)
    with pytest.raises(raised) as info:
        store.create_alert(alert(2), limit=2)
    assert not isinstance(info.value, StoreUnavailable | AlertLimitReached)
    assert [slot["id"] for slot in _slots(client)] == [alert(1)["id"]]
    monkeypatch.undo()
    store.create_alert(alert(3), limit=2)


def test_an_insert_of_unknown_outcome_keeps_its_slot_until_the_grace_has_passed(
    store: MongoAlertStore,
    client: mongomock.MongoClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _failing(monkeypatch, "insert_one", "alerts", AutoReconnect("connection reset"))
    with pytest.raises(StoreUnavailable):
        store.create_alert(alert(1), limit=1)
    monkeypatch.undo()
    assert store.alerts_of("alice") == []
    assert _slots(client) == [{"id": alert(1)["id"], "at": NOW}]  # it may have been stored
    clock.advance(RESERVATION_GRACE_S - 1)
    with pytest.raises(AlertLimitReached):
        store.create_alert(alert(2), limit=1)
    clock.advance(2)
    with caplog.at_level(logging.WARNING, logger="store.alerts.mongo"):
        store.create_alert(alert(2), limit=1)  # the lost slot reclaimed
    assert [(r.message, r.__dict__["owner"], r.__dict__["slots"]) for r in caplog.records] == [
        ("alert slots reclaimed", "alice", 1),
    ]  # fmt: skip
    assert _slots(client) == [{"id": alert(2)["id"], "at": NOW + RESERVATION_GRACE_S + 1}]
    assert store.alerts_of("alice") == [alert(2)]


def test_a_slot_whose_alert_was_stored_after_all_is_never_reclaimed(
    store: MongoAlertStore,
    client: mongomock.MongoClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _failing(monkeypatch, "insert_one", "alerts", AutoReconnect("reply lost"), after_real=True)
    with pytest.raises(StoreUnavailable):
        store.create_alert(alert(1), limit=1)
    monkeypatch.undo()
    assert store.alerts_of("alice") == [alert(1)]
    clock.advance(10 * RESERVATION_GRACE_S)
    with pytest.raises(AlertLimitReached):
        store.create_alert(alert(2), limit=1)
    assert [slot["id"] for slot in _slots(client)] == [alert(1)["id"]]


def test_a_deletion_whose_slot_is_not_released_is_reclaimed_later(
    store: MongoAlertStore,
    client: mongomock.MongoClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.create_alert(alert(1), limit=1)
    _failing(monkeypatch, "update_one", "alert_quotas", AutoReconnect("connection reset"))
    assert store.delete_alert("alice", alert(1)["id"]) == alert(1)  # deleted all the same
    monkeypatch.undo()
    assert len(_slots(client)) == 1
    with pytest.raises(AlertLimitReached):
        store.create_alert(alert(2), limit=1)
    clock.advance(RESERVATION_GRACE_S + 1)
    store.create_alert(alert(2), limit=1)
    assert [slot["id"] for slot in _slots(client)] == [alert(2)["id"]]


def test_the_first_creations_of_an_owner_race_for_its_quota_document(
    store: MongoAlertStore, client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another creation makes the quota document between this one's update (no document
    yet) and its insert of the document: this one's insert fails and its update is retried."""
    real_insert = Collection.insert_one
    raced: list[str] = []

    def insert_one(self: Collection, doc: dict[str, Any], *args: Any, **kw: Any) -> Any:
        if self.name == "alert_quotas" and not raced:
            raced.append(doc["slots"][0]["id"])
            real_insert(self, {"_id": "alice", "slots": [{"id": "al_other", "at": NOW}]})
        return real_insert(self, doc, *args, **kw)

    monkeypatch.setattr(Collection, "insert_one", insert_one)
    store.create_alert(alert(1), limit=2)
    assert raced == [alert(1)["id"]]
    assert [slot["id"] for slot in _slots(client)] == ["al_other", alert(1)["id"]]
    with pytest.raises(AlertLimitReached):
        store.create_alert(alert(2), limit=2)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AutoReconnect("connection closed"), StoreUnavailable),
        (OperationFailure("not authorized", code=13), StoreError),
    ],
)
def test_driver_errors_map_to_port_errors(
    store: MongoAlertStore, monkeypatch: pytest.MonkeyPatch, error: Exception, expected: type
) -> None:
    store.create_alert(alert(1), limit=5)

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    for method in ("find", "find_one", "update_one", "insert_many", "replace_one",
                   "find_one_and_delete"):  # fmt: skip
        monkeypatch.setattr(Collection, method, fail)
    calls = [
        lambda: store.create_alert(alert(2), limit=5),
        lambda: store.alerts_of("alice"),
        lambda: store.alert("alice", alert(1)["id"]),
        lambda: store.replace_alert("alice", alert(1)),
        lambda: store.delete_alert("alice", alert(1)["id"]),
        lambda: store.active_alerts("NIFTY"),
        lambda: store.record_triggers([trigger("t1", 1)]),
        lambda: store.triggers_of("alice"),
    ]
    for call in calls:
        with pytest.raises(expected) as info:
            call()
        assert type(info.value) is expected


def test_close_leaves_an_injected_client_open(
    store: MongoAlertStore, client: mongomock.MongoClient
) -> None:
    store.create_alert(alert(1), limit=5)
    store.close()
    assert client["optionsflow_test"].alerts.count_documents({}) == 1


def test_a_creation_reclaiming_beside_another_takes_a_slot_the_other_freed(
    store: MongoAlertStore,
    client: mongomock.MongoClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quotas = client["optionsflow_test"].alert_quotas
    quotas.insert_one({"_id": "alice", "slots": [{"id": "al_lost", "at": NOW}]})
    clock.advance(RESERVATION_GRACE_S + 1)
    real_find = Collection.find

    def find(self: Collection, spec: Any = None, *args: Any, **kw: Any) -> Any:
        if self.name == "alerts" and spec == {"_id": {"$in": ["al_lost"]}, "owner": "alice"}:
            quotas.update_one({"_id": "alice"}, {"$pull": {"slots": {"id": "al_lost"}}})
        return real_find(self, spec, *args, **kw)

    monkeypatch.setattr(Collection, "find", find)
    with caplog.at_level(logging.WARNING, logger="store.alerts.mongo"):
        store.create_alert(alert(1), limit=1)
    assert caplog.records == []  # the other creation reclaimed it
    assert [slot["id"] for slot in _slots(client)] == [alert(1)["id"]]


def test_a_replace_of_an_alert_deleted_meanwhile_is_none(
    store: MongoAlertStore, client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_alert(alert(1), limit=5)
    real_replace = Collection.replace_one

    def replace_one(self: Collection, *args: Any, **kw: Any) -> Any:
        client["optionsflow_test"].alerts.delete_one({"_id": alert(1)["id"]})
        return real_replace(self, *args, **kw)

    monkeypatch.setattr(Collection, "replace_one", replace_one)
    assert store.replace_alert("alice", {**alert(1), "value": 0.5}) is None
    assert store.alerts_of("alice") == []


def test_documents_bson_refuses_are_value_errors(
    store: MongoAlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_alert(alert(1), limit=5)
    refused = InvalidDocument("key '$x' must not start with '$'")
    _failing(monkeypatch, "replace_one", "alerts", refused)
    _failing(monkeypatch, "insert_many", "alert_triggers", refused)
    with pytest.raises(ValueError, match="alert not storable in MongoDB"):
        store.replace_alert("alice", {**alert(1), "value": 0.5})
    with pytest.raises(ValueError, match="trigger not storable in MongoDB"):
        store.record_triggers([trigger("t1", 1)])
    monkeypatch.undo()
    assert store.alerts_of("alice") == [alert(1)]
    assert store.triggers_of("alice") == []
