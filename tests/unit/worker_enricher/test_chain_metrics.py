"""Hand-worked examples for max pain, PCR, ATM, buildup and 25-delta skew."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.schemas import Buildup
from worker_enricher.analytics import classify_buildup, max_pain
from worker_enricher.analytics.chain_metrics import (
    BUILDUP_BY_CODE,
    aligned_previous,
    atm_index,
    ratio,
    skew_25d,
    vol_at_delta,
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
