"""GEX: a chain worked by hand, the strike sums and walls, and the flip's closed form."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from optionsmath.bsm import bs_greeks, bs_price
from optionsmath.gex import GexBook, flip_level, flip_levels, option_gex, strike_gex, total_gex_at


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def test_one_call_at_the_money_by_hand() -> None:
    # S = K = 100, T = 1, σ = 0.2, r = q = 0: d1 = σ√T/2 = 0.1, Γ = φ(0.1)/(S σ √T).
    gamma = _phi(0.1) / (100 * 0.2)
    assert gamma == pytest.approx(0.019847627374, rel=1e-10)
    assert float(bs_greeks(100.0, 100.0, 1.0, 0.0, 0.0, 0.2, True)["gamma"]) == pytest.approx(
        gamma, rel=1e-12
    )
    # 1,000 contracts of 1 unit: Γ·OI·S²·0.01 = 0.0198476·1000·10,000·0.01 = 1,984.76.
    gex = option_gex(np.array([gamma]), np.array([1000.0]), 100.0, np.array([True]), 1.0)
    assert gex[0] == pytest.approx(1984.7627, rel=1e-7)
    put = option_gex(np.array([gamma]), np.array([1000.0]), 100.0, np.array([False]), 75.0)
    assert put[0] == pytest.approx(-1984.7627 * 75, rel=1e-7)  # dealers short the puts


def test_gex_is_the_dollar_gamma_of_a_one_percent_move() -> None:
    # Γ from a central difference of the price: GEX = Γ·S²·0.01 per unit of OI.
    S, K, T, r, q, vol = 24_000.0, 24_500.0, 0.05, 0.065, 0.012, 0.14
    h = S * 1e-4
    up, mid, down = (float(bs_price(s, K, T, r, q, vol, True)) for s in (S + h, S, S - h))
    fd_gamma = (up - 2 * mid + down) / (h * h)
    gamma = float(bs_greeks(S, K, T, r, q, vol, True)["gamma"])
    assert gamma == pytest.approx(fd_gamma, rel=1e-4)
    gex = option_gex(np.array([gamma]), np.array([1.0]), S, np.array([True]), 1.0)[0]
    assert gex == pytest.approx(fd_gamma * S * S * 0.01, rel=1e-4)


def test_on_a_forward_or_on_spot_the_same_gex() -> None:
    # Γ_F·F² = Γ_S·S² when F = S·e^{(r−q)T}: the enricher's gamma on either underlying works.
    S, K, T, r, q, vol = 100.0, 95.0, 0.5, 0.05, 0.01, 0.3
    F = S * math.exp((r - q) * T)
    on_spot = float(bs_greeks(S, K, T, r, q, vol, False)["gamma"])
    on_forward = float(bs_greeks(F, K, T, r, r, vol, False)["gamma"])  # Black-76: q = r
    assert on_forward * F * F == pytest.approx(on_spot * S * S, rel=1e-12)


def test_strike_sums_totals_and_walls() -> None:
    strikes = np.array([100.0, 110.0, 100.0, 90.0, 110.0, 90.0])
    is_call = np.array([True, True, False, False, True, True])
    gex = np.array([50.0, 80.0, -30.0, -70.0, 25.0, 5.0])  # two expiries share 110
    by = strike_gex(strikes, gex, is_call)
    assert by.strikes.tolist() == [90.0, 100.0, 110.0]
    assert by.call_gex.tolist() == [5.0, 50.0, 105.0]
    assert by.put_gex.tolist() == [-70.0, -30.0, 0.0]
    assert by.net_gex.tolist() == [-65.0, 20.0, 105.0]
    assert (by.total_call, by.total_put, by.total_net) == (160.0, -100.0, 60.0)
    assert (by.call_wall, by.put_wall) == (110.0, 90.0)
    empty = strike_gex(np.array([100.0]), np.array([0.0]), np.array([True]))
    assert (empty.call_wall, empty.put_wall) == (None, None)


def test_a_missing_iv_counts_nothing() -> None:
    gex = option_gex(
        np.array([np.nan, 0.01]), np.array([10.0, np.nan]), 100.0, np.array([True, False]), 1.0
    )
    assert gex.tolist() == [0.0, 0.0]


def _book(strikes: list[float], calls: list[bool], T: float = 1.0, vol: float = 0.2) -> GexBook:
    n = len(strikes)
    one = np.ones(n)
    return GexBook(
        strike=np.array(strikes), T=one * T, iv=one * vol, oi=one * 1000.0,
        is_call=np.array(calls), carry=one, rate=one * 0.0, yield_=one * 0.0,
        contract_size=one, starts=np.array([0]),
    )  # fmt: skip


def test_the_flip_of_a_call_above_and_a_put_below_has_a_closed_form() -> None:
    # Equal OI, σ and T, r = q = 0: the net is zero where Γ(S; 110) = Γ(S; 90), i.e.
    # d1(110) = −d1(90): S* = √(110·90)·e^{−σ²T/2} = 97.5285...
    book = _book([110.0, 90.0], [True, False])
    expected = math.sqrt(110 * 90) * math.exp(-0.5 * 0.2**2)
    flip = flip_level(book, 100.0)
    assert flip == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(97.52849, rel=1e-6)
    # Below the flip the puts dominate (negative), above it the calls.
    below, above = total_gex_at(book, np.array([expected * 0.99, expected * 1.01]))
    assert below < 0 < above


def test_no_flip_when_the_sign_never_changes() -> None:
    assert flip_level(_book([95.0, 100.0, 105.0], [True, True, True]), 100.0) is None
    # Nothing to value: a zero IV is left out, then nothing remains.
    book = _book([100.0], [True])
    dead = dataclasses.replace(book, iv=np.array([0.0]))
    assert flip_level(dead, 100.0) is None
    assert flip_level(book, float("nan")) is None


def test_the_flip_nearest_the_spot_wins() -> None:
    # Puts at 80, calls at 100, puts at 120: the net changes sign twice around 100.
    book = _book([80.0, 100.0, 100.0, 120.0], [False, True, True, False], T=0.25, vol=0.25)
    flips = []
    for spot in (90.0, 110.0):
        flip = flip_level(book, spot, span=0.3, points=61)
        assert flip is not None
        low, high = total_gex_at(book, np.array([flip * 0.999, flip * 1.001]))
        assert low * high < 0
        flips.append(flip)
    assert flips[0] < 100.0 < flips[1]


def test_total_gex_matches_the_greeks_on_spot_and_on_the_forward() -> None:
    # The flip's fast path (Γ·U² = e^{−qT}·φ(d1)·U/(σ√T)) against bs_greeks' gamma, with
    # the options on spot (carry 1, yield q) and on the forward (carry e^{(r−q)T}, q = r).
    strikes, calls, T, r, q = [90.0, 100.0, 110.0], [False, True, True], 0.3, 0.05, 0.02
    base = _book(strikes, calls, T=T, vol=0.25)
    on_spot = dataclasses.replace(base, rate=np.full(3, r), yield_=np.full(3, q))
    on_forward = dataclasses.replace(
        base, rate=np.full(3, r), yield_=np.full(3, r), carry=np.full(3, math.exp((r - q) * T))
    )
    for spot in (92.0, 100.0, 107.5):
        greeks = bs_greeks(spot, np.array(strikes), T, r, q, 0.25, np.array(calls))
        gamma = np.asarray(greeks["gamma"])
        expected = option_gex(gamma, np.full(3, 1000.0), spot, np.array(calls), 1.0).sum()
        for book in (on_spot, on_forward):
            assert total_gex_at(book, np.array([spot]))[0] == pytest.approx(expected, rel=1e-10)


def test_flips_of_several_chains_at_once() -> None:
    # Two chains laid end to end, each with its own closed-form flip; a third with none.
    one, two = _book([110.0, 90.0], [True, False]), _book([220.0, 180.0], [True, False], vol=0.3)
    three = _book([95.0, 100.0], [True, True])
    parts = (one, two, three)
    joined = GexBook(
        **{
            f.name: np.concatenate([getattr(b, f.name) for b in parts])
            for f in dataclasses.fields(GexBook)
            if f.name != "starts"
        },
        starts=np.array([0, 2, 4]),
    )
    flips = flip_levels(joined, np.array([100.0, 200.0, 100.0]))
    assert flips[0] == pytest.approx(math.sqrt(110 * 90) * math.exp(-0.5 * 0.2**2), rel=1e-9)
    assert flips[1] == pytest.approx(math.sqrt(220 * 180) * math.exp(-0.5 * 0.3**2), rel=1e-9)
    assert math.isnan(flips[2])
