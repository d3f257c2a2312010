"""Strategies: payoffs, breakevens and limits worked by hand, Greeks against finite
differences, a calendar against Black-Scholes, PoP against the lognormal, and the input
checks (the field each error names)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optionsmath
from common.messages.enums import OptionType
from common.products import ProductConventions
from optionsmath import bs_greeks, bs_price, enrich_chain
from optionsmath.strategy import (
    Leg,
    Side,
    Smile,
    StrategyInputError,
    StrategyReport,
    evaluate_strategy,
    smile_of,
)
from tests.support.chains import RATE, build_chain

CALL, PUT, BUY, SELL = OptionType.CALL, OptionType.PUT, Side.BUY, Side.SELL
NOW = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
NEAR, FAR = dt.date(2026, 12, 21), dt.date(2027, 1, 20)
STRIKES = np.arange(80.0, 121.0, 5.0)


def smile(expiry: dt.date = NEAR, days: float = 30.0, sigma: Any = 0.2, r: float = 0.0,
          q: float = 0.0, spot: float = 100.0) -> Smile:  # fmt: skip
    ivs = np.broadcast_to(np.asarray(sigma, dtype=np.float64), STRIKES.shape)
    return Smile.of_ivs(expiry, NOW, days / 365, spot, r, q, STRIKES, ivs)


def option(strike: float, kind: OptionType, side: Side, price: float, qty: float = 1.0,
           expiry: dt.date = NEAR) -> Leg:  # fmt: skip
    return Leg(expiry, strike, kind, side, qty, price)


def evaluate(legs: list[Leg], smiles: dict[dt.date, Smile] | None = None, spot: float = 100.0,
             now: dt.datetime = NOW, **kwargs: Any) -> StrategyReport:  # fmt: skip
    return evaluate_strategy(legs, smiles or {NEAR: smile()}, spot, now, **kwargs)


def expiry_pnl(report: StrategyReport, spot: float) -> float:
    """The expiry curve at ``spot``: linear between its points, which hold every strike."""
    return float(np.interp(spot, report.payoff.spots, report.payoff.expiry))


# --- one expiry, by hand ----------------------------------------------------------------------


def test_long_call() -> None:
    report = evaluate([option(100.0, CALL, BUY, 5.0, qty=2.0)])
    assert report.net_premium == 10.0  # paid
    assert report.breakevens == (105.0,)
    assert (report.max_profit, report.max_loss, report.limits_exact) == (None, 10.0, True)
    assert expiry_pnl(report, 100.0) == -10.0
    assert expiry_pnl(report, 105.0) == 0.0
    assert expiry_pnl(report, 115.0) == 20.0  # 2 × (15 − 5)


def test_short_put() -> None:
    report = evaluate([option(95.0, PUT, SELL, 3.0, qty=2.0)])
    assert report.net_premium == -6.0  # received
    assert report.breakevens == (92.0,)
    assert report.max_profit == 6.0
    assert report.max_loss == 184.0  # 2 × (95 − 3) at spot 0
    assert expiry_pnl(report, 85.0) == -14.0


def test_long_straddle() -> None:
    report = evaluate([option(100.0, CALL, BUY, 4.0), option(100.0, PUT, BUY, 3.5)])
    assert report.net_premium == 7.5
    assert report.breakevens == pytest.approx((92.5, 107.5), abs=1e-12)
    assert (report.max_profit, report.max_loss) == (None, 7.5)


def test_bull_call_spread() -> None:
    report = evaluate([option(95.0, CALL, BUY, 7.0), option(105.0, CALL, SELL, 2.0)])
    assert report.net_premium == 5.0
    assert report.breakevens == pytest.approx((100.0,), abs=1e-12)
    assert (report.max_profit, report.max_loss) == (5.0, 5.0)


def test_iron_condor() -> None:
    legs = [
        option(85.0, PUT, BUY, 0.5), option(90.0, PUT, SELL, 1.5),
        option(110.0, CALL, SELL, 1.6), option(115.0, CALL, BUY, 0.6),
    ]  # fmt: skip
    report = evaluate(legs)
    assert report.net_premium == pytest.approx(-2.0, abs=1e-12)  # a credit of 2
    assert report.breakevens == pytest.approx((88.0, 112.0), abs=1e-12)
    assert report.max_profit == pytest.approx(2.0, abs=1e-12)
    assert report.max_loss == pytest.approx(3.0, abs=1e-12)  # the width 5 − the credit
    assert expiry_pnl(report, 100.0) == pytest.approx(2.0, abs=1e-12)
    assert expiry_pnl(report, 80.0) == pytest.approx(-3.0, abs=1e-12)


def test_butterfly() -> None:
    legs = [
        option(95.0, CALL, BUY, 7.2), option(100.0, CALL, SELL, 4.1, qty=2.0),
        option(105.0, CALL, BUY, 2.0),
    ]  # fmt: skip
    report = evaluate(legs)
    assert report.net_premium == pytest.approx(1.0, abs=1e-12)
    assert report.breakevens == pytest.approx((96.0, 104.0), abs=1e-12)
    assert report.max_profit == pytest.approx(4.0, abs=1e-12)  # 5 − 1 at 100
    assert report.max_loss == pytest.approx(1.0, abs=1e-12)


def test_unbounded_sides() -> None:
    naked = evaluate([option(105.0, CALL, SELL, 2.0)])
    assert (naked.max_profit, naked.max_loss) == (2.0, None)
    assert naked.breakevens == (107.0,)
    covered = evaluate([Leg(None, None, None, BUY, 1.0, 100.0), option(105.0, CALL, SELL, 2.0)])
    assert covered.breakevens == (98.0,)
    assert (covered.max_profit, covered.max_loss) == (7.0, 98.0)
    assert covered.net_premium == 98.0
    # A ratio spread: 1 long, 2 short calls: the loss is unbounded above.
    ratio = evaluate([option(100.0, CALL, BUY, 4.0), option(110.0, CALL, SELL, 1.0, qty=2.0)])
    assert ratio.max_loss is None
    assert ratio.max_profit == pytest.approx(8.0, abs=1e-12)  # 10 − 4 + 2 × 1 at 110
    assert ratio.breakevens == pytest.approx((102.0, 118.0), abs=1e-12)


def test_the_default_grid_holds_every_strike_breakeven_and_spot() -> None:
    legs = [option(80.0, PUT, SELL, 0.4), option(120.0, CALL, SELL, 0.3)]
    report = evaluate(legs, spot=101.3)
    spots = report.payoff.spots
    for point in (80.0, 120.0, 101.3, *report.breakevens):
        assert point in spots
    assert (np.diff(spots) > 0).all()
    assert spots.size >= 201
    s = report.atm_iv * math.sqrt(30 / 365)
    assert spots[0] <= 101.3 * math.exp(-3 * s)
    assert spots[-1] >= 101.3 * math.exp(3 * s)
    assert report.breakevens == pytest.approx((79.3, 120.7), abs=1e-12)


def test_a_callers_grid() -> None:
    report = evaluate([option(100.0, CALL, BUY, 5.0)], grid=[90.0, 95.0, 110.0])
    assert report.payoff.spots.tolist() == [90.0, 95.0, 100.0, 105.0, 110.0]
    assert report.payoff.expiry.tolist() == [-5.0, -5.0, -5.0, 0.0, 5.0]


# --- today, dates and Greeks ------------------------------------------------------------------


def test_today_and_dated_curves_by_black_scholes() -> None:
    sm = smile(sigma=0.25, r=0.05, q=0.01)
    legs = [option(105.0, CALL, BUY, 2.0), option(95.0, PUT, SELL, 1.5)]
    later = NOW + dt.timedelta(days=10)
    report = evaluate(legs, {NEAR: sm}, grid=[98.0, 102.0], dates=[later])
    S = report.payoff.spots
    for curve, T in ((report.payoff.today, 30 / 365), (report.payoff.dates[0].pnl, 20 / 365)):
        call = np.asarray(bs_price(S, 105.0, T, 0.05, 0.01, 0.25, True))
        put = np.asarray(bs_price(S, 95.0, T, 0.05, 0.01, 0.25, False))
        assert curve == pytest.approx((call - 2.0) - (put - 1.5), rel=1e-12)
    assert report.payoff.dates[0].moment == later
    assert report.leg_ivs == pytest.approx((0.25, 0.25))


@pytest.fixture(scope="module")
def skewed() -> Smile:
    chain = enrich_chain(build_chain(), processed_at="2026-11-21T04:00:00.005Z")
    return smile_of(chain, ProductConventions(rate=RATE, dividend_yield=0.0))


def _today(legs: list[Leg], sm: Smile, spot: float, now: dt.datetime) -> float:
    report = evaluate_strategy(legs, {sm.expiry: sm}, spot, now, grid=[spot * 0.999, spot])
    return float(report.payoff.today[np.flatnonzero(report.payoff.spots == spot)[0]])


def test_greeks_are_finite_differences_of_todays_value(skewed: Smile) -> None:
    """Sticky strike on the chain's skewed smile: bump spot, the whole smile, and time."""
    legs = [
        Leg(skewed.expiry, 23_950.0, PUT, BUY, 75.0, 40.0),
        Leg(skewed.expiry, 24_100.0, CALL, SELL, 150.0, 60.0),
        Leg(skewed.expiry, 24_200.0, CALL, BUY, 75.0, 20.0),
        Leg(None, None, None, BUY, 30.0, 24_000.0),
    ]
    S, now = 24_010.0, skewed.as_of + dt.timedelta(hours=2)
    greeks = evaluate_strategy(legs, {skewed.expiry: skewed}, S, now).greeks
    h = 0.5
    up, mid, down = (_today(legs, skewed, s, now) for s in (S + h, S, S - h))
    assert greeks.delta == pytest.approx((up - down) / (2 * h), rel=1e-6)
    assert greeks.gamma == pytest.approx((up - 2 * mid + down) / (h * h), rel=1e-4)
    bumped = [dataclasses.replace(skewed, ivs=skewed.ivs + d) for d in (1e-4, -1e-4)]
    vol_up, vol_down = (_today(legs, b, S, now) for b in bumped)
    assert greeks.vega == pytest.approx((vol_up - vol_down) / 2e-4 * 0.01, rel=1e-6)
    minute = dt.timedelta(minutes=1)
    later, earlier = (_today(legs, skewed, S, now + d) for d in (minute, -minute))
    per_day = (later - earlier) / (2 / (24 * 60))
    assert greeks.theta == pytest.approx(per_day, rel=1e-5)
    # The underlying's delta is its quantity; the options' by Black-Scholes.
    opts = bs_greeks(S, np.array([23_950.0, 24_100.0, 24_200.0]), skewed.years_to_expiry(now),
                     skewed.r, skewed.q, skewed.iv([23_950.0, 24_100.0, 24_200.0]),
                     np.array([False, True, True]))  # fmt: skip
    by_hand = 30.0 + np.dot([75.0, -150.0, 75.0], opts["delta"])
    assert greeks.delta == pytest.approx(by_hand, rel=1e-12)


# --- several expiries ---------------------------------------------------------------------


def test_a_calendar_at_the_first_expiry_is_black_scholes_of_the_far_leg() -> None:
    near = smile(NEAR, 30.0, sigma=0.2, r=0.04, q=0.01)
    far = smile(FAR, 60.0, sigma=np.linspace(0.26, 0.22, STRIKES.size), r=0.04, q=0.01)
    legs = [option(100.0, CALL, SELL, 2.4), option(100.0, CALL, BUY, 4.0, expiry=FAR)]
    report = evaluate(legs, {NEAR: near, FAR: far})
    S = report.payoff.spots
    sigma_far = float(far.iv([100.0])[0])
    assert sigma_far == pytest.approx(0.24, abs=1e-12)  # the node at 100: linear IVs
    far_value = np.asarray(bs_price(S, 100.0, 30 / 365, 0.04, 0.01, sigma_far, True))
    by_hand = -(np.maximum(S - 100.0, 0.0) - 2.4) + (far_value - 4.0)
    assert report.payoff.expiry == pytest.approx(by_hand, rel=1e-12, abs=1e-9)
    assert report.net_premium == pytest.approx(1.6)
    assert not report.limits_exact
    assert report.max_profit == pytest.approx(by_hand.max(), rel=1e-12)
    # The short near call's loss and the far call's gain tend to −S + e^{−qτ}·S: q > 0
    # leaves the loss unbounded however slowly; q = 0 bounds it.
    assert report.max_loss is None
    assert len(report.breakevens) == 2
    for b in report.breakevens:
        value = float(np.asarray(bs_price(b, 100.0, 30 / 365, 0.04, 0.01, sigma_far, True)))
        assert -(max(b - 100.0, 0.0) - 2.4) + (value - 4.0) == pytest.approx(0.0, abs=1e-9)
        assert b in S
    bounded = evaluate(legs, {NEAR: smile(NEAR, 30.0), FAR: smile(FAR, 60.0)})
    assert bounded.max_loss == pytest.approx(-bounded.payoff.expiry.min(), rel=1e-12)


# --- probability of profit ----------------------------------------------------------------


def test_pop_of_a_long_straddle_is_the_lognormal_closed_form() -> None:
    """P(S_T < K − P) + P(S_T > K + P) with S_T lognormal at the flat IV."""
    sm = smile(sigma=0.3, r=0.03, q=0.01, days=45)
    report = evaluate([option(100.0, CALL, BUY, 3.1), option(100.0, PUT, BUY, 2.9)], {NEAR: sm})
    F, s = 100.0 * math.exp(0.02 * 45 / 365), 0.3 * math.sqrt(45 / 365)

    def above(k: float) -> float:  # P(S_T > k) = N(d2)
        return 0.5 * (1.0 + math.erf((math.log(F / k) - 0.5 * s * s) / s / math.sqrt(2.0)))

    closed = (1.0 - above(94.0)) + above(106.0)
    assert report.pop == pytest.approx(closed, abs=1e-8)
    assert report.pop_lognormal == pytest.approx(closed, abs=1e-8)
    assert report.atm_iv == pytest.approx(0.3, abs=1e-12)


def test_pop_follows_the_skew(skewed: Smile) -> None:
    # A short put far below: the skewed smile puts more mass there than the lognormal.
    legs = [Leg(skewed.expiry, 23_600.0, PUT, SELL, 75.0, 5.0)]
    report = evaluate_strategy(legs, {skewed.expiry: skewed}, skewed.spot, skewed.as_of)
    assert report.breakevens == (23_595.0,)
    assert report.pop < report.pop_lognormal
    # P(S_T > 23,595) = −∂c/∂K on the smile, by a central difference of its prices.
    growth = math.exp(skewed.r * skewed.T)

    def call(k: float) -> float:
        iv = float(skewed.iv([k])[0])
        return growth * float(bs_price(skewed.spot, k, skewed.T, skewed.r, skewed.q, iv, True))

    digital = -(call(23_595.5) - call(23_594.5))
    assert report.pop == pytest.approx(digital, abs=1e-6)


# --- a synthetic: long call + short put − underlying ---------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    strike=st.sampled_from(STRIKES.tolist()),
    call=st.floats(0.0, 30.0),
    put=st.floats(0.0, 30.0),
    entry=st.floats(50.0, 150.0),
    qty=st.floats(0.1, 100.0),
    spot=st.floats(70.0, 130.0),
)
def test_a_synthetic_less_the_underlying_is_flat(
    strike: float, call: float, put: float, entry: float, qty: float, spot: float
) -> None:
    """Put-call parity: C − P − S is constant at expiry (S0 − K − c + p per unit) and, with
    no yield and one IV at the strike, today (−K·e^{−rT} + S0 − c + p)."""
    sm = smile(sigma=np.linspace(0.3, 0.15, STRIKES.size), r=0.05)
    legs = [
        option(strike, CALL, BUY, call, qty), option(strike, PUT, SELL, put, qty),
        Leg(None, None, None, SELL, qty, entry),
    ]  # fmt: skip
    report = evaluate(legs, {NEAR: sm}, spot=spot)
    constant = qty * (entry - strike - call + put)
    scale = qty * (strike + entry + call + put)
    assert report.payoff.expiry == pytest.approx(np.full(report.payoff.spots.size, constant),
                                                 abs=1e-12 * scale)  # fmt: skip
    today = qty * (entry - strike * math.exp(-0.05 * 30 / 365) - call + put)
    assert report.payoff.today == pytest.approx(np.full(report.payoff.spots.size, today),
                                                abs=1e-10 * scale)  # fmt: skip
    assert report.max_profit == pytest.approx(constant, abs=1e-12 * scale)
    assert report.max_loss == pytest.approx(-constant, abs=1e-12 * scale)
    assert report.greeks.delta == pytest.approx(0.0, abs=1e-12 * qty)
    assert report.greeks.gamma == pytest.approx(0.0, abs=1e-12 * qty)
    assert report.greeks.vega == pytest.approx(0.0, abs=1e-12 * scale)
    assert report.pop in (0.0, 1.0) or abs(constant) <= 1e-12 * scale


# --- bad input ------------------------------------------------------------------------------


GOOD = option(100.0, CALL, BUY, 5.0)


@pytest.mark.parametrize(
    ("legs", "field"),
    [
        ([], "legs"),
        ([GOOD] * 21, "legs"),
        ([Leg(None, None, None, BUY, 1.0, 100.0)], "legs"),
        ([GOOD, dataclasses.replace(GOOD, expiry=FAR)], "legs[1].expiry"),
        ([dataclasses.replace(GOOD, expiry=None)], "legs[0].expiry"),
        ([dataclasses.replace(GOOD, strike=102.5)], "legs[0].strike"),
        ([dataclasses.replace(GOOD, strike=None)], "legs[0].strike"),
        ([dataclasses.replace(GOOD, strike=math.nan)], "legs[0].strike"),
        ([GOOD, Leg(None, 100.0, None, BUY, 1.0, 100.0)], "legs[1].strike"),
        ([dataclasses.replace(GOOD, quantity=0.0)], "legs[0].quantity"),
        ([dataclasses.replace(GOOD, quantity=-1.0)], "legs[0].quantity"),
        ([dataclasses.replace(GOOD, quantity=math.inf)], "legs[0].quantity"),
        ([dataclasses.replace(GOOD, price=math.nan)], "legs[0].price"),
        ([dataclasses.replace(GOOD, price=math.inf)], "legs[0].price"),
        ([dataclasses.replace(GOOD, price=-0.5)], "legs[0].price"),
        ([dataclasses.replace(GOOD, side="BUY ")], "legs[0].side"),
        ([dataclasses.replace(GOOD, option_type="C")], "legs[0].option_type"),
    ],
)
def test_bad_legs_name_their_field(legs: list[Leg], field: str) -> None:
    with pytest.raises(StrategyInputError) as caught:
        evaluate(legs)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)


def test_bad_request_fields_are_named() -> None:
    def field_of(**kwargs: Any) -> str:
        with pytest.raises(StrategyInputError) as caught:
            evaluate([GOOD], **kwargs)
        return caught.value.field

    expires = NOW + dt.timedelta(days=30)
    assert field_of(now=expires) == "legs[0].expiry"  # expired
    assert field_of(now=NOW.replace(tzinfo=None)) == "now"
    assert field_of(spot=0.0) == "spot"
    assert field_of(spot=math.nan) == "spot"
    assert field_of(spot=True) == "spot"
    assert field_of(dates=[expires]) == "dates[0]"
    assert field_of(dates=[NOW + dt.timedelta(days=1), NOW]) == "dates[1]"
    assert field_of(dates=[NOW + dt.timedelta(days=1)] * 9) == "dates"
    assert field_of(grid=[100.0]) == "grid"
    assert field_of(grid=[100.0, -1.0]) == "grid"
    assert field_of(grid=[[1.0, 2.0]]) == "grid"
    assert field_of(grid=["a", "b"]) == "grid"


def test_the_package_exports_strategies_on_first_use() -> None:
    """``import optionsmath`` (the worker's) does not load SciPy's interpolation; the
    strategy names resolve from the package all the same."""
    code = (
        "import sys, optionsmath\n"
        "assert 'optionsmath.strategy' not in sys.modules\n"
        "assert 'scipy.interpolate' not in sys.modules\n"
        "from optionsmath import evaluate_strategy, risk_neutral_density, Smile\n"
        "import optionsmath.strategy as s, optionsmath.density as d\n"
        "assert evaluate_strategy is s.evaluate_strategy and Smile is s.Smile\n"
        "assert risk_neutral_density is d.risk_neutral_density\n"
        "assert set(optionsmath.__all__) <= set(dir(optionsmath))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        optionsmath.nothing  # noqa: B018
