"""``POST /strategies/evaluate`` in-process on chains cached in a real Redis, the clock fixed:
hand-computed payoffs, breakevens and limits, the live prices used when none is given,
the whole answer equal to the strategy math's for the same inputs, stale chains, and every
fault answered 404 or 422 naming its field."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest
import redis
from flask.testing import FlaskClient

from common.api.strategies import MODEL
from common.messages.enums import OptionType
from common.products import serving_registry
from common.settings import Settings
from optionsmath.strategy import Leg, Side, evaluate_strategy, smile_of
from paper_service import create_app
from tests.support.chains import EXPIRY
from tests.unit.paper_service.conftest import FAR, NOW, Clock, cache, call, enriched

pytestmark = pytest.mark.redis


def leg(strike: float | None, kind: str | None, side: str, price: float | None = None,
        expiry: str = EXPIRY, quantity: float = 75) -> dict[str, Any]:  # fmt: skip
    return {"product": "NIFTY", "expiry": expiry if kind else None, "strike": strike,
            "option_type": kind, "side": side, "quantity": quantity, "price": price}  # fmt: skip


def evaluate(client: FlaskClient, legs: list[dict[str, Any]], **body: Any) -> tuple[int, Any]:
    status, answer = call(client, "POST", "/strategies/evaluate", body={"legs": legs, **body})
    return int(status), answer


def row(chain: dict[str, Any], strike: float, kind: str) -> dict[str, Any]:
    rows = chain["calls" if kind == "CALL" else "puts"]
    return next(r for r in rows if r["strike"] == strike)


def test_a_bull_call_spread_by_hand(client: FlaskClient, near: dict[str, Any]) -> None:
    """Buy the 24,000 call at 120, sell the 24,100 at 70, 75 units each: a debit of
    75 × 50 = 3,750, breakeven 24,000 + 50, at most (100 − 50) × 75 won or 50 × 75 lost."""
    status, answer = evaluate(
        client, [leg(24_000, "CALL", "BUY", 120), leg(24_100, "CALL", "SELL", 70)]
    )
    assert status == 200, answer
    assert (answer["net_premium"], answer["breakevens"]) == (3750.0, [24_050.0])
    assert (answer["max_profit"], answer["max_loss"], answer["limits_exact"]) == (
        3750.0,
        3750.0,
        True,
    )
    spots, at_expiry = answer["payoff"]["spots"], answer["payoff"]["expiry"]
    by_spot = dict(zip(spots, at_expiry, strict=True))
    assert (by_spot[24_000.0], by_spot[24_050.0], by_spot[24_100.0]) == (-3750.0, 0.0, 3750.0)
    assert min(at_expiry) == -3750.0
    assert max(at_expiry) == pytest.approx(3750.0, abs=1e-9)  # the grid's sum of intrinsics
    assert (answer["product"], answer["currency"]) == ("NIFTY", "INR")
    assert (answer["spot"], answer["as_of"]) == (24_010.0, "2026-11-21T04:00:00.000Z")
    assert (answer["valued_at"], answer["stale"]) == ("2026-11-21T04:00:01.000Z", False)
    assert (answer["expiry"], answer["expires_at"]) == (EXPIRY, "2026-11-26T10:00:00.000Z")
    assert answer["model"] == MODEL
    assert [(x["price"], x["side"]) for x in answer["legs"]] == [(120.0, "BUY"), (70.0, "SELL")]
    assert 0.0 < answer["pop"] < 1.0
    assert 0.0 < answer["pop_lognormal"] < 1.0


def test_a_covered_call_values_the_underlying_at_the_live_spot(
    client: FlaskClient, near: dict[str, Any]
) -> None:
    """Buy 75 units at spot (24,010: no price given), sell the 24,100 call at 60: paid
    75 × (24,010 − 60) = 1,796,250, all of it lost at spot 0; at most 75 × (90 + 60) won."""
    status, answer = evaluate(client, [leg(None, None, "BUY"), leg(24_100, "CALL", "SELL", 60)])
    assert status == 200, answer
    assert answer["legs"][0] == {**leg(None, None, "BUY", 24_010.0), "quantity": 75.0,
                                 "iv": None}  # fmt: skip
    assert (answer["net_premium"], answer["breakevens"]) == (1_796_250.0, [23_950.0])
    assert (answer["max_profit"], answer["max_loss"]) == (11_250.0, 1_796_250.0)


def test_an_unbounded_side_is_null(client: FlaskClient, near: dict[str, Any]) -> None:
    status, answer = evaluate(client, [leg(24_000, "CALL", "SELL", 100)])
    assert status == 200, answer
    assert (answer["max_profit"], answer["max_loss"]) == (7500.0, None)
    assert answer["breakevens"] == [24_100.0]


def test_prices_left_out_are_the_live_mids(client: FlaskClient, near: dict[str, Any]) -> None:
    condor = [leg(23_900, "PUT", "BUY"), leg(23_950, "PUT", "SELL"), leg(24_100, "CALL", "SELL"),
              leg(24_150, "CALL", "BUY")]  # fmt: skip
    status, answer = evaluate(client, condor)
    assert status == 200, answer
    for given, got in zip(condor, answer["legs"], strict=True):
        quote = row(near, given["strike"], given["option_type"])
        assert got["price"] == (quote["bid"] + quote["ask"]) / 2
        assert got["iv"] > 0.0
    prices = [x["price"] for x in answer["legs"]]
    assert answer["net_premium"] == pytest.approx(75 * (prices[0] - prices[1] - prices[2]
                                                        + prices[3]), rel=1e-12)  # fmt: skip


def test_the_answer_is_the_maths_for_the_same_inputs(
    client: FlaskClient, redis_client: redis.Redis, settings: Settings, near: dict[str, Any]
) -> None:
    """A call calendar (two expiries, Brent roots, two dates) with one price given: every
    figure is ``evaluate_strategy``'s on the smiles of the cached chains at the newest
    chain's spot and the answer's ``valued_at``, to the last bit."""
    far = enriched(FAR, timestamp="2026-11-21T03:59:59.500Z", spot=24_020.0)
    cache(redis_client, far)
    dates = ["2026-11-23T10:00:00Z", "2026-11-25T10:00:00Z"]
    legs = [leg(24_050, "CALL", "SELL"), leg(24_050, "CALL", "BUY", 180.25, expiry=FAR)]
    status, answer = evaluate(client, legs, dates=dates)
    assert status == 200, answer
    conventions = serving_registry(settings)
    smiles = {s.expiry: s for s in (smile_of(c, conventions.get("NIFTY")) for c in (near, far))}
    mid = row(near, 24_050, "CALL")["bid"]
    report = evaluate_strategy(
        [Leg(dt.date(2026, 11, 26), 24_050.0, OptionType.CALL, Side.SELL, 75.0, mid),
         Leg(dt.date(2026, 12, 3), 24_050.0, OptionType.CALL, Side.BUY, 75.0, 180.25)],
        smiles, 24_010.0, NOW,
        dates=[dt.datetime(2026, 11, d, 10, tzinfo=dt.UTC) for d in (23, 25)],
    )  # fmt: skip
    assert answer["spot"] == 24_010.0  # the newer chain's (the far one is 0.5 s older)
    assert answer["as_of"] == "2026-11-21T04:00:00.000Z"
    assert answer["limits_exact"] is False
    assert answer["net_premium"] == report.net_premium
    assert answer["breakevens"] == list(report.breakevens)
    assert (answer["max_profit"], answer["max_loss"]) == (report.max_profit, report.max_loss)
    assert answer["greeks"] == dataclasses.asdict(report.greeks)
    assert (answer["pop"], answer["pop_lognormal"]) == (report.pop, report.pop_lognormal)
    assert answer["atm_iv"] == report.atm_iv
    assert [x["iv"] for x in answer["legs"]] == list(report.leg_ivs)
    payoff = answer["payoff"]
    assert payoff["spots"] == report.payoff.spots.tolist()
    assert payoff["expiry"] == report.payoff.expiry.tolist()
    assert payoff["today"] == report.payoff.today.tolist()
    assert payoff["dates"] == [
        {"at": "2026-11-23T10:00:00.000Z", "pnl": report.payoff.dates[0].pnl.tolist()},
        {"at": "2026-11-25T10:00:00.000Z", "pnl": report.payoff.dates[1].pnl.tolist()},
    ]
    density = answer["density"]
    spots = report.payoff.spots
    assert density["spots"] == spots.tolist()
    rn, ln = report.density, report.lognormal
    assert density["risk_neutral"] == np.interp(spots, rn.grid, rn.values).tolist()
    assert density["lognormal"] == np.interp(spots, ln.grid, ln.values).tolist()
    inside = rn.cdf([spots[0], spots[-1]])
    assert density["outside_mass"] == 1.0 - float(inside[1] - inside[0])
    assert 0.0 < density["outside_mass"] < 0.01


def test_points_sets_the_grid_over_the_default_range(
    client: FlaskClient, near: dict[str, Any]
) -> None:
    legs = [leg(24_000, "CALL", "BUY", 120), leg(24_100, "CALL", "SELL", 70)]
    default = evaluate(client, legs)[1]["payoff"]["spots"]
    same = evaluate(client, legs, points=201)[1]["payoff"]["spots"]
    coarse = evaluate(client, legs, points=51)[1]
    spots = coarse["payoff"]["spots"]
    assert same == default
    assert len(default) == 205  # 201, the strikes, the breakeven and spot
    assert (spots[0], spots[-1]) == (default[0], default[-1])
    assert len(spots) == 55
    assert {24_000.0, 24_050.0, 24_100.0, 24_010.0} <= set(spots)
    assert coarse["breakevens"] == [24_050.0]  # the math's, whatever the grid


def test_stale_chains_are_used_and_said_to_be(
    client: FlaskClient, clock: Clock, near: dict[str, Any]
) -> None:
    legs = [leg(24_000, "CALL", "BUY", 120)]
    assert evaluate(client, legs)[1]["stale"] is False
    clock.advance(5.0)  # 6 s after the origin: past NIFTY's 5 s
    status, answer = evaluate(client, legs)
    assert (status, answer["stale"], answer["valued_at"]) == (200, True, "2026-11-21T04:00:06.000Z")


def test_an_expiry_without_a_live_chain_is_404_naming_its_leg(
    client: FlaskClient, near: dict[str, Any]
) -> None:
    legs = [leg(24_000, "CALL", "BUY"), leg(24_000, "PUT", "BUY", expiry="2026-12-31")]
    status, answer = evaluate(client, legs)
    assert status == 404
    assert answer["error"]["code"] == "not_found"
    assert answer["error"]["fields"] == {"legs[1].expiry": ["no live chain of NIFTY 2026-12-31"]}


@pytest.mark.parametrize(
    ("legs", "extra", "field", "message"),
    [
        ([leg(24_025, "CALL", "BUY")], {}, "legs[0].strike", "24025.0 is not listed for"),
        ([leg(24_025, "CALL", "BUY", 10)], {}, "legs[0].strike", "24025.0 is not listed for"),
        ([leg(None, None, "BUY")], {}, "legs", "at least one leg must be an option"),
        ([{**leg(24_000, "CALL", "BUY"), "product": "SENSEX"}], {}, "legs[0].product",
         "not a product the platform serves"),
        ([leg(24_000, "CALL", "BUY"), {**leg(24_000, "PUT", "BUY"), "product": "BANKNIFTY"}],
         {}, "legs[1].product", "Every leg is of one product (NIFTY), not BANKNIFTY."),
        ([leg(24_000, "CALL", "BUY")], {"dates": ["2026-11-27T00:00:00Z"]}, "dates[0]",
         "must be after now and before the first expiry"),
        ([leg(24_000, "CALL", "BUY")], {"dates": ["2026-11-21T03:00:00Z"]}, "dates[0]",
         "must be after now"),
        ([leg(24_000, "CALL", "BUY", quantity=0)], {}, "legs[0].quantity", "Must be greater"),
        ([{**leg(24_000, "CALL", "BUY"), "strike": None}], {}, "legs[0].strike", "Required"),
        ([leg(24_000, "CALL", "BUY")], {"points": 1002}, "points", "Must be greater than or"),
        ([leg(24_000, "CALL", "BUY")], {"grid": [1]}, "grid", "Unknown field."),
    ],
)  # fmt: skip
def test_each_fault_is_422_naming_its_field(
    client: FlaskClient, near: dict[str, Any], legs: list[dict[str, Any]],
    extra: dict[str, Any], field: str, message: str,
) -> None:  # fmt: skip
    status, answer = evaluate(client, legs, **extra)
    assert status == 422, answer
    assert list(answer["error"]["fields"]) == [field]
    assert answer["error"]["fields"][field][0].startswith(message), answer
    assert answer["error"]["message"] == f"invalid request: {field}"


def test_an_expired_chain_is_422_naming_the_leg(
    client: FlaskClient, clock: Clock, near: dict[str, Any]
) -> None:
    clock.at = dt.datetime(2026, 11, 26, 10, 0, 1, tzinfo=dt.UTC)
    status, answer = evaluate(client, [leg(24_000, "CALL", "BUY", 1)])
    assert status == 422
    assert answer["error"]["fields"] == {
        "legs[0].expiry": ["2026-11-26 expired at 2026-11-26 10:00:00+00:00"]
    }


def test_a_chain_without_any_iv_is_422_naming_the_leg(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    chain = enriched()
    for side in ("calls", "puts"):
        for quote in chain[side]:
            quote["iv"] = None
    cache(redis_client, chain)
    status, answer = evaluate(client, [leg(24_000, "CALL", "BUY", 1)])
    assert status == 422
    assert answer["error"]["fields"] == {"legs[0].expiry": [
        "the live chain cannot be valued: the chain of 2026-11-26 has no implied volatility"
    ]}  # fmt: skip


def test_the_caller_must_be_named(client: FlaskClient, near: dict[str, Any]) -> None:
    resp = client.post("/strategies/evaluate", json={"legs": [leg(24_000, "CALL", "BUY")]})
    assert resp.status_code == 401


def test_redis_down_is_503(settings: Settings, near: dict[str, Any]) -> None:
    down = dataclasses.replace(settings, redis_url="redis://127.0.0.1:9/0")
    client = create_app(down, clock=lambda: NOW).test_client()
    status, answer = evaluate(client, [leg(24_000, "CALL", "BUY", 1)])
    assert (status, answer["error"]["code"]) == (503, "unavailable")


def test_the_chain_bytes_are_read_in_one_round_trip(
    client: FlaskClient, redis_client: redis.Redis, near: dict[str, Any]
) -> None:
    cache(redis_client, enriched(FAR))
    legs = [leg(24_000, "CALL", "SELL"), leg(24_000, "CALL", "BUY", expiry=FAR),
            leg(24_100, "CALL", "SELL"), leg(24_100, "CALL", "BUY", expiry=FAR)]  # fmt: skip
    assert evaluate(client, legs)[0] == 200  # the service's connection made
    before = _commands(redis_client)
    assert evaluate(client, legs)[0] == 200
    after = _commands(redis_client)
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "mget": 1,
    }


def _commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()
            if name.removeprefix("cmdstat_") not in ("info",)}  # fmt: skip
