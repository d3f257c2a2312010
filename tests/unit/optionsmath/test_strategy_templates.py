"""Smiles built from enriched chains, and the strategy templates built on them."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import numpy as np
import pytest

from common.messages.enums import OptionType
from common.products import ProductConventions
from optionsmath import enrich_chain
from optionsmath.density import lognormal_density, risk_neutral_density
from optionsmath.strategy import (
    Leg,
    Side,
    Smile,
    StrategyInputError,
    Template,
    smile_of,
    template_legs,
)
from tests.support.chains import RATE, build_chain, smile

CALL, PUT, BUY, SELL = OptionType.CALL, OptionType.PUT, Side.BUY, Side.SELL
NSE = ProductConventions(rate=RATE, dividend_yield=0.0)
STAMP = "2026-11-21T04:00:00.005Z"


def quoted_chain(**overrides: Any) -> dict[str, Any]:
    """The synthetic chain with a spread of 2 around each price (mid = the BS price)."""
    raw = build_chain(**overrides)
    for side in ("calls", "puts"):
        for row in raw[side]:
            row["bid"], row["ask"] = row["last"] - 1.0, row["last"] + 1.0
    return raw


@pytest.fixture(scope="module")
def near() -> Smile:
    return smile_of(enrich_chain(quoted_chain(), processed_at=STAMP), NSE)


# --- smile_of -----------------------------------------------------------------------------


def test_call_and_put_ivs_that_differ_are_blended_across_the_forward() -> None:
    """Calls quoted 0.6 vol points above the puts at every strike: the nodes go from the
    puts' IVs to the calls' over a band around the forward instead of jumping at it, so the
    density has no spike there (its peak stays near the lognormal's)."""
    chain = enrich_chain(quoted_chain(), processed_at=STAMP)
    for row in chain["calls"]:
        row["iv"] += 0.006
    smile_ = smile_of(chain, NSE)
    forward, band = smile_.forward, 0.5 * float(chain["atm_iv"]) * math.sqrt(smile_.T)
    puts = {r["strike"]: r["iv"] for r in chain["puts"]}
    calls = {r["strike"]: r["iv"] for r in chain["calls"]}
    for strike, iv in zip(smile_.strikes, smile_.ivs, strict=True):
        x = math.log(strike / forward)  # the band is 0.5 σ√T at the chain's median IV
        if x <= -2 * band:
            assert iv == puts[strike]
        elif x >= 2 * band:
            assert iv == calls[strike]
        elif abs(x) < band / 2:  # strictly between, moving towards the calls
            assert puts[strike] < iv < calls[strike]
    weights = [(iv - puts[k]) / (calls[k] - puts[k])  # the calls' share, rising with strike
               for k, iv in zip(smile_.strikes, smile_.ivs, strict=True)]  # fmt: skip
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(weights))
    assert (weights[0], weights[-1]) == (pytest.approx(0.0), pytest.approx(1.0))
    density = risk_neutral_density(smile_)
    lognormal = lognormal_density(forward, float(chain["atm_iv"]), smile_.T)
    assert density.values.max() < 1.5 * lognormal.values.max()


def test_the_smile_of_an_enriched_chain(near: Smile) -> None:
    chain = enrich_chain(quoted_chain(), processed_at=STAMP)
    assert near.expiry == dt.date(2026, 11, 26)
    assert near.as_of == dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
    assert chain["time_to_expiry"] == near.T
    assert near.expires_at == dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
    assert near.forward == pytest.approx(chain["forward"], rel=1e-15)
    assert (near.r, near.q) == (RATE, 0.0)
    assert near.listed.tolist() == chain["strikes"]
    # Nodes: each strike's out-of-the-money IV, which recovers the generator's smile.
    assert near.strikes.tolist() == chain["strikes"]
    assert near.ivs == pytest.approx(smile(near.strikes, 24_010.0), abs=1e-9)
    for i, strike in enumerate(near.strikes):  # near the forward a blend of two equal IVs
        side = "calls" if strike >= chain["forward"] else "puts"
        assert near.ivs[i] == pytest.approx(chain[side][i]["iv"], abs=1e-12)
    assert near.atm_strike() == chain["atm_strike"] == 24_050.0
    # Between the nodes the spline follows the quadratic smile closely; the zero slope at
    # the ends bends the outer intervals (3e-6 of IV two nodes in, measured).
    between = near.strikes[2:-3] + 25.0
    assert near.iv(between) == pytest.approx(smile(between, 24_010.0), abs=5e-6)
    middle = near.strikes[6:-7] + 25.0
    assert near.iv(middle) == pytest.approx(smile(middle, 24_010.0), abs=2e-7)
    # Prices: the mid of the quote.
    assert near.price(24_000.0, CALL) == chain["calls"][10]["last"]
    assert near.price(24_000.0, PUT) == chain["puts"][10]["last"]
    assert near.price(24_025.0, CALL) is None


def test_the_smile_is_flat_beyond_its_nodes(near: Smile) -> None:
    low, high = near.ivs[0], near.ivs[-1]
    sigma, slope, curvature = near.iv_derivatives([20_000.0, 23_500.0, 24_500.0, 30_000.0])
    assert sigma.tolist() == [low, low, high, high]
    assert slope.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert curvature.tolist() == [0.0, 0.0, 0.0, 0.0]
    # Clamped: the slope just inside the ends tends to zero, so the smile is C¹ there.
    _, inside, _ = near.iv_derivatives([23_500.01, 24_499.99])
    assert np.abs(inside).max() < 1e-8


def test_a_venue_forward_gives_the_implied_yield() -> None:
    raw = quoted_chain(forward=24_100.0, forward_source="venue")
    chain = enrich_chain(raw, processed_at=STAMP)
    sm = smile_of(chain, NSE)
    assert sm.forward == pytest.approx(24_100.0, rel=1e-13)
    assert sm.q == pytest.approx(RATE - math.log(24_100.0 / 24_010.0) / sm.T, rel=1e-12)
    # Black-76 at F is BSM at spot with that yield: the chain's IVs reprice it.
    assert sm.atm_strike() == 24_100.0


def test_unusable_chains_are_refused() -> None:
    chain = enrich_chain(quoted_chain(), processed_at=STAMP)
    with pytest.raises(ValueError, match="time_to_expiry"):
        smile_of({k: v for k, v in chain.items() if k != "time_to_expiry"}, NSE)
    no_iv = {**chain, "calls": [{**r, "iv": None} for r in chain["calls"]],
             "puts": [{**r, "iv": None} for r in chain["puts"]]}  # fmt: skip
    with pytest.raises(ValueError, match="no implied volatility"):
        smile_of(no_iv, NSE)
    with pytest.raises(ValueError, match="unusable"):
        smile_of({**chain, "time_to_expiry": -0.1}, NSE)
    puts = [{**r, "iv": 0.2 if i == 3 else None} for i, r in enumerate(chain["puts"])]
    one = {**chain, "calls": [{**r, "iv": None} for r in chain["calls"]], "puts": puts}
    flat = smile_of(one, NSE)
    assert flat.iv([20_000.0, 24_000.0]).tolist() == [0.2, 0.2]


def test_a_smile_checks_its_fields() -> None:
    as_of = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    day = dt.date(2026, 12, 1)
    with pytest.raises(ValueError, match="increase"):
        Smile.of_ivs(day, as_of, 0.1, 100.0, 0.0, 0.0, [100.0, 90.0], [0.2, 0.2])
    with pytest.raises(ValueError, match="positive"):
        Smile.of_ivs(day, as_of, 0.1, 100.0, 0.0, 0.0, [90.0, 100.0], [0.2, -0.1])
    with pytest.raises(ValueError, match="aware"):
        Smile.of_ivs(day, as_of.replace(tzinfo=None), 0.1, 100.0, 0.0, 0.0, [90.0], [0.2])
    with pytest.raises(ValueError, match="positive"):
        Smile.of_ivs(day, as_of, 0.0, 100.0, 0.0, 0.0, [90.0], [0.2])


# --- templates ------------------------------------------------------------------------------


def _shape(legs: list[Leg]) -> list[tuple[float | None, OptionType | None, Side, float]]:
    return [(leg.strike, leg.option_type, leg.side, leg.quantity) for leg in legs]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("straddle", [(24_050.0, CALL, BUY, 75.0), (24_050.0, PUT, BUY, 75.0)]),
        ("strangle", [(23_950.0, PUT, BUY, 75.0), (24_150.0, CALL, BUY, 75.0)]),
        ("bull_call_spread", [(24_050.0, CALL, BUY, 75.0), (24_150.0, CALL, SELL, 75.0)]),
        ("bear_call_spread", [(24_050.0, CALL, SELL, 75.0), (24_150.0, CALL, BUY, 75.0)]),
        ("bull_put_spread", [(23_950.0, PUT, BUY, 75.0), (24_050.0, PUT, SELL, 75.0)]),
        ("bear_put_spread", [(23_950.0, PUT, SELL, 75.0), (24_050.0, PUT, BUY, 75.0)]),
        ("iron_condor", [
            (23_850.0, PUT, BUY, 75.0), (23_950.0, PUT, SELL, 75.0),
            (24_150.0, CALL, SELL, 75.0), (24_250.0, CALL, BUY, 75.0),
        ]),
        ("butterfly", [
            (23_950.0, CALL, BUY, 75.0), (24_050.0, CALL, SELL, 150.0), (24_150.0, CALL, BUY, 75.0),
        ]),
    ],
)  # fmt: skip
def test_templates_around_the_atm_strike(
    near: Smile, name: str, expected: list[tuple[float, OptionType, Side, float]]
) -> None:
    legs = template_legs(name, near, 75.0, width=2)  # two 50-point strikes: 100 points
    assert _shape(legs) == expected
    for leg in legs:
        assert leg.expiry == near.expiry
        assert leg.option_type is not None
        assert leg.strike is not None
        assert leg.price == near.price(leg.strike, leg.option_type)  # the chain's mid


def test_reverse_and_width_one(near: Smile) -> None:
    legs = template_legs(Template.STRADDLE, near, 1.0, reverse=True)
    assert [leg.side for leg in legs] == [SELL, SELL]
    condor = template_legs("iron_condor", near, 10.0, reverse=True)
    assert _shape(condor) == [
        (23_950.0, PUT, SELL, 10.0), (24_000.0, PUT, BUY, 10.0),
        (24_100.0, CALL, BUY, 10.0), (24_150.0, CALL, SELL, 10.0),
    ]  # fmt: skip
    put_fly = template_legs("butterfly", near, 1.0, option_type=PUT)
    assert [leg.option_type for leg in put_fly] == [PUT, PUT, PUT]


def test_a_calendar_on_two_chains(near: Smile) -> None:
    far = smile_of(enrich_chain(quoted_chain(expiry="2026-12-31"), processed_at=STAMP), NSE)
    legs = template_legs("calendar", near, 25.0, far=far)
    assert [(leg.expiry, leg.strike, leg.option_type, leg.side, leg.quantity) for leg in legs] == [
        (near.expiry, 24_050.0, CALL, SELL, 25.0), (far.expiry, 24_050.0, CALL, BUY, 25.0),
    ]  # fmt: skip
    assert legs[1].price == far.price(24_050.0, CALL)
    with pytest.raises(StrategyInputError) as caught:
        template_legs("calendar", far, 25.0, far=near)
    assert caught.value.field == "far"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "condor"}, "template"),
        ({"quantity": 0.0}, "quantity"),
        ({"quantity": math.inf}, "quantity"),
        ({"width": 0}, "width"),
        ({"width": 1.5}, "width"),
        ({"width": 6}, "width"),  # ±12 strikes from ATM: the chain lists ±10
        ({"name": "calendar"}, "far"),
    ],
)
def test_templates_refuse_what_the_chain_cannot_hold(
    near: Smile, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"name": "iron_condor", "quantity": 1.0} | kwargs
    with pytest.raises(StrategyInputError) as caught:
        template_legs(args.pop("name"), near, args.pop("quantity"), **args)
    assert caught.value.field == field


def test_a_template_leg_without_a_price_is_refused() -> None:
    raw = quoted_chain()
    raw["calls"][11].update(bid=0.0, ask=0.0, last=0.0)  # the ATM call: no price, no IV
    sm = smile_of(enrich_chain(raw, processed_at=STAMP), NSE)
    assert 24_050.0 in sm.listed.tolist()
    assert 24_050.0 in sm.strikes.tolist()  # a node all the same: the put's IV
    with pytest.raises(StrategyInputError, match="24050 CALL has no quote price") as caught:
        template_legs("straddle", sm, 1.0)
    assert caught.value.field == "template"


def test_decimal_strikes_match_to_rounding() -> None:
    as_of = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    sm = Smile.of_ivs(dt.date(2026, 12, 1), as_of, 0.1, 0.2, 0.0, 0.0, [0.1, 0.2, 0.3], [0.5] * 3)
    assert 0.1 * 3 != 0.3
    assert sm.listed_strike(0.1 * 3) == 0.3
    assert sm.listed_strike(0.25) is None
    assert sm.listed_strike(math.nan) is None
    assert sm.listed_strike(0.4) is None
