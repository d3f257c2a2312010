"""What enters the rules: requests from JSON (errors naming the field), quotes from the
chain's floats, owners and instants; the identifiers derived from what identifies a thing."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from paper.checks import (
    OrderError,
    check_currency,
    check_instant,
    check_owner,
    check_quote,
    check_requests,
    quote_from_floats,
    request_from,
)
from paper.documents import Instrument, OrderRequest, OrderType, Side
from paper.ids import basket_id, fill_id, order_id, settlement_id
from tests.unit.paper.factories import AT, call, dec, future, quote, request


def _payload(**fields: Any) -> dict[str, Any]:
    base = {"client_order_id": "c-1", "currency": "INR", "product": "NIFTY",
            "expiry": "2026-12-31", "strike": 24000, "option_type": "CALL", "side": "BUY",
            "quantity": 75}  # fmt: skip
    return {**base, **fields}


def test_a_request_from_json_numbers_or_decimal_strings() -> None:
    got = request_from(_payload(strike="24000.5", quantity=0.1, type="LIMIT", limit_price="12.05"))
    assert got == OrderRequest(
        client_order_id="c-1", currency="INR", product="NIFTY", expiry="2026-12-31",
        strike=dec("24000.5"), option_type="CALL", side=Side.BUY, quantity=dec("0.1"),  # type: ignore[arg-type]
        type=OrderType.LIMIT, limit_price=dec("12.05"),
    )  # fmt: skip
    underlying = request_from(_payload(strike=None, option_type=None, expiry=None))
    assert underlying.instrument == Instrument(product="NIFTY")
    assert request_from(_payload(strike=None, option_type=None)).instrument == future()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"client_order_id": ""}, "client_order_id"),
        ({"client_order_id": "x" * 65}, "client_order_id"),
        ({"client_order_id": "has space"}, "client_order_id"),
        ({"currency": "inr"}, "currency"),
        ({"product": "nifty"}, "product"),
        ({"expiry": "2026-02-30"}, "expiry"),
        ({"expiry": None}, "expiry"),
        ({"strike": None}, "strike"),
        ({"strike": -5}, "strike"),
        ({"strike": 1.123456789}, "strike"),
        ({"option_type": None}, "strike"),  # the underlying has no strike
        ({"option_type": "CE"}, "option_type"),
        ({"side": "HOLD"}, "side"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "1e10"}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"type": "LIMIT"}, "limit_price"),
        ({"type": "LIMIT", "limit_price": 0}, "limit_price"),
        ({"limit_price": 10}, "limit_price"),
        ({"type": "STOP"}, "type"),
    ],
)
def test_a_bad_request_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(OrderError) as caught:
        request_from(_payload(**fields))
    assert caught.value.field == field, str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")


def test_a_request_missing_a_field_names_it() -> None:
    payload = _payload()
    del payload["side"]
    with pytest.raises(OrderError) as caught:
        request_from(payload)
    assert caught.value.field == "side"
    with pytest.raises(OrderError) as caught:
        request_from(["not", "an", "object"])
    assert caught.value.field == "body"


def test_requests_are_a_list() -> None:
    single = request("c1", call(24000), "BUY", 75)
    assert check_requests([single]) == [single]
    for bad in (single, "c1", None, [single, "x"]):
        with pytest.raises(OrderError, match="orders"):
            check_requests(bad)  # type: ignore[arg-type]


def test_quotes_from_the_chains_floats() -> None:
    got = quote_from_floats(call(24000), 119.5, 0.0, 23512.35, AT)
    assert (got.bid, got.ask, got.underlying, got.timestamp) == (
        dec("119.5"),
        None,
        dec("23512.35"),
        AT,
    )
    assert got.mark == dec("119.5")
    both = quote_from_floats(call(24000), 0.1, 0.2, 1.0, AT)
    assert both.mark == dec("0.15")  # (0.1 + 0.2) / 2 exactly, not 0.15000000000000002
    with pytest.raises(OrderError) as caught:
        quote_from_floats(call(24000), 1.0, 2.0, 0.0, AT)
    assert caught.value.field == "quote.underlying"
    with pytest.raises(OrderError) as caught:
        quote_from_floats(call(24000), 1.0, 2.0, 100.0, "09:41")
    assert caught.value.field == "quote.timestamp"


def test_a_quotes_sizes_and_instrument_are_checked() -> None:
    with pytest.raises(OrderError) as caught:
        check_quote(quote(call(24000), "1", "2", ask_size="-1"), "quotes[2]")
    assert caught.value.field == "quotes[2].ask_size"
    odd = Instrument(product="NIFTY", strike=dec(5))
    with pytest.raises(OrderError) as caught:
        check_quote(quote(odd, "1", "2"))
    assert caught.value.field == "quote.strike"
    with pytest.raises(OrderError, match="quote: a Quote"):
        check_quote("119.5")  # type: ignore[arg-type]


def test_owners_currencies_and_instants() -> None:
    assert check_owner("u_1") == "u_1"
    assert check_currency("USD") == "USD"
    assert check_instant(AT) == AT
    for bad in ("", None, "x" * 201, 5):
        with pytest.raises(OrderError, match="owner"):
            check_owner(bad)
    for bad in ("usd", "US", "", None):
        with pytest.raises(OrderError, match="currency"):
            check_currency(bad)
    with pytest.raises(OrderError, match="at: timestamp must look like"):
        check_instant("2026-12-06T09:41:00Z")


def test_instrument_keys_and_labels() -> None:
    assert call(24000).key == "NIFTY|2026-12-31|24000|CALL"
    assert call("24000.0").key == call(24000).key
    assert call("24000.0") == call(24000)
    assert {call("2.4E+4"): 1}[call(24000)] == 1
    assert call("24000.5").label == "NIFTY 2026-12-31 24000.5 CALL"
    assert future().key == "NIFTY|2026-12-31||UNDERLYING"
    assert future().label == "NIFTY 2026-12-31 future"
    assert Instrument(product="BTC").label == "BTC underlying"


def test_identifiers_are_derived_and_distinct() -> None:
    first = order_id("alice", "c1")
    assert first == order_id("alice", "c1")
    assert first.startswith("po_")
    assert len(first) == 25
    assert len({first, order_id("alice", "c2"), order_id("bob", "c1"),
                order_id("alic", "ec1")}) == 4  # fmt: skip
    assert basket_id("alice", "c1").startswith("pb_")
    assert basket_id("alice", "c1") != first
    assert fill_id(first, 2) == f"{first}.000002"
    assert settlement_id("alice", call(1).key) != settlement_id("alice", call(2).key)


def test_documents_round_trip_through_json_exactly() -> None:
    original = request("c1", call("24000.50"), "SELL", "0.10", limit="0.05")
    again = msgspec.json.decode(msgspec.json.encode(original), type=OrderRequest)
    assert again == original
    assert str(again.quantity) == "0.10"
    assert msgspec.json.encode(original).count(b'"24000.50"') == 1
