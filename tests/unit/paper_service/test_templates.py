"""``GET /strategies/templates/<product>`` in-process on chains cached in a real Redis: the
legs around the live ATM strike (24,050: the listed strike nearest the forward
24,010·e^{0.065·5.25/365} ≈ 24,032.5), the defaults, the expiries chosen, and 404/422."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.support.chains import EXPIRY
from tests.unit.paper_service.conftest import FAR, Clock, cache, call, enriched

pytestmark = pytest.mark.redis


def template(client: FlaskClient, query: str, product: str = "NIFTY") -> tuple[int, Any]:
    status, answer = call(client, "GET", f"/strategies/templates/{product}?{query}")
    return int(status), answer


def leg(strike: float, kind: str, side: str, quantity: float = 75.0,
        expiry: str = EXPIRY) -> dict[str, Any]:  # fmt: skip
    return {"product": "NIFTY", "expiry": expiry, "strike": strike, "option_type": kind,
            "side": side, "quantity": quantity, "price": None}  # fmt: skip


def test_an_iron_condor_around_atm_of_one_lot(client: FlaskClient, near: dict[str, Any]) -> None:
    assert near["atm_strike"] == 24_050.0  # the enricher agrees
    assert template(client, "name=iron_condor") == (200, {"legs": [
        leg(23_950, "PUT", "BUY"), leg(24_000, "PUT", "SELL"),
        leg(24_100, "CALL", "SELL"), leg(24_150, "CALL", "BUY"),
    ]})  # fmt: skip


def test_width_quantity_reverse_and_option_type(client: FlaskClient, near: dict[str, Any]) -> None:
    status, answer = template(client, "name=strangle&width=3&quantity=150&reverse=true")
    assert (status, answer["legs"]) == (200, [leg(23_900, "PUT", "SELL", 150),
                                              leg(24_200, "CALL", "SELL", 150)])  # fmt: skip
    status, answer = template(client, f"name=butterfly&option_type=PUT&expiry={EXPIRY}")
    assert (status, answer["legs"]) == (200, [leg(24_000, "PUT", "BUY"),
                                              leg(24_050, "PUT", "SELL", 150),
                                              leg(24_100, "PUT", "BUY")])  # fmt: skip


def test_a_calendar_takes_the_next_live_expiry(
    client: FlaskClient, redis_client: redis.Redis, near: dict[str, Any]
) -> None:
    cache(redis_client, enriched(FAR))
    cache(redis_client, enriched("2026-12-31"))
    expected = [leg(24_050, "CALL", "SELL"), leg(24_050, "CALL", "BUY", expiry=FAR)]
    assert template(client, "name=calendar") == (200, {"legs": expected})
    named = template(client, f"name=calendar&expiry={EXPIRY}&far_expiry=2026-12-31&option_type=PUT")
    assert named == (200, {"legs": [leg(24_050, "PUT", "SELL"),
                                    leg(24_050, "PUT", "BUY", expiry="2026-12-31")]})  # fmt: skip


def test_the_template_evaluates(client: FlaskClient, near: dict[str, Any]) -> None:
    legs = template(client, "name=iron_condor&width=2")[1]["legs"]
    status, answer = call(client, "POST", "/strategies/evaluate", body={"legs": legs})
    assert status == 200, answer
    assert [x["strike"] for x in answer["legs"]] == [23_850, 23_950, 24_150, 24_250]
    assert answer["net_premium"] < 0.0  # a credit
    assert answer["max_profit"] == pytest.approx(-answer["net_premium"], rel=1e-12)


def test_an_expired_nearest_chain_is_passed_over(
    client: FlaskClient, redis_client: redis.Redis, clock: Clock, near: dict[str, Any]
) -> None:
    cache(redis_client, enriched(FAR))
    clock.at = dt.datetime(2026, 11, 26, 10, 0, 1, tzinfo=dt.UTC)  # EXPIRY expired a second ago
    status, answer = template(client, "name=straddle")
    assert (status, answer["legs"][0]["expiry"]) == (200, FAR)
    status, answer = template(client, f"name=straddle&expiry={EXPIRY}")
    assert status == 422
    assert answer["error"]["fields"] == {
        "expiry": ["2026-11-26 expired at 2026-11-26 10:00:00+00:00"]
    }


@pytest.mark.parametrize(
    ("query", "product", "status", "field", "message"),
    [
        ("name=straddle&expiry=2026-12-31", "NIFTY", 404, "expiry",
         "no live chain of NIFTY 2026-12-31"),
        ("name=calendar", "NIFTY", 404, "far_expiry", "no live expiry of NIFTY after 2026-11-26"),
        ("name=calendar&far_expiry=2027-01-28", "NIFTY", 404, "far_expiry",
         "no live chain of NIFTY 2027-01-28"),
        ("name=straddle", "BTC", 404, "product", "no live chain of BTC"),
        ("name=straddle", "SENSEX", 422, "product", "not a product the platform serves"),
        ("name=iron_condor&width=6", "NIFTY", 422, "width",
         "6 strikes from ATM leave the 2026-11-26 chain's strikes"),
        ("name=condor", "NIFTY", 422, "name", "Must be one of: straddle"),
        ("name=straddle&quantity=0", "NIFTY", 422, "quantity", "Must be greater than 0.0"),
        ("name=straddle&lots=2", "NIFTY", 422, "lots", "Unknown field."),
    ],
)  # fmt: skip
def test_faults_name_their_field(
    client: FlaskClient, near: dict[str, Any], query: str, product: str, status: int,
    field: str, message: str,
) -> None:  # fmt: skip
    got, answer = template(client, query, product)
    assert got == status, answer
    assert list(answer["error"]["fields"]) == [field]
    assert answer["error"]["fields"][field][0].startswith(message)


def test_a_row_without_a_quote_is_named_as_the_template(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    chain = enriched()
    atm_call = next(r for r in chain["calls"] if r["strike"] == 24_050.0)
    atm_call.update(bid=None, ask=None, last=None)
    cache(redis_client, chain)
    status, answer = template(client, "name=straddle")
    assert status == 422
    assert answer["error"]["fields"] == {"name": ["the 2026-11-26 24050 CALL has no quote price"]}


def test_the_caller_must_be_named(client: FlaskClient, near: dict[str, Any]) -> None:
    assert client.get("/strategies/templates/NIFTY?name=straddle").status_code == 401
