"""GET /paper/positions, /paper/account, /paper/trades and /paper/trades.csv: marks from the
live chain (hand-computed), stale marks said so, keyset pages, the CSV's rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.unit.paper_service.conftest import Clock, call
from tests.unit.paper_service.trading.conftest import order

pytestmark = pytest.mark.redis


def test_positions_are_marked_at_the_live_mid(client: FlaskClient, chain: dict[str, Any]) -> None:
    assert call(client, "POST", "/paper/orders", body=order("b1"))[0] == 201
    assert call(client, "POST", "/paper/orders", body=order("s1", "PUT", 23_500, "SELL"))[0] == 201
    status, body = call(client, "GET", "/paper/positions")
    assert status == 200
    by_type = {p["option_type"]: p for p in body["positions"]}
    long_call, short_put = by_type["CALL"], by_type["PUT"]
    # long 75 @ 120.50, mid 120: value 9000.00, unrealised −37.50
    assert (long_call["quantity"], long_call["cost"], long_call["mark"]) == (
        "75",
        "9037.50",
        "120.0",
    )
    assert (long_call["value"], long_call["unrealized_pnl"], long_call["margin"]) == (
        "9000.00", "-37.50", "0.00")  # fmt: skip
    # short 75 @ 79.50, mid 80: value −6000.00, unrealised −37.50, margin 237,862.50
    assert (short_put["quantity"], short_put["cost"], short_put["mark"]) == (
        "-75",
        "-5962.50",
        "80.0",
    )
    assert (short_put["value"], short_put["unrealized_pnl"], short_put["margin"]) == (
        "-6000.00", "-37.50", "237862.50")  # fmt: skip
    assert {p["stale"] for p in body["positions"]} == {False}
    assert "owner" not in long_call
    assert call(client, "GET", "/paper/positions", user="u2")[1] == {"positions": []}


def test_the_account_after_a_buy(client: FlaskClient, chain: dict[str, Any]) -> None:
    assert call(client, "GET", "/paper/account")[1] == {"accounts": []}  # no wallet yet
    call(client, "POST", "/paper/orders", body=order("b1"))
    [account] = call(client, "GET", "/paper/account")[1]["accounts"]
    assert account == {
        "currency": "INR", "cash": "990957.98", "margin_used": "0.00", "free": "990957.98",
        "equity": "999957.98", "realized_pnl": "0.00", "unrealized_pnl": "-37.50",
        "fees": "4.52",
    }  # fmt: skip


def test_a_stale_chain_still_marks_and_says_so(
    client: FlaskClient, chain: dict[str, Any], clock: Clock
) -> None:
    call(client, "POST", "/paper/orders", body=order("b1"))
    clock.advance(60)
    [position] = call(client, "GET", "/paper/positions")[1]["positions"]
    assert (position["mark"], position["stale"]) == ("120.0", True)


def test_trades_come_in_keyset_pages_newest_first(
    client: FlaskClient, chain: dict[str, Any], clock: Clock
) -> None:
    expected = []
    for cid in ("t1", "t2", "t3"):
        clock.advance(0.001)  # distinct instants, still fresh
        assert call(client, "POST", "/paper/orders", body=order(cid))[0] == 201
        expected.insert(0, cid)
    status, first = call(client, "GET", "/paper/trades?limit=2")
    assert status == 200
    assert [t["client_order_id"] for t in first["trades"]] == expected[:2]
    assert first["next"] is not None
    _, second = call(client, "GET", f"/paper/trades?limit=2&cursor={first['next']}")
    assert ([t["client_order_id"] for t in second["trades"]], second["next"]) == (
        expected[2:],
        None,
    )
    assert call(client, "GET", "/paper/trades?cursor=nonsense")[0] == 422
    assert call(client, "GET", "/paper/trades?limit=0")[0] == 422


def test_orders_come_in_pages(client: FlaskClient, chain: dict[str, Any], clock: Clock) -> None:
    for cid in ("o1", "o2", "o3"):
        clock.advance(0.001)
        call(client, "POST", "/paper/orders", body=order(cid))
    _, first = call(client, "GET", "/paper/orders?limit=2&state=FILLED")
    _, second = call(client, "GET", f"/paper/orders?limit=2&cursor={first['next']}")
    ids = [o["client_order_id"] for o in first["orders"] + second["orders"]]
    assert (ids, second["next"]) == (["o3", "o2", "o1"], None)
    assert call(client, "GET", "/paper/orders?state=OPEN")[0] == 422


def test_the_csv_holds_the_same_rows(client: FlaskClient, chain: dict[str, Any]) -> None:
    call(client, "POST", "/paper/orders", body=order("b1"))
    call(client, "POST", "/paper/orders", body=order("s1", "PUT", 23_500, "SELL"))
    resp = client.get("/paper/trades.csv", headers={"X-User-Id": "u1"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="paper-trades.csv"'
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    page = call(client, "GET", "/paper/trades")[1]["trades"]
    assert [r["id"] for r in rows] == [t["id"] for t in page]
    cells = {(r["client_order_id"], r["side"], r["price"], r["notional"], r["fee"]) for r in rows}
    assert cells == {
        ("b1", "BUY", "120.5", "9037.50", "4.52"),
        ("s1", "SELL", "79.5", "5962.50", "2.98"),
    }
    assert "owner" not in rows[0]
    resp = client.get("/paper/trades.csv?limit=1", headers={"X-User-Id": "u1"})
    assert "X-Next-Cursor" in resp.headers
    assert len(resp.get_data(as_text=True).strip().split("\r\n")) == 2  # header and one row
