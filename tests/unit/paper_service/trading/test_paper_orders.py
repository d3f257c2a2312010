"""POST /paper/orders, /paper/baskets, /paper/strategies/<id>/place; GET and DELETE of
orders: fills at the quote (hand-computed), idempotency, resting limits and the version
token, cancels, baskets all or none, stale chains, owners, 404s, 409s and 422s naming the
field, events."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from common.names import paper_version_key
from paper.ids import order_id
from store.paper.sqlite import SqlitePaperStore
from tests.unit.paper_service.conftest import Clock, cache, call
from tests.unit.paper_service.fakes import MemoryStrategyStore
from tests.unit.paper_service.trading.conftest import Emitted, order, quoted

pytestmark = pytest.mark.redis


def test_a_market_buy_fills_at_the_ask(
    client: FlaskClient, chain: dict[str, Any], emitted: Emitted
) -> None:
    status, body = call(client, "POST", "/paper/orders", body=order("b1"))
    assert status == 201, body
    assert body["id"] == order_id("u1", "b1")
    assert (body["state"], body["reason"], body["currency"]) == ("FILLED", None, "INR")
    assert (body["filled_quantity"], body["average_price"]) == ("75", "120.50000000")
    [fill] = body["fills"]
    # 75 × 120.50 = 9037.50; fee 0.05 % = 4.51875 → 4.52
    assert (fill["price"], fill["quantity"], fill["notional"], fill["fee"]) == (
        "120.5", "75", "9037.50", "4.52")  # fmt: skip
    assert (fill["order_id"], fill["client_order_id"]) == (body["id"], "b1")
    assert fill["market_ts"] == chain["timestamp"]
    assert emitted.names() == ["order_update", "position_update", "account_update"]
    assert {room for _, _, room in emitted.events} == {"user:u1"}
    assert emitted.events[2][1]["cash"] == "990957.98"  # 1,000,000 − 9037.50 − 4.52


def test_each_order_fills_at_the_chain_cached_when_it_comes(
    client: FlaskClient, chain: dict[str, Any], redis_client: redis.Redis
) -> None:
    """The service keeps the last parsed chain per (product, expiry): a new chain under
    the same key is the one the next order fills at, never the one parsed before."""
    status, first = call(client, "POST", "/paper/orders", body=order("q1"))
    assert (status, first["average_price"]) == (201, "120.50000000")
    quoted(chain, "CALL", 24_000, 121.0, 122.25)
    cache(redis_client, chain)
    status, second = call(client, "POST", "/paper/orders", body=order("q2"))
    assert (status, second["average_price"]) == (201, "122.25000000")
    status, third = call(client, "POST", "/paper/orders", body=order("q3", side="SELL"))
    assert (status, third["average_price"]) == (201, "121.00000000")


def test_a_market_sell_fills_at_the_bid_and_blocks_the_short_puts_margin(
    client: FlaskClient, chain: dict[str, Any]
) -> None:
    status, body = call(client, "POST", "/paper/orders",
                        body=order("s1", "PUT", 23_500, "SELL"))  # fmt: skip
    assert status == 201, body
    assert (body["state"], body["average_price"]) == ("FILLED", "79.50000000")
    assert (body["fills"][0]["notional"], body["fills"][0]["fee"]) == ("5962.50", "2.98")
    status, page = call(client, "GET", "/paper/account")
    [account] = page["accounts"]
    # margin per unit: max(80 + 15 %·24,010 − (24,010 − 23,500), 80 + 10 %·24,010)
    #                = max(3171.5, 2481) → × 75 = 237,862.50
    assert account == {
        "currency": "INR", "cash": "1005959.52", "margin_used": "237862.50",
        "free": "768097.02", "equity": "999959.52", "realized_pnl": "0.00",
        "unrealized_pnl": "-37.50", "fees": "2.98",
    }  # fmt: skip


def test_the_same_client_order_id_twice_is_one_order_and_one_fill(
    client: FlaskClient, chain: dict[str, Any], paper_store: SqlitePaperStore, emitted: Emitted
) -> None:
    first = call(client, "POST", "/paper/orders", body=order("same"))
    again = call(client, "POST", "/paper/orders", body=order("same", quantity="75.0"))
    assert (first[0], again[0]) == (201, 200)
    assert again[1] == first[1]  # the same order and its fills
    assert len(paper_store.trades("u1")) == 1
    assert len(emitted.events) == 3  # the replay announces nothing


def test_a_stored_client_order_id_with_another_body_is_a_conflict(
    client: FlaskClient, chain: dict[str, Any], paper_store: SqlitePaperStore
) -> None:
    assert call(client, "POST", "/paper/orders", body=order("c1"))[0] == 201
    status, body = call(client, "POST", "/paper/orders", body=order("c1", quantity=150))
    assert status == 409
    assert body["error"]["code"] == "client_order_id_conflict"
    assert [o.quantity for o in paper_store.orders("u1")] == [75]


def test_a_limit_order_rests_sets_the_version_token_and_is_cancelled(
    client: FlaskClient, chain: dict[str, Any], redis_client: redis.Redis, emitted: Emitted
) -> None:
    key = paper_version_key("NIFTY")
    status, body = call(client, "POST", "/paper/orders",
                        body=order("l1", type="LIMIT", limit_price="100"))  # fmt: skip
    assert status == 201, body
    assert (body["state"], body["fills"], body["limit_price"]) == ("NEW", [], "100")
    token = redis_client.get(key)
    assert token is not None
    assert emitted.names() == ["order_update"]
    status, listed = call(client, "GET", "/paper/orders?state=NEW")
    assert [o["id"] for o in listed["orders"]] == [body["id"]]
    status, cancelled = call(client, "DELETE", f"/paper/orders/{body['id']}")
    assert (status, cancelled["state"]) == (200, "CANCELLED")
    assert redis_client.get(key) not in (None, token)
    assert emitted.names()[-1] == "order_update"
    status, again = call(client, "DELETE", f"/paper/orders/{body['id']}")
    assert (status, again["error"]["code"]) == (409, "order_not_open")
    assert call(client, "GET", "/paper/orders?state=NEW")[1]["orders"] == []


def test_a_crossed_limit_fills_at_the_ask_and_a_filled_order_cannot_be_cancelled(
    client: FlaskClient, chain: dict[str, Any]
) -> None:
    status, body = call(client, "POST", "/paper/orders",
                        body=order("l2", type="LIMIT", limit_price=125))  # fmt: skip
    assert (status, body["state"], body["average_price"]) == (201, "FILLED", "120.50000000")
    assert call(client, "DELETE", f"/paper/orders/{body['id']}")[0] == 409


def test_a_basket_fills_every_leg(client: FlaskClient, chain: dict[str, Any]) -> None:
    legs = [order("x"), order("y", "PUT", 23_500, "SELL")]
    for leg in legs:
        del leg["client_order_id"]  # named by the prefix
    status, body = call(client, "POST", "/paper/baskets",
                        body={"client_order_id_prefix": "bk", "legs": legs})  # fmt: skip
    assert status == 201, body
    orders = body["orders"]
    assert [o["client_order_id"] for o in orders] == ["bk-1", "bk-2"]
    assert [o["state"] for o in orders] == ["FILLED", "FILLED"]
    assert [o["fills"][0]["price"] for o in orders] == ["120.5", "79.5"]
    assert orders[0]["basket_id"] == orders[1]["basket_id"] is not None
    again = call(client, "POST", "/paper/baskets", body={"client_order_id_prefix": "bk",
                                                         "legs": legs})  # fmt: skip
    assert again == (200, body)


def test_a_basket_with_an_unaffordable_leg_fills_nothing(
    client: FlaskClient, chain: dict[str, Any], paper_store: SqlitePaperStore
) -> None:
    legs = [order("a1"), order("a2", "PUT", 23_500, "SELL", quantity=7500)]
    status, body = call(client, "POST", "/paper/baskets", body={"legs": legs})
    assert status == 201, body
    assert [o["state"] for o in body["orders"]] == ["REJECTED", "REJECTED"]
    assert body["orders"][0]["reason"].startswith("insufficient buying power: the basket needs")
    assert [o["fills"] for o in body["orders"]] == [[], []]
    assert paper_store.trades("u1") == []
    assert paper_store.wallet("u1", "INR").cash == 1_000_000


def test_a_stale_chain_fills_nothing(
    client: FlaskClient, chain: dict[str, Any], clock: Clock, paper_store: SqlitePaperStore
) -> None:
    clock.advance(60)  # NIFTY is stale after 5 s
    status, body = call(client, "POST", "/paper/orders", body=order("m1"))
    assert (status, body["error"]["code"]) == (409, "stale_market")
    assert "stale (61 s old, limit 5 s)" in body["error"]["fields"]["expiry"][0]
    assert paper_store.orders("u1") == []
    status, body = call(client, "POST", "/paper/orders",
                        body=order("l1", type="LIMIT", limit_price=125))  # fmt: skip
    assert (status, body["state"], body["fills"]) == (201, "NEW", [])  # it rests, unfilled


def test_another_users_order_is_not_found(client: FlaskClient, chain: dict[str, Any]) -> None:
    _, body = call(client, "POST", "/paper/orders",
                   body=order("l1", type="LIMIT", limit_price=100))  # fmt: skip
    assert call(client, "GET", f"/paper/orders/{body['id']}")[0] == 200
    assert call(client, "GET", f"/paper/orders/{body['id']}", user="u2")[0] == 404
    assert call(client, "DELETE", f"/paper/orders/{body['id']}", user="u2")[0] == 404
    assert call(client, "GET", "/paper/orders", user="u2")[1] == {"orders": [], "next": None}
    assert call(client, "GET", "/paper/orders/not-an-id")[0] == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (order("q", quantity=10), "quantity"),  # NIFTY's lot is 75
        (order("q", quantity=True), "quantity"),
        (order("q", strike="abc"), "strike"),
        (order("q", type="LIMIT"), "limit_price"),
        (order("q", limit_price=10), "limit_price"),
        (order("q", side="HOLD"), "side"),
        (order("bad id!"), "client_order_id"),
        ({**order("q"), "product": "NOPE"}, "product"),
        ({**order("q"), "option_type": None}, "expiry"),  # the spot names no expiry
        ({**order("q"), "strike": None}, "strike"),  # an option names its strike
        ({**order("q"), "surprise": 1}, "surprise"),
    ],
)
def test_a_bad_order_is_422_naming_the_field(
    client: FlaskClient, chain: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    status, answer = call(client, "POST", "/paper/orders", body=body)
    assert status == 422, answer
    assert field in answer["error"]["fields"], answer


def test_an_order_past_its_expiry_instant_is_422(
    client: FlaskClient, chain: dict[str, Any], clock: Clock
) -> None:
    clock.at = clock.at.replace(day=26, hour=10, minute=0, second=1)
    status, body = call(client, "POST", "/paper/orders", body=order("e1"))
    assert status == 422
    assert body["error"]["fields"]["expiry"] == ["expired at 2026-11-26T10:00:00+00:00"]


def test_no_live_chain_or_strike_is_404_naming_the_field(
    client: FlaskClient, chain: dict[str, Any]
) -> None:
    status, body = call(client, "POST", "/paper/orders", body={**order("n1"),
                                                               "expiry": "2026-12-31"})  # fmt: skip
    assert (status, list(body["error"]["fields"])) == (404, ["expiry"])
    status, body = call(client, "POST", "/paper/orders", body=order("n2", strike=24_025))
    assert (status, list(body["error"]["fields"])) == (404, ["strike"])


def test_a_basket_leg_fault_names_the_leg(client: FlaskClient, chain: dict[str, Any]) -> None:
    legs = [order("a"), order("b", quantity=10)]
    status, body = call(client, "POST", "/paper/baskets", body={"legs": legs})
    assert (status, list(body["error"]["fields"])) == (422, ["legs[1].quantity"])
    legs = [order("a"), order("a")]
    status, body = call(client, "POST", "/paper/baskets", body={"legs": legs})
    assert (status, list(body["error"]["fields"])) == (422, ["legs[1].client_order_id"])


def test_a_saved_strategy_is_placed_as_a_basket(
    client: FlaskClient, chain: dict[str, Any], store: MemoryStrategyStore
) -> None:
    legs = [
        {"product": "NIFTY", "expiry": "2026-11-26", "strike": 24_000.0, "option_type": "CALL",
         "side": "BUY", "quantity": 75.0, "price": None},
        {"product": "NIFTY", "expiry": "2026-11-26", "strike": 23_500.0, "option_type": "PUT",
         "side": "SELL", "quantity": 75.0, "price": 81.0},
    ]  # fmt: skip
    status, saved = call(client, "POST", "/strategies", body={"name": "mix", "legs": legs})
    assert status == 201, saved
    path = f"/paper/strategies/{saved['id']}/place"
    status, body = call(client, "POST", path, body={"client_order_id_prefix": "st1"})
    assert status == 201, body
    assert [(o["client_order_id"], o["state"], o["average_price"]) for o in body["orders"]] == [
        ("st1-1", "FILLED", "120.50000000"), ("st1-2", "FILLED", "79.50000000")]  # fmt: skip
    assert call(client, "POST", path, user="u2", body={"client_order_id_prefix": "x"})[0] == 404


def test_a_store_down_is_503(client: FlaskClient, chain: dict[str, Any],
                             paper_store: SqlitePaperStore) -> None:  # fmt: skip
    paper_store.close()
    status, body = call(client, "POST", "/paper/orders", body=order("d1"))
    assert status == 503, body
    assert body["error"]["code"] == "unavailable"
