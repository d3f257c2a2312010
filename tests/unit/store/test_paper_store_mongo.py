"""The MongoDB paper repository on mongomock: its indexes and stored shape, and the journal
that makes a write whole without transactions: a writer dying at each step leaves the whole
placement or none of it once anyone touches the account, a lost commit is decided again,
a late roll-forward never overwrites a newer write, errors map to the port's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mongomock
import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError

from paper.documents import OrderState
from store import StoreError, StoreUnavailable
from store.paper import journal as journal_module
from store.paper import mongo as mongo_module
from store.paper import open_paper_store
from store.paper.mongo import MongoPaperStore
from tests.unit.paper.factories import AT, call, clock, dec, put, quote, request, ts
from tests.unit.store.clients import mongomock_client
from tests.unit.store.test_paper_store_contract import RULES, invariant

CALL, PUT = call(24000), put(23000)
LEGS = [request("s1", CALL, "SELL", 75), request("b2", PUT, "BUY", 75)]
QUOTES = [quote(CALL, "119.5", "120.5"), quote(PUT, "79.5", "80.5")]
STEPS = ("before_commit", "after_commit", "after_trades", "after_positions", "after_orders")


class Crash(BaseException):
    """The writer dies here (a BaseException: nothing catches it on the way out)."""


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[mongomock.MongoClient]:
    client = mongomock_client(monkeypatch)
    yield client
    client.close()


def _store(client: mongomock.MongoClient) -> MongoPaperStore:
    store = MongoPaperStore.from_client(client, "optionsflow_test")
    store.rules, store.clock = RULES, clock
    return store


def _raw(client: mongomock.MongoClient, name: str) -> list[dict[str, Any]]:
    return list(client["optionsflow_test"][name].find())


def _crash_at(step: str) -> Any:
    def checkpoint(reached: str) -> None:
        if reached == step:
            raise Crash(step)

    return checkpoint


def test_indexes_are_created(client: mongomock.MongoClient) -> None:
    _store(client)
    db = client["optionsflow_test"]
    orders = db.paper_orders.index_information()
    assert orders["paper_orders_client"]["key"] == [("owner", 1), ("client_order_id", 1)]
    assert orders["paper_orders_client"]["unique"] is True
    assert orders["paper_orders_owner"]["key"] == [("owner", 1), ("created_at", -1), ("id", -1)]
    assert orders["paper_orders_open"]["key"] == [("product", 1), ("open", 1), ("created_at", 1)]
    trades = db.paper_trades.index_information()
    assert trades["paper_trades_owner"]["key"] == [("owner", 1), ("at", -1), ("id", -1)]
    positions = db.paper_positions.index_information()
    assert positions["paper_positions_expiry"]["key"] == [
        ("product", 1), ("expiry", 1), ("open", 1),
    ]  # fmt: skip
    _store(client)  # a second start-up is a no-op


def test_what_a_placement_stores(client: mongomock.MongoClient) -> None:
    placed = _store(client).place("alice", LEGS, QUOTES, at=AT)
    (account,) = _raw(client, "paper_accounts")
    assert (account["_id"], account["seq"], "journal" in account) == ("alice", 1, False)
    # 1,000,000 + 8962.50 − 6037.50 − fees 5.23 (0.75 + 4.48125) and 3.77 (0.75 + 3.01875)
    assert account["wallets"]["INR"]["cash"] == "1002916.00"
    orders = {doc["_id"]: doc for doc in _raw(client, "paper_orders")}
    assert set(orders) == {o.id for o in placed.orders}
    assert {(d["_seq"], d["open"], d["state"]) for d in orders.values()} == {(1, False, "FILLED")}
    (position,) = [d for d in _raw(client, "paper_positions") if d["option_type"] == "CALL"]
    assert position["_id"] == f"5:alice|{CALL.key}"
    assert (position["quantity"], position["open"], position["key"]) == ("-75", True, CALL.key)
    assert {d["_id"] for d in _raw(client, "paper_trades")} == {t.id for t in placed.trades}


@pytest.mark.parametrize("step", STEPS)
def test_a_writer_dying_at_any_step_leaves_all_or_nothing(
    client: mongomock.MongoClient, step: str
) -> None:
    dying = _store(client)
    dying.journal.checkpoint = _crash_at(step)
    with pytest.raises(Crash):
        dying.place("alice", LEGS, QUOTES, at=AT)
    committed = step != "before_commit"
    (account,) = _raw(client, "paper_accounts")
    assert ("journal" in account) is committed  # the journal holds what is still to write
    written = STEPS.index(step)  # what the dying writer wrote of it: a half-applied write
    assert len(_raw(client, "paper_trades")) == (2 if written >= 2 else 0)
    assert len(_raw(client, "paper_positions")) == (2 if written >= 3 else 0)
    assert len(_raw(client, "paper_orders")) == (2 if written >= 4 else 0)
    survivor = _store(client)  # another process, later: the next touch completes it
    orders = survivor.orders("alice")
    assert len(orders) == (2 if committed else 0)
    assert len(survivor.trades("alice")) == len(orders)
    assert len(survivor.positions("alice")) == len(orders)
    assert "journal" not in _raw(client, "paper_accounts")[0]
    assert invariant(survivor)
    again = survivor.place("alice", LEGS, QUOTES, at=ts(5))
    assert again.changed is not committed
    assert [o.state for o in again.orders] == [OrderState.FILLED] * 2
    assert len(survivor.orders("alice")) == 2
    assert len(survivor.trades("alice")) == 2  # one fill per leg, ever
    assert survivor.wallet("alice", "INR").cash == dec("1002916.00")  # debited once
    assert invariant(survivor)


def test_recover_completes_every_pending_journal(client: mongomock.MongoClient) -> None:
    for owner in ("alice", "bob"):
        dying = _store(client)
        dying.journal.checkpoint = _crash_at("after_trades")
        with pytest.raises(Crash):
            dying.place(owner, [request("l1", CALL, "BUY", 75, limit="100")], QUOTES[:1], at=AT)
    survivor = _store(client)
    assert survivor.recover() == 2
    assert survivor.recover() == 0
    assert [o.owner for o in survivor.open_limit_orders("NIFTY")] == ["alice", "bob"]


def test_open_limit_orders_complete_a_pending_journal_first(client: mongomock.MongoClient) -> None:
    dying = _store(client)
    dying.journal.checkpoint = _crash_at("after_positions")
    with pytest.raises(Crash):
        dying.place("alice", [request("l1", CALL, "BUY", 75, limit="100")], QUOTES[:1], at=AT)
    assert [o.client_order_id for o in _store(client).open_limit_orders("NIFTY")] == ["l1"]


def test_a_lost_commit_is_decided_again_on_the_new_state(client: mongomock.MongoClient) -> None:
    first, other = _store(client), _store(client)
    sleeps: list[float] = []
    first.journal.sleep = sleeps.append
    interloped = []

    def interlope(step: str) -> None:
        if step == "before_commit" and not interloped:  # another write commits in between
            interloped.append(other.place("alice", [request("x1", PUT, "SELL", 75)], QUOTES[1:]))

    first.journal.checkpoint = interlope
    placed = first.place("alice", [request("c1", CALL, "SELL", 75)], QUOTES[:1], at=AT)
    assert placed.changed
    assert len(sleeps) == 1  # one lost commit, one backoff
    assert 0 <= sleeps[0] <= 0.0005
    wallet = first.wallet("alice", "INR")
    assert wallet.margin_used == dec("468750.00")  # both shorts' margins: nothing overwritten
    assert wallet.cash == dec("1014916.04")  # + 8962.50 − 5.23 + 5962.50 − 3.73
    assert len(first.trades("alice")) == 2
    assert invariant(first)


def test_the_same_client_order_id_losing_a_commit_finds_the_winners_order(
    client: mongomock.MongoClient,
) -> None:
    first, other = _store(client), _store(client)
    first.journal.sleep = lambda _: None
    interloped = []

    def interlope(step: str) -> None:
        if step == "before_commit" and not interloped:
            interloped.append(other.place("alice", LEGS[:1], QUOTES[:1], at=ts(1)))

    first.journal.checkpoint = interlope
    again = first.place("alice", LEGS[:1], QUOTES[:1], at=AT)
    assert not again.changed
    assert again.orders == interloped[0].orders  # the winner's, placed at ts(1)
    assert len(first.trades("alice")) == 1


def test_a_late_roll_forward_never_overwrites_a_newer_write(client: mongomock.MongoClient) -> None:
    dying = _store(client)
    dying.journal.checkpoint = _crash_at("after_commit")
    with pytest.raises(Crash):
        dying.place("alice", [request("c1", CALL, "SELL", 75)], QUOTES[:1], at=AT)
    stale = _raw(client, "paper_accounts")[0]["journal"]  # what the slow writer still holds
    survivor = _store(client)
    survivor.place("alice", [request("c2", CALL, "SELL", 25)], QUOTES[:1], at=ts(1))
    assert survivor.positions("alice")[0].quantity == -100
    dying.journal.checkpoint = lambda step: None
    dying.journal._roll_forward("alice", stale)  # the slow writer wakes up and finishes
    assert survivor.positions("alice")[0].quantity == -100  # not −75
    assert [o.client_order_id for o in survivor.orders("alice")] == ["c2", "c1"]
    assert survivor.wallet("alice", "INR").margin_used == dec("314500.00")  # 3145 × 100
    assert invariant(survivor)


def test_commits_lost_over_and_over_give_up_unavailable(
    client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "MAX_ATTEMPTS", 3)
    store = _store(client)
    store.journal.sleep = lambda _: None
    accounts = client["optionsflow_test"].paper_accounts

    def bump(step: str) -> None:
        if step == "before_commit":
            accounts.update_one({"_id": "alice"}, {"$inc": {"seq": 1}})

    store.journal.checkpoint = bump
    with pytest.raises(StoreUnavailable, match="'alice': 3 commits lost"):
        store.place("alice", LEGS, QUOTES, at=AT)
    store.journal.checkpoint = lambda step: None
    assert store.orders("alice") == []
    assert _raw(client, "paper_accounts")[0]["seq"] == 3


def test_a_lost_connection_is_unavailable(
    client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(client)

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise AutoReconnect("connection reset")

    monkeypatch.setattr(mongomock.collection.Collection, "update_one", lost)
    with pytest.raises(StoreUnavailable, match="connection reset"):
        store.place("alice", LEGS, QUOTES, at=AT)
    monkeypatch.setattr(mongomock.collection.Collection, "find_one", lost)
    with pytest.raises(StoreUnavailable):
        store.orders("alice")


def test_open_paper_store_opens_mongodb(monkeypatch: pytest.MonkeyPatch) -> None:
    mongomock_client(monkeypatch)  # its patch of the bulk builder
    monkeypatch.setattr(mongo_module, "MongoClient", mongomock.MongoClient)
    monkeypatch.setattr("store.mongodb.MongoClient", mongomock.MongoClient)
    store = open_paper_store("mongodb://localhost:27017/papertest", RULES)
    assert isinstance(store, MongoPaperStore)
    assert store.database_name == "papertest"
    assert store.rules is RULES
    assert store.wallet("alice", "INR").cash == dec("1000000.00")
    store.close()


def test_the_unique_client_order_id_index_is_the_last_line(client: mongomock.MongoClient) -> None:
    """Were another order to reach the client order id between the commit and the
    roll-forward (another id: a bug), the roll-forward fails loudly and the journal stays,
    rather than two orders standing."""
    store = _store(client)
    orders = client["optionsflow_test"].paper_orders

    def intrude(step: str) -> None:
        if step == "after_commit":
            orders.insert_one({"_id": "po_intruder", "owner": "alice", "client_order_id": "s1"})

    store.journal.checkpoint = intrude
    with pytest.raises(StoreError, match="paper_orders"):
        store.place("alice", LEGS[:1], QUOTES[:1], at=AT)
    assert "journal" in _raw(client, "paper_accounts")[0]
    assert [d["_id"] for d in _raw(client, "paper_orders")] == ["po_intruder"]


def test_a_concurrent_first_use_of_an_account_is_not_an_error(
    client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MongoDB may answer one of two simultaneous upserts of a new _id with a duplicate key:
    the other created the account, which is what was wanted."""
    store = _store(client)
    real = mongomock.collection.Collection.update_one

    def raced(self: Any, spec: Any, update: Any, *args: Any, **kwargs: Any) -> Any:
        if "$setOnInsert" in update:
            real(self, spec, update, *args, **kwargs)  # the other creation
            raise DuplicateKeyError("E11000 duplicate key error")
        return real(self, spec, update, *args, **kwargs)

    monkeypatch.setattr(mongomock.collection.Collection, "update_one", raced)
    assert store.place("alice", LEGS, QUOTES, at=AT).changed
    assert _raw(client, "paper_accounts")[0]["seq"] == 1
