"""The paper repository contract, run on SQLite, mongomock and (with MONGO_URL) a live
MongoDB: a placement written whole, idempotent on the client order id (again, in a basket,
from 8 threads), cash never spent twice by concurrent orders, resting fills idempotent per
market timestamp, cancels, settlement, the account's invariant, keyset pages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import mongomock
import pytest

from paper.checks import OrderError
from paper.documents import OrderState, Quote, Side, TradeKind
from paper.ids import order_id
from paper.rules import AccountRules
from store.paper import MAX_PAGE, ClientOrderIdConflict, PaperStore
from store.paper.mongo import MongoPaperStore
from store.paper.sqlite import SqlitePaperStore
from tests.unit.paper.factories import (
    AT,
    call,
    clock,
    dec,
    future,
    invariant_holds,
    put,
    quote,
    request,
    ts,
)
from tests.unit.store.clients import live_mongo, mongomock_client

RULES = AccountRules(
    start_cash={"INR": dec(1_000_000), "USD": dec(100_000)},
    fee_per_unit={"INR": dec("0.01")},
    fee_rate=dec("0.0005"),
)
CALL, PUT = call(24000), put(23000)
CALL_QUOTE = quote(CALL, "119.5", "120.5")
PUT_QUOTE = quote(PUT, "79.5", "80.5")
_CALLS = ("find", "find_one", "insert_one", "insert_many", "update_one", "replace_one")


def serialised(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each mongomock call runs alone, as one MongoDB operation on one document is atomic
    (mongomock's are Python loops that threads interleave); ``find`` is read whole inside
    it. A thread switch is invited before each, so concurrent writers do interleave."""
    lock = threading.RLock()
    for name in _CALLS:
        method = getattr(mongomock.collection.Collection, name)

        def locked(
            *args: Any, __method: Callable[..., Any] = method, __name: str = name, **kwargs: Any
        ) -> Any:
            time.sleep(0)
            with lock:
                found = __method(*args, **kwargs)
                return iter(list(found)) if __name == "find" else found

        monkeypatch.setattr(mongomock.collection.Collection, name, locked)


@pytest.fixture(params=["sqlite", "mongomock", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def paper(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[PaperStore]:
    """A fresh, empty paper repository of each adapter, under :data:`RULES`."""
    if request.param == "sqlite":
        store = SqlitePaperStore(
            tmp_path_factory.mktemp("paper") / "optionsflow.db", RULES, clock=clock
        )
        yield store
        store.close()
    elif request.param == "mongomock":
        client = mongomock_client(monkeypatch)
        serialised(monkeypatch)
        mongo = MongoPaperStore.from_client(client, "optionsflow_test")
        mongo.rules, mongo.clock = RULES, clock
        yield mongo
        client.close()
    else:
        for live in live_mongo(MongoPaperStore.from_client):
            live.rules, live.clock = RULES, clock
            yield live


def invariant(paper: PaperStore, owner: str = "alice", currency: str = "INR") -> bool:
    held = [p for p in paper.positions(owner, include_closed=True) if p.currency == currency]
    return invariant_holds(paper.wallet(owner, currency), held)


# -- placement -------------------------------------------------------------------------


def test_satisfies_the_port(paper: PaperStore) -> None:
    assert isinstance(paper, PaperStore)
    paper.ping()
    assert MAX_PAGE == 500


def test_a_placement_is_stored_whole(paper: PaperStore) -> None:
    done = paper.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    assert done.changed
    (order,) = done.orders
    (trade,) = done.trades
    assert (order.id, order.state, order.average_price) == (
        order_id("alice", "c1"), OrderState.FILLED, dec("120.5"),
    )  # fmt: skip
    assert (trade.price, trade.notional, trade.fee) == (dec("120.5"), dec("9037.50"), dec("5.27"))
    assert paper.order("alice", order.id) == order
    assert paper.orders("alice") == [order]
    assert paper.trades("alice") == [trade]
    (held,) = paper.positions("alice")
    assert (held.quantity, held.cost, held.average_cost) == (75, dec("9037.50"), dec("120.5"))
    wallet = paper.wallet("alice", "INR")
    assert (wallet.cash, wallet.fees, wallet.margin_used) == (dec("990957.23"), dec("5.27"), 0)
    assert str(wallet.cash) == "990957.23"
    assert (done.positions, done.wallet) == ((held,), wallet)  # as written: nothing to re-read
    assert invariant(paper)


def test_the_same_client_order_id_again_returns_the_stored_order(paper: PaperStore) -> None:
    first = paper.place("alice", [request("c1", CALL, "SELL", 75)], [CALL_QUOTE], at=AT)
    bigger = request("c1", CALL, "BUY", 150)  # another body, the same id: the stored order
    again = paper.place("alice", [bigger], [quote(CALL, "1", "2", at=ts(5))], at=ts(5))
    assert not again.changed
    assert (again.orders, again.trades) == (first.orders, first.trades)
    assert (again.positions, again.wallet) == ((), None)  # a replay changed nothing
    assert len(paper.trades("alice")) == 1
    assert paper.wallet("alice", "INR").cash == dec(
        "1008957.27"
    )  # credited once (8962.50 − 5.23 fee)
    other = paper.place("bob", [request("c1", CALL, "BUY", 1)], [CALL_QUOTE], at=AT)
    assert other.changed  # ids are per owner
    assert other.orders[0].id != first.orders[0].id


def test_a_rejected_order_is_stored_and_replayed_as_it_is(paper: PaperStore) -> None:
    refused = paper.place("alice", [request("c1", CALL, "BUY", 75)], [quote(CALL, "1", None)])
    assert refused.orders[0].state is OrderState.REJECTED
    again = paper.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE])
    assert (again.changed, again.orders) == (False, refused.orders)
    assert paper.orders("alice", OrderState.REJECTED) == list(refused.orders)
    assert paper.trades("alice") == []


def test_a_basket_is_one_write_and_is_replayed_whole(paper: PaperStore) -> None:
    legs = [request("s1", CALL, "SELL", 75), request("s2", PUT, "SELL", 75)]
    placed = paper.place("alice", legs, [CALL_QUOTE, PUT_QUOTE], at=AT)
    assert [o.state for o in placed.orders] == [OrderState.FILLED] * 2
    again = paper.place("alice", legs, [CALL_QUOTE, PUT_QUOTE], at=ts(1))
    assert (again.changed, again.orders, sorted(again.trades, key=lambda t: t.id)) == (
        False, placed.orders, sorted(placed.trades, key=lambda t: t.id),
    )  # fmt: skip
    assert paper.wallet("alice", "INR").margin_used == dec("468750.00")
    mixed = [request("s1", CALL, "SELL", 75), request("s3", PUT, "SELL", 75)]
    with pytest.raises(ClientOrderIdConflict, match="'s1' belongs to another placement"):
        paper.place("alice", mixed, [CALL_QUOTE, PUT_QUOTE])
    reordered = [request("s2", PUT, "SELL", 75), request("s1", CALL, "SELL", 75)]
    with pytest.raises(ClientOrderIdConflict):  # a basket is named by its first leg
        paper.place("alice", reordered, [CALL_QUOTE, PUT_QUOTE])
    assert len(paper.orders("alice")) == 2
    assert len(paper.trades("alice")) == 2
    assert invariant(paper)


def test_an_unfillable_basket_writes_its_rejected_legs_only(paper: PaperStore) -> None:
    legs = [request("s1", CALL, "SELL", 75), request("b2", PUT, "BUY", 75)]
    placed = paper.place("alice", legs, [CALL_QUOTE, quote(PUT, "79.5", None)], at=AT)
    assert {o.reason for o in placed.orders} == {
        "leg 2 (NIFTY 2026-12-31 23000 PUT BUY): no ask for NIFTY 2026-12-31 23000 PUT"
    }
    assert [o.state for o in paper.orders("alice")] == [OrderState.REJECTED] * 2
    assert (paper.trades("alice"), paper.positions("alice")) == ([], [])
    assert paper.wallet("alice", "INR").cash == dec("1000000.00")


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda p: p.place("", [request("c1", CALL, "BUY", 1)], [CALL_QUOTE]), "owner",
         "owner: must be a non-empty string"),
        (lambda p: p.place("alice", [request("c 1", CALL, "BUY", 1)], [CALL_QUOTE]),
         "client_order_id", "client_order_id: 1 to 64 of"),
        (lambda p: p.place("alice", [request("c1", CALL, "BUY", 0)], [CALL_QUOTE]), "quantity",
         "quantity: must be above 0"),
        (lambda p: p.place("alice", [request("c1", CALL, "BUY", 1)], CALL_QUOTE), "quotes",
         "quotes: a list of quotes"),
        (lambda p: p.place("alice", [request("c1", CALL, "BUY", 1)],
                           [CALL_QUOTE, quote(PUT, "-1", "2")]), "quotes[1].bid",
         r"quotes\[1\]\.bid: must be above 0"),
        (lambda p: p.place("alice", [request("c1", CALL, "BUY", 1)], [CALL_QUOTE], at="now"), "at",
         "at: timestamp must look like"),
        (lambda p: p.wallet("alice", "rupees"), "currency", "currency: an ISO 4217 code"),
        (lambda p: p.orders("alice", "OPEN"), None, "state must be one of NEW, PARTIALLY_FILLED"),
        (lambda p: p.trades("alice", limit=MAX_PAGE + 1), None, "limit must be an integer in"),
        (lambda p: p.trades("alice", before=("x",)), None, r"before must be \(instant, id\)"),
    ],
)  # fmt: skip
def test_bad_arguments_write_nothing(
    paper: PaperStore, call: Callable[[PaperStore], object], field: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        call(paper)
    if field is not None:
        assert isinstance(caught.value, OrderError)
        assert caught.value.field == field
    assert paper.orders("alice") == []
    assert paper.wallets("alice") == []


# -- wallets, positions, owners --------------------------------------------------------


def test_a_wallet_is_created_with_the_starting_cash_on_first_use(paper: PaperStore) -> None:
    assert paper.wallets("alice") == []
    usd = paper.wallet("alice", "USD", at=ts(3))
    assert (usd.cash, usd.start_cash, usd.margin_used, usd.updated_at) == (
        dec(100_000), dec(100_000), 0, ts(3),
    )  # fmt: skip
    assert paper.wallet("alice", "USD", at=ts(9)) == usd  # created once
    assert paper.wallet("alice", "EUR").cash == 0  # no starting cash configured
    assert [w.currency for w in paper.wallets("alice")] == ["EUR", "USD"]
    btc = call(100000, product="BTC")
    paper.place("alice", [request("b1", btc, "BUY", "0.1", currency="USD")],
                [quote(btc, "1200", "1234.5678")], at=AT)  # fmt: skip
    assert paper.wallet("alice", "USD").cash == dec("99876.48")  # 100,000 − 123.46 − 0.06 fee
    assert paper.wallet("alice", "INR").cash == dec("1000000.00")
    assert invariant(paper, currency="USD")


def test_another_owners_account_is_out_of_reach(paper: PaperStore) -> None:
    mine = paper.place("alice", [request("c1", CALL, "BUY", 75, limit="100")], [CALL_QUOTE])
    paper.place("bob", [request("c9", PUT, "BUY", 75)], [PUT_QUOTE])
    order = mine.orders[0]
    assert paper.order("bob", order.id) is None
    assert paper.cancel("bob", order.id) is None
    assert [o.client_order_id for o in paper.orders("bob")] == ["c9"]
    assert [p.key for p in paper.positions("bob")] == [PUT.key]
    assert paper.positions("alice") == []
    assert paper.order("alice", order.id) == order


def test_positions_keep_their_realised_pnl_once_closed(paper: PaperStore) -> None:
    paper.place("alice", [request("o1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    paper.place("alice", [request("o2", future(), "SELL", 2)],
                [quote(future(), "23490", "23510", underlying="23500")], at=ts(1))  # fmt: skip
    paper.place("alice", [request("c1", CALL, "SELL", 75)], [quote(CALL, "130", "131", at=ts(2))],
                at=ts(2))  # fmt: skip
    assert [p.key for p in paper.positions("alice")] == [future().key]
    closed = {p.key: p for p in paper.positions("alice", include_closed=True)}
    assert closed[CALL.key].quantity == 0
    assert closed[CALL.key].realized_pnl == dec("712.50")  # 75 × 130 − 9037.50
    assert closed[future().key].margin == dec("9400.00")  # 20 % of 23,500 × 2
    wallet = paper.wallet("alice", "INR")
    assert (wallet.realized_pnl, wallet.margin_used) == (dec("712.50"), dec("9400.00"))
    assert invariant(paper)


# -- resting orders, cancels, settlement -----------------------------------------------


def test_a_resting_order_fills_once_per_market_timestamp(paper: PaperStore) -> None:
    placed = paper.place("alice", [request("l1", CALL, "BUY", 75, limit="118")], [CALL_QUOTE])
    resting = placed.orders[0]
    assert (resting.state, placed.trades) == (OrderState.NEW, ())
    assert paper.open_limit_orders("NIFTY") == [resting]
    assert paper.open_limit_orders("BANKNIFTY") == []
    stale = paper.fill_resting(resting.id, quote(CALL, "116", "117"), at=ts(1))  # placed on AT
    assert stale is not None
    assert (stale.changed, stale.orders, stale.trades) == (False, (resting,), ())
    crossed = quote(CALL, "116", "117", at=ts(2), ask_size="50")
    first = paper.fill_resting(resting.id, crossed, at=ts(3))
    assert first is not None
    assert first.changed
    assert (first.orders[0].state, first.orders[0].filled_quantity) == (
        OrderState.PARTIALLY_FILLED, 50,
    )  # fmt: skip
    assert first.positions == tuple(paper.positions("alice"))
    assert first.wallet == paper.wallet("alice", "INR")
    repeated = paper.fill_resting(resting.id, crossed, at=ts(4))  # a retried worker task
    assert repeated is not None
    assert (repeated.changed, repeated.trades) == (False, ())
    assert (repeated.positions, repeated.wallet) == ((), None)
    rest = paper.fill_resting(resting.id, quote(CALL, "115", "116", at=ts(5)), at=ts(5))
    assert rest is not None
    assert rest.orders[0].state is OrderState.FILLED
    assert [t.id for t in paper.trades("alice")] == [f"{resting.id}.000002", f"{resting.id}.000001"]
    assert paper.open_limit_orders("NIFTY") == []
    assert paper.fill_resting("po_nonesuch", crossed) is None
    with pytest.raises(ValueError, match="quote of NIFTY 2026-12-31 23000 PUT"):
        paper.fill_resting(resting.id, quote(PUT, "1", "2", at=ts(9)))
    # 50 × 117 + fee 3.42 (0.50 + 2.925, half to even), 25 × 116 + fee 1.70 (0.25 + 1.45)
    assert paper.wallet("alice", "INR").cash == dec("991244.88")
    assert invariant(paper)


def test_cancel_an_open_order(paper: PaperStore) -> None:
    placed = paper.place("alice", [request("l1", CALL, "BUY", 75, limit="100")], [CALL_QUOTE])
    cancelled = paper.cancel("alice", placed.orders[0].id, at=ts(7))
    assert cancelled is not None
    assert (cancelled.state, cancelled.reason, cancelled.updated_at) == (
        OrderState.CANCELLED, "cancelled by its owner", ts(7),
    )  # fmt: skip
    assert paper.cancel("alice", placed.orders[0].id, at=ts(8)) == cancelled  # as it is
    assert paper.open_limit_orders("NIFTY") == []
    late = paper.fill_resting(cancelled.id, quote(CALL, "1", "2", at=ts(9)))
    assert late is not None
    assert (late.changed, late.orders) == (False, (cancelled,))
    assert paper.orders("alice", OrderState.CANCELLED) == [cancelled]
    assert paper.cancel("alice", "po_nonesuch") is None


def test_settlement_closes_every_owners_expiring_positions_once(paper: PaperStore) -> None:
    paper.place("alice", [request("a1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    paper.place("alice", [request("a2", call(24000, expiry="2027-01-28"), "BUY", 75)],
                [quote(call(24000, expiry="2027-01-28"), "300", "301")], at=AT)  # fmt: skip
    paper.place("bob", [request("b1", PUT, "SELL", 75)], [PUT_QUOTE], at=AT)
    paper.place("bob", [request("b2", call(25000), "BUY", 75, limit="1")],
                [quote(call(25000), "2", "3")], at=AT)  # fmt: skip
    assert paper.settle("NIFTY", "2026-12-31", dec(22500), at=ts(60)) == 2
    assert paper.settle("NIFTY", "2026-12-31", dec(22500), at=ts(61)) == 0  # done before
    alice = {t.kind: t for t in paper.trades("alice")}
    assert (alice[TradeKind.SETTLEMENT].price, alice[TradeKind.SETTLEMENT].realized_pnl) == (
        0, dec("-9037.50"),
    )  # fmt: skip
    (settled,) = [t for t in paper.trades("bob") if t.kind is TradeKind.SETTLEMENT]
    assert (settled.side, settled.price, settled.realized_pnl) == (
        Side.BUY, 500, dec("-31537.50"),
    )  # fmt: skip
    assert [p.expiry for p in paper.positions("alice")] == ["2027-01-28"]
    assert paper.positions("bob") == []
    assert paper.wallet("bob", "INR").margin_used == 0
    (expired,) = paper.orders("bob", OrderState.CANCELLED)
    assert (expired.client_order_id, expired.reason) == ("b2", "expired")
    assert invariant(paper, "alice")
    assert invariant(paper, "bob")


# -- pages ---------------------------------------------------------------------------


def test_orders_and_trades_page_newest_first(paper: PaperStore) -> None:
    times = [("t1", 10), ("t2", 20), ("t3", 20), ("t4", 20), ("t5", 30), ("t0", 5)]
    ids = {}
    for client, seconds in times:
        at = ts(seconds)
        legs, quotes = [request(client, CALL, "BUY", 1)], [quote(CALL, "1", "2", at=at)]
        done = paper.place("alice", legs, quotes, at=at)
        ids[client] = done.orders[0].id
    paper.place("bob", [request("x", CALL, "BUY", 1)], [CALL_QUOTE], at=ts(25))
    tied = sorted(["t2", "t3", "t4"], key=lambda c: ids[c], reverse=True)
    expected = ["t5", *tied, "t1", "t0"]
    assert [o.client_order_id for o in paper.orders("alice")] == expected
    assert [t.client_order_id for t in paper.trades("alice")] == expected
    for read in (paper.orders, paper.trades):
        pages: list[list[str]] = []
        before: tuple[str, str] | None = None
        while page := read("alice", limit=2, before=before):  # type: ignore[operator]
            pages.append([row.client_order_id for row in page])
            last = page[-1]
            before = (getattr(last, "created_at", None) or last.at, last.id)
        assert pages == [expected[0:2], expected[2:4], expected[4:6]]  # a boundary in the tie
    assert paper.orders("alice", OrderState.NEW) == []
    assert len(paper.orders("alice", OrderState.FILLED, limit=3)) == 3


# -- concurrency -----------------------------------------------------------------------


def _at_once(count: int, action: Callable[[int], object]) -> list[object]:
    """``action(n)`` from ``count`` threads released together; each one's answer or error."""
    start = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(n: int) -> None:
        start.wait(30)
        try:
            results[n] = action(n)
        except BaseException as exc:  # surfaced by the caller's assertions
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_the_same_client_order_id_from_8_threads_is_one_order_and_one_fill(
    paper: PaperStore,
) -> None:
    def place(_: int) -> object:
        return paper.place("alice", [request("same", CALL, "SELL", 75)], [CALL_QUOTE], at=AT)

    outcomes = _at_once(8, place)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sum(o.changed for o in outcomes) == 1  # type: ignore[attr-defined]
    assert len({o.orders for o in outcomes}) == 1  # type: ignore[attr-defined]
    assert len(paper.orders("alice")) == 1
    assert len(paper.trades("alice")) == 1
    assert paper.wallet("alice", "INR").cash == dec(
        "1008957.27"
    )  # credited once (8962.50 − 5.23 fee)
    assert invariant(paper)


def test_concurrent_orders_never_spend_the_cash_twice(paper: PaperStore) -> None:
    paper.rules = AccountRules(start_cash={"INR": dec(50_000)})
    try:
        # each order costs 75 × 120.5 = 9037.50: five fit in 50,000, the sixth does not
        outcomes = _at_once(
            8, lambda n: paper.place("alice", [request(f"o{n}", CALL, "BUY", 75)], [CALL_QUOTE])
        )
    finally:
        paper.rules = RULES
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    states = sorted(o.orders[0].state for o in outcomes)  # type: ignore[attr-defined]
    assert states == [OrderState.FILLED] * 5 + [OrderState.REJECTED] * 3
    wallet = paper.wallet("alice", "INR")
    assert wallet.cash == dec("4812.50")  # 50,000 − 5 × 9037.50
    assert sum(t.notional for t in paper.trades("alice")) == dec("45187.50")
    assert paper.positions("alice")[0].quantity == 375
    assert invariant(paper)


def test_amounts_read_back_exactly(paper: PaperStore) -> None:
    btc = call("100000.5", product="BTC")
    tiny = quote(btc, "0.00000001", "1", underlying="99999.99999999")
    placed = paper.place("alice", [request("f1", btc, "SELL", "0.10", currency="USD")], [tiny])
    (stored,) = paper.orders("alice")
    assert stored == placed.orders[0]
    assert (str(stored.quantity), str(stored.strike)) == ("0.10", "100000.5")
    assert isinstance(paper.positions("alice")[0].margin, Decimal)
    # (0.500000005 + 15 % of 99999.99999999 − 0.50000001 OTM) × 0.1 = 1499.99999999935, up
    assert paper.positions("alice")[0].margin == dec("1500.00")
    assert paper.trades("alice")[0].price == dec("0.00000001")


def test_a_quote_object_is_a_quote(paper: PaperStore) -> None:
    assert isinstance(CALL_QUOTE, Quote)
    with pytest.raises(OrderError):
        paper.fill_resting("po_x", "not a quote")  # type: ignore[arg-type]
