"""Hand-worked examples for max pain, PCR, ATM, buildup and 25-delta skew; many chains at once."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.messages import Buildup
from optionsmath import classify_buildup, max_pain
from optionsmath.chain_metrics import (
    BUILDUP_BY_CODE,
    Segments,
    aligned_previous,
    atm_index,
    atm_indices,
    matching_indices,
    max_pain_segments,
    ratio,
    segment_sums,
    skew_25d,
    vol_at_delta,
    vol_at_delta_segments,
)


def test_max_pain_hand_worked() -> None:
    # Payout at 100: puts 20·10 + 10·20 = 400; at 110: calls 10·10 + puts 10·10 = 200;
    # at 120: calls 10·20 + 20·10 = 400. Minimum at 110.
    assert max_pain([100, 110, 120], [10, 20, 30], [30, 20, 10]) == 110.0


def test_max_pain_tie_goes_to_lower_strike() -> None:
    # Payout 50 at both strikes.
    assert max_pain([100, 110], [5, 0], [0, 5]) == 100.0
    # Payout 70 at 100, 0 at both 110 and 120: the tie goes to 110.
    assert max_pain([100, 110, 120], [0, 0, 0], [0, 7, 0]) == 110.0


def test_max_pain_without_open_interest_is_nan() -> None:
    assert math.isnan(max_pain([100, 110], [0, 0], [0, 0]))
    assert math.isnan(max_pain([], [], []))


def test_max_pain_ignores_nan_oi() -> None:
    assert max_pain([100, 110, 120], [10, math.nan, 30], [30, 20, 10]) == max_pain(
        [100, 110, 120], [10, 0, 30], [30, 20, 10]
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**7)), min_size=1, max_size=60),
    st.sampled_from(["0.05", "0.25", "2.5", "10", "50"]),
)
def test_max_pain_matches_exact_brute_force(oi: list[tuple[int, int]], step: str) -> None:
    """Exact rational payouts on decimal strike grids, ties to the lowest strike."""
    strikes = [Fraction(1000) + Fraction(step) * i for i in range(len(oi))]
    pain = [
        sum(c * max(k - ki, 0) + p * max(ki - k, 0) for ki, (c, p) in zip(strikes, oi, strict=True))
        for k in strikes
    ]
    got = max_pain([float(k) for k in strikes], [c for c, _ in oi], [p for _, p in oi])
    if sum(c + p for c, p in oi) == 0:
        assert math.isnan(got)
    else:
        assert got == float(strikes[pain.index(min(pain))])  # index(): first, the lowest strike


def test_max_pain_tie_on_decimal_strikes() -> None:
    # 0.05 is not a binary fraction; payout is 243·0.05 at both strikes: a tie, lower wins.
    assert max_pain([1000.0, 1000.05], [243, 0], [20, 243]) == 1000.0


def test_max_pain_near_tie_with_huge_open_interest() -> None:
    # Payout at 1000: 10,000,000,000 puts × 0.05 = 500,000,000; at 1000.05:
    # 9,999,999,999 calls × 0.05 = 499,999,999.95. Not a tie: 1000.05 wins.
    assert max_pain([1000.0, 1000.05], [9_999_999_999, 0], [0, 10_000_000_000]) == 1000.05


def test_ratio_convention() -> None:
    assert ratio(150.0, 100.0) == 1.5
    assert math.isnan(ratio(150.0, 0.0))
    assert ratio(0.0, 10.0) == 0.0
    assert math.isnan(ratio(math.nan, 10.0))


def test_atm_strike_nearest_with_ties_to_lower() -> None:
    strikes = np.array([100.0, 110.0, 120.0])
    assert atm_index(strikes, 104.9) == 0
    assert atm_index(strikes, 105.0) == 0  # tie: lower strike
    assert atm_index(strikes, 105.1) == 1
    assert atm_index(strikes, 500.0) == 2
    # Decimal strikes: 100.15 is exactly between, though the float distances differ by an ulp.
    assert atm_index(np.array([100.1, 100.2]), 100.15) == 0


def test_buildup_classes() -> None:
    price = np.array([1.0, -1.0, 1.0, -1.0, 0.0, 1.0, np.nan, 1.0])
    oi = np.array([5.0, 5.0, -5.0, -5.0, 5.0, 0.0, 5.0, np.nan])
    got = [BUILDUP_BY_CODE[c] for c in classify_buildup(price, oi)]
    assert got == [
        Buildup.LONG_BUILDUP, Buildup.SHORT_BUILDUP, Buildup.SHORT_COVERING,
        Buildup.LONG_UNWINDING, None, None, None, None,
    ]  # fmt: skip


def test_previous_values_aligned_by_strike() -> None:
    prev = aligned_previous(
        np.array([95.0, 100.0, 105.0, 110.0]),
        np.array([100.0, 105.0, 120.0]),
        np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]),
    )
    np.testing.assert_array_equal(prev[1:3], [[1.0, 10.0], [2.0, 20.0]])
    assert np.isnan(prev[0]).all()
    assert np.isnan(prev[3]).all()


def test_vol_at_delta_interpolates_only_inside_the_data() -> None:
    delta = np.array([0.1, 0.2, 0.3, np.nan])
    iv = np.array([0.30, 0.26, 0.22, 0.5])
    assert vol_at_delta(delta, iv, 0.25) == pytest.approx(0.24)
    assert math.isnan(vol_at_delta(delta, iv, 0.35))
    assert math.isnan(vol_at_delta(np.array([0.25]), np.array([0.2]), 0.25))


def test_skew_hand_worked() -> None:
    # σ(25Δ call) = 0.18, σ(25Δ put) = 0.22, ATM 0.19:
    # risk reversal −0.04, butterfly 0.20 − 0.19 = 0.01.
    rr, bf = skew_25d(
        np.array([0.5, 0.3, 0.2]), np.array([0.19, 0.19, 0.17]),
        np.array([-0.5, -0.3, -0.2]), np.array([0.19, 0.21, 0.23]), 0.19,
    )  # fmt: skip
    assert rr == pytest.approx(-0.04)
    assert bf == pytest.approx(0.01)


# -- many chains at once: every run bit for bit as its own chain ----------------------------


def same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal floats (any NaN equals any NaN); -0.0 and 0.0 differ."""
    return bool(np.array_equal(np.signbit(got), np.signbit(want))) and np.array_equal(
        got, want, equal_nan=True
    )


def one_run_vol_at_delta(delta: np.ndarray, iv: np.ndarray, target: float) -> float:
    """The one-chain definition: finite points sorted by delta, then np.interp inside them."""
    ok = np.isfinite(delta) & np.isfinite(iv)
    if ok.sum() < 2:
        return math.nan
    d, v = delta[ok], iv[ok]
    order = np.argsort(d, kind="stable")
    d, v = d[order], v[order]
    if not d[0] <= target <= d[-1]:
        return math.nan
    return float(np.interp(target, d, v))


# Deltas on a coarse grid, so ties, repeats and exact hits of ±0.25 are common.
DELTAS = st.one_of(
    st.sampled_from([0.0, 0.1, 0.25, 0.25, 0.3, 0.5, -0.25, -0.1, -0.5, 1.0, math.nan]),
    st.floats(-1.0, 1.0),
    st.floats(-1.0, 1.0).map(lambda x: 0.25 + x * 1e-300),  # next to the target
)
IVS = st.one_of(
    st.floats(0.01, 3.0), st.sampled_from([0.2, 0.2, math.nan, math.inf, 1e308, 5e-324])
)
RUNS = st.lists(st.lists(st.tuples(DELTAS, IVS), min_size=0, max_size=12), min_size=1, max_size=8)


def runs_of(data: list[list[Any]]) -> tuple[Segments, list[np.ndarray]]:
    runs = Segments.of_sizes([len(r) for r in data])
    columns = [np.array([x for r in data for x in (p[k] for p in r)], dtype=float) for k in (0, 1)]
    return runs, columns


@settings(max_examples=150, deadline=None)
@given(RUNS, st.lists(st.sampled_from([0.25, -0.25, 0.0, 0.3]), min_size=8, max_size=8))
def test_vol_at_delta_segments_is_np_interp_run_by_run(
    data: list[list[tuple[float, float]]], targets: list[float]
) -> None:
    runs, (delta, iv) = runs_of(data)
    t = np.array(targets[: runs.count])
    with np.errstate(all="ignore"):  # np.interp on an overflowing slope
        want = np.array([
            one_run_vol_at_delta(delta[a : a + n], iv[a : a + n], x)
            for a, n, x in zip(runs.starts, runs.sizes, t, strict=True)
        ])  # fmt: skip
    assert same_bits(vol_at_delta_segments(delta, iv, runs, t), want)


OI = st.one_of(
    st.integers(0, 10**7).map(float),
    st.sampled_from([0.0, math.nan, 1e12, 0.5, 1234.25, 1 / 3, 2.0**52]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(OI, OI, OI, st.booleans()), min_size=1, max_size=40),
                min_size=1, max_size=6))  # fmt: skip
def test_sums_and_max_pain_of_runs_are_those_of_each_run(
    data: list[list[tuple[float, float, float, bool]]],
) -> None:
    runs = Segments.of_sizes([len(r) for r in data])
    flat = [row for r in data for row in r]
    values = np.array([row[:3] for row in flat])
    where = np.column_stack(
        [np.ones(len(flat), bool), [row[3] for row in flat], np.ones(len(flat), bool)]
    )
    strikes = np.concatenate([100.0 + 0.05 * np.arange(n) for n in runs.sizes])
    clean = np.where(np.isnan(values), 0.0, values)
    got_sums = segment_sums(clean, runs, where)
    got_pain = max_pain_segments(strikes, values[:, 0], values[:, 1], runs)
    for i, (a, n) in enumerate(zip(runs.starts, runs.sizes, strict=True)):
        run = slice(a, a + n)
        for k in range(3):
            want = np.ascontiguousarray(clean[run, k][where[run, k]]).sum()
            assert same_bits(got_sums[i : i + 1, k], np.array([want]))
        want_pain = max_pain(strikes[run], values[run, 0], values[run, 1])
        assert same_bits(got_pain[i : i + 1], np.array([want_pain]))


def one_run_aligned(strikes: np.ndarray, previous: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The one-chain definition of aligned_previous."""
    out = np.full(strikes.size, np.nan)
    if previous.size == 0:
        return out
    pos = np.clip(np.searchsorted(previous, strikes), 0, previous.size - 1)
    hit = np.abs(previous[pos] - strikes) <= 1e-9 * np.maximum(np.abs(strikes), 1.0)
    out[hit] = values[pos[hit]]
    return out


STRIKE_SETS = st.lists(
    st.sampled_from([-5.0, 0.0, 99.95, 100.0, 100.0 + 1e-10, 100.05, 1e6, math.inf]),
    max_size=6, unique=True,
).map(sorted)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(STRIKE_SETS.filter(lambda s: math.inf not in s), STRIKE_SETS),
                min_size=1, max_size=6))  # fmt: skip
def test_matching_and_atm_of_runs_are_those_of_each_run(
    pairs: list[tuple[list[float], list[float]]],
) -> None:
    pairs = [(cur or [1.0], prev) for cur, prev in pairs]
    runs = Segments.of_sizes([len(c) for c, _ in pairs])
    previous = Segments.of_sizes([len(p) for _, p in pairs])
    strikes = np.array([k for c, _ in pairs for k in c])
    prev_strikes = np.array([k for _, p in pairs for k in p], dtype=float)
    pos = matching_indices(strikes, runs.ids, prev_strikes, previous)
    spots = np.linspace(0.5, 2e5, runs.count)
    atm = atm_indices(strikes, spots, runs)
    for i, (cur, prev) in enumerate(pairs):
        a, b = runs.starts[i], runs.starts[i] + runs.sizes[i]
        labels = np.arange(len(prev), dtype=float)
        want = one_run_aligned(np.array(cur), np.array(prev, dtype=float), labels)
        got = np.where(pos[a:b] >= 0, pos[a:b] - previous.starts[i], np.nan)
        assert np.array_equal(got, want, equal_nan=True)
        distance = np.abs(np.array(cur) - spots[i])
        tie = 1e-12 * max(abs(spots[i]), 1.0)
        assert atm[i] == int(np.flatnonzero(distance <= distance.min() + tie)[0])
