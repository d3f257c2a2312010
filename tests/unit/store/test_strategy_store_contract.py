"""The saved-strategy repository contract, run on SQLite, mongomock and (with MONGO_URL) a
live MongoDB: exact documents, owners, order, replace, delete, the per-user limit (alone
and under concurrent creations), timing."""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from common.timestamps import format_ts
from store import StoreError, StoreUnavailable, timing
from store.strategies import StrategyLimitReached, StrategyStore
from store.strategies.documents import TIMED_STRATEGY_OPS
from store.strategies.mongo import MongoStrategyStore
from store.strategies.sqlite import SqliteStrategyStore
from tests.unit.store.clients import live_mongo, mongomock_client
from tests.unit.store.test_alert_store_contract import _serialised

T0 = dt.datetime(2026, 12, 6, 9, 41, tzinfo=dt.UTC)


def ts(seconds: float) -> str:
    """The wire timestamp ``seconds`` after ``T0``."""
    return format_ts(T0 + dt.timedelta(seconds=seconds))


def leg(strike: float | None, option_type: str | None, side: str, **fields: Any) -> dict[str, Any]:
    return {
        "product": "NIFTY", "expiry": None if option_type is None else "2026-12-10",
        "strike": strike, "option_type": option_type, "side": side, "quantity": 75.0,
        "price": None, **fields,
    }  # fmt: skip


CONDOR = [
    leg(23_800.0, "PUT", "BUY", price=12.5), leg(23_900.0, "PUT", "SELL"),
    leg(24_100.0, "CALL", "SELL"), leg(24_200.0, "CALL", "BUY", price=9.25),
]  # fmt: skip


def strategy(n: int, owner: str = "alice", **fields: Any) -> dict[str, Any]:
    """Strategy number ``n`` (created ``n`` seconds after T0) of ``owner``, as the service
    stores it."""
    return {
        "id": f"st_{owner}_{n:04d}", "owner": owner, "name": f"condor {n}", "legs": CONDOR,
        "note": "weekly", "created_at": ts(n), "updated_at": ts(n), **fields,
    }  # fmt: skip


@pytest.fixture(params=["sqlite", "mongomock", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def strategies(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[StrategyStore]:
    """A fresh, empty strategy repository of each adapter."""
    if request.param == "sqlite":
        store = SqliteStrategyStore(tmp_path_factory.mktemp("strategies") / "optionsflow.db")
        yield store
        store.close()
    elif request.param == "mongomock":
        client = mongomock_client(monkeypatch)
        _serialised(monkeypatch)
        yield MongoStrategyStore.from_client(client, "optionsflow_test")
        client.close()
    else:
        yield from live_mongo(MongoStrategyStore.from_client)


# -- documents -----------------------------------------------------------------------


def test_satisfies_the_port(strategies: StrategyStore) -> None:
    assert isinstance(strategies, StrategyStore)
    strategies.ping()


def test_strategies_round_trip_exactly(strategies: StrategyStore) -> None:
    awkward = [leg(None, None, "SELL", quantity=0.1 + 0.2, price=5e-324),
               leg(2.5e-7, "CALL", "BUY", quantity=2**53 + 1, product="Δ₹")]  # fmt: skip
    doc = strategy(1, legs=awkward, note=None, name="₹ Δ 日本")
    assert strategies.create_strategy(doc, limit=10) == doc
    for got in (strategies.strategy("alice", doc["id"]), strategies.strategies_of("alice")[0]):
        assert got == doc
        assert got is not None
        assert "_id" not in got
        first, second = got["legs"]
        assert first["quantity"] == 0.30000000000000004
        assert (type(second["quantity"]), second["quantity"]) == (int, 2**53 + 1)
        assert first["price"] == 5e-324


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legs": (1, 2)}, "strategy.legs: a tuple is not JSON data"),
        ({"legs": {"a": 1}}, "strategy.legs must be a list"),
        ({"legs": None}, "strategy.legs must be a list"),
        ({"legs": [{"price": math.nan}]}, r"strategy.legs\[0\].price: nan is not a finite"),
        ({"extra": {1: "x"}}, "strategy.extra: key 1 is not a string"),
        ({"_id": "x"}, "strategy._id: a key the store keeps for itself"),
        ({"id": ""}, "strategy.id must be a non-empty string"),
        ({"owner": None}, "strategy.owner must be a non-empty string"),
        ({"name": 5}, "strategy.name must be a non-empty string"),
        ({"created_at": "2026-12-06 09:41:00"}, "strategy.created_at: timestamp must look like"),
        ({"updated_at": "yesterday"}, "strategy.updated_at: timestamp must look like"),
    ],
)
def test_a_strategy_that_is_not_json_data_is_refused(
    strategies: StrategyStore, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        strategies.create_strategy({**strategy(1), **change}, limit=10)
    assert strategies.strategies_of("alice") == []
    strategies.create_strategy(strategy(1), limit=1)  # the refused one took no slot
    with pytest.raises(ValueError, match=message):
        strategies.replace_strategy("alice", {**strategy(1), **change})
    assert strategies.strategies_of("alice") == [strategy(1)]


def test_a_document_missing_a_key_or_not_a_mapping_is_refused(strategies: StrategyStore) -> None:
    missing = strategy(1)
    del missing["legs"]
    with pytest.raises(ValueError, match=r"strategy\.legs"):
        strategies.create_strategy(missing, limit=10)
    with pytest.raises(ValueError, match="strategy must be a JSON object, got list"):
        strategies.create_strategy([("id", "x")], limit=10)  # type: ignore[arg-type]
    for limit in (-1, True, 2.0):
        with pytest.raises(ValueError, match="limit must be a whole number"):
            strategies.create_strategy(strategy(3), limit=limit)  # type: ignore[arg-type]
    assert strategies.strategies_of("alice") == []


# -- owners, order, replace, delete --------------------------------------------------


def test_another_owners_strategy_is_out_of_reach(strategies: StrategyStore) -> None:
    mine = strategies.create_strategy(strategy(1), limit=10)
    assert strategies.strategy("bob", mine["id"]) is None
    assert strategies.replace_strategy("bob", {**mine, "owner": "bob", "name": "x"}) is None
    assert strategies.delete_strategy("bob", mine["id"]) is None
    assert strategies.strategies_of("bob") == []
    assert strategies.strategies_of("alice") == [mine]
    with pytest.raises(ValueError, match="owner"):
        strategies.strategy("", mine["id"])
    with pytest.raises(ValueError, match="strategy_id"):
        strategies.delete_strategy("alice", "")


def test_strategies_of_are_oldest_first_then_by_id(strategies: StrategyStore) -> None:
    same_time = strategy(5, id="st_alice_0003")  # created at 5 s, like strategy(5)
    for doc in (strategy(5), strategy(2), same_time, strategy(9), strategy(1, owner="bob")):
        strategies.create_strategy(doc, limit=10)
    ids = [doc["id"] for doc in strategies.strategies_of("alice")]
    assert ids == ["st_alice_0002", "st_alice_0003", "st_alice_0005", "st_alice_0009"]
    assert [doc["id"] for doc in strategies.strategies_of("bob")] == ["st_bob_0001"]


def test_replace_stores_the_new_document_whole(strategies: StrategyStore) -> None:
    strategies.create_strategy(strategy(1), limit=10)
    changed = {**strategy(1), "name": "wider", "legs": CONDOR[:2], "updated_at": ts(60)}
    del changed["note"]  # a key left out is gone: a replacement, not a merge
    assert strategies.replace_strategy("alice", changed) == changed
    assert strategies.strategy("alice", changed["id"]) == changed
    assert strategies.strategies_of("alice") == [changed]
    assert strategies.replace_strategy("alice", strategy(2)) is None  # no such strategy
    assert strategies.strategies_of("alice") == [changed]


@pytest.mark.parametrize(("field", "value"), [("created_at", ts(30)), ("owner", "bob")])
def test_replace_refuses_a_changed_owner_or_creation_time(
    strategies: StrategyStore, field: str, value: str
) -> None:
    strategies.create_strategy(strategy(1), limit=10)
    with pytest.raises(ValueError, match=f"strategy.{field} cannot change"):
        strategies.replace_strategy("alice", {**strategy(1), field: value, "name": "x"})
    assert strategies.strategy("alice", strategy(1)["id"]) == strategy(1)


def test_delete_returns_the_strategy_once(strategies: StrategyStore) -> None:
    strategies.create_strategy(strategy(1), limit=10)
    strategies.create_strategy(strategy(2), limit=10)
    assert strategies.delete_strategy("alice", strategy(1)["id"]) == strategy(1)
    assert strategies.delete_strategy("alice", strategy(1)["id"]) is None
    assert strategies.strategy("alice", strategy(1)["id"]) is None
    assert strategies.strategies_of("alice") == [strategy(2)]


# -- the per-user limit --------------------------------------------------------------


def test_the_limit_holds_per_owner_and_a_deletion_frees_a_slot(strategies: StrategyStore) -> None:
    for n in range(3):
        strategies.create_strategy(strategy(n), limit=3)
    with pytest.raises(StrategyLimitReached) as info:
        strategies.create_strategy(strategy(3), limit=3)
    assert isinstance(info.value, StoreError)
    assert not isinstance(info.value, StoreUnavailable)
    assert len(strategies.strategies_of("alice")) == 3
    assert strategies.strategy("alice", strategy(3)["id"]) is None
    strategies.create_strategy(strategy(0, owner="bob"), limit=3)  # bob's count is his own
    strategies.delete_strategy("alice", strategy(1)["id"])
    strategies.create_strategy(strategy(3), limit=3)
    with pytest.raises(StrategyLimitReached):
        strategies.create_strategy(strategy(4), limit=3)
    strategies.create_strategy(strategy(4), limit=4)  # a raised limit counts what is held
    with pytest.raises(StrategyLimitReached):
        strategies.create_strategy(strategy(5), limit=2)  # a lowered one refuses until below
    with pytest.raises(StrategyLimitReached):
        strategies.create_strategy(strategy(0, owner="carol"), limit=0)
    assert [doc["id"][-1] for doc in strategies.strategies_of("alice")] == ["0", "2", "3", "4"]


def test_a_stored_id_is_a_store_error_and_takes_no_slot(strategies: StrategyStore) -> None:
    strategies.create_strategy(strategy(1), limit=2)
    for doc in (strategy(1, name="again"), {**strategy(1, owner="bob"), "id": strategy(1)["id"]}):
        with pytest.raises(StoreError, match="stored already") as info:
            strategies.create_strategy(doc, limit=2)
        assert not isinstance(info.value, StrategyLimitReached | StoreUnavailable)
    assert strategies.strategies_of("alice") == [strategy(1)]
    assert strategies.strategies_of("bob") == []
    strategies.create_strategy(strategy(2), limit=2)
    strategies.create_strategy(strategy(2, owner="bob"), limit=1)  # bob's failure freed his slot
    with pytest.raises(StrategyLimitReached):
        strategies.create_strategy(strategy(3), limit=2)


def test_concurrent_creations_never_pass_the_limit(strategies: StrategyStore) -> None:
    """8 threads × 4 creations for one owner at once, limit 5: exactly 5 stored."""
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def create(worker: int) -> None:
        start.wait(30)
        for n in range(4):
            try:
                strategies.create_strategy(strategy(worker * 10 + n), limit=5)
                outcomes.append("stored")
            except StrategyLimitReached:
                outcomes.append("refused")
            except BaseException as exc:  # surfaced by the assertion below
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=create, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 27 + ["stored"] * 5
    assert len(strategies.strategies_of("alice")) == 5
    strategies.delete_strategy("alice", strategies.strategies_of("alice")[0]["id"])
    strategies.create_strategy(strategy(99), limit=5)


# -- timing --------------------------------------------------------------------------


def test_every_strategy_operation_but_close_is_timed() -> None:
    port_ops = {n for n, _ in inspect.getmembers(StrategyStore, inspect.isfunction) if n[0] != "_"}
    assert set(TIMED_STRATEGY_OPS) == port_ops - {"close"}
    method = SqliteStrategyStore.create_strategy
    assert (method.__name__, method.__qualname__) == (
        "create_strategy", "SqliteStrategyStore.create_strategy",
    )  # fmt: skip


def test_calls_are_timed_per_op_and_adapter(
    strategies: StrategyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings = itertools.chain.from_iterable((1.0, 1.007) for _ in itertools.count())
    monkeypatch.setattr(timing, "clock", lambda: next(readings))
    adapter = "sqlite" if isinstance(strategies, SqliteStrategyStore) else "mongodb"
    name = "optionsflow_store_call_seconds"

    def count(op: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count", {"op": op, "adapter": adapter}) or 0.0

    def total(op: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_sum", {"op": op, "adapter": adapter}) or 0.0

    before = {op: (count(op), total(op)) for op in ("create_strategy", "strategies_of")}
    strategies.create_strategy(strategy(1), limit=1)
    with pytest.raises(StrategyLimitReached):  # a refused call is timed too
        strategies.create_strategy(strategy(2), limit=1)
    strategies.strategies_of("alice")
    assert count("create_strategy") - before["create_strategy"][0] == 2
    assert total("create_strategy") - before["create_strategy"][1] == pytest.approx(0.014)
    assert count("strategies_of") - before["strategies_of"][0] == 1
