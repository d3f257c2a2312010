"""Realised volatility: close-to-close log returns, sample stdev, ACT/365 annualisation."""

from __future__ import annotations

import math

import pytest

from analytics_service.calc.realized import (
    log_returns,
    periods_per_year,
    realized_by_candle,
    rolling_realized_vol,
)


def test_periods_per_year_count_calendar_minutes() -> None:
    assert periods_per_year(60) == 8760.0  # 365 × 24
    assert periods_per_year(1) == 525_600.0  # 365 × 24 × 60
    assert periods_per_year(15) == 35_040.0


def test_four_hourly_closes_by_hand() -> None:
    # closes 100, 101, 99, 100 → returns
    #   ln(101/100) =  0.0099503309
    #   ln(99/101)  = -0.0200006667
    #   ln(100/99)  =  0.0100503359
    # their sum is ln(100/100) = 0, so the mean is 0 and the sample variance is
    #   (0.0000990091 + 0.0004000267 + 0.0001010093) / (3 - 1) = 0.0006000450 / 2 = 0.0003000225
    # stdev 0.0173211576 per hour; × √8760 (= 93.5949) → 1.62117 per year
    returns = log_returns([100.0, 101.0, 99.0, 100.0])
    assert returns[0] is None
    assert returns[1:] == pytest.approx([0.0099503309, -0.0200006667, 0.0100503359], abs=1e-10)
    vols = rolling_realized_vol(returns, window=3, minutes_per_candle=60)
    assert vols[:3] == [None, None, None]  # three returns are known only at the fourth close
    assert vols[3] == pytest.approx(1.6211715, abs=1e-6)
    assert vols[3] == pytest.approx(math.sqrt(0.0006000450035669662 / 2) * math.sqrt(8760))


def test_window_rolls_forward() -> None:
    # a fifth close 102 adds ln(102/100) = 0.0198026273; the window drops ln(101/100)
    vols = rolling_realized_vol(log_returns([100.0, 101.0, 99.0, 100.0, 102.0]), 3, 60)
    r = [math.log(99 / 101), math.log(100 / 99), math.log(102 / 100)]
    mean = sum(r) / 3
    expected = math.sqrt(sum((x - mean) ** 2 for x in r) / 2 * 8760)
    assert vols[4] == pytest.approx(expected, rel=1e-12)
    assert vols[4] == pytest.approx(1.94175, abs=1e-5)


def test_constant_closes_have_zero_volatility() -> None:
    assert rolling_realized_vol(log_returns([50.0] * 4), 2, 1) == [None, None, 0.0, 0.0]


def test_a_gap_or_bad_close_breaks_the_returns_around_it() -> None:
    closes = [100.0, 101.0, None, 99.0, 100.0, 0.0, 101.0]
    returns = log_returns(closes)
    assert [r is None for r in returns] == [True, False, True, True, False, True, True]
    vols = rolling_realized_vol(returns, 2, 60)
    assert vols == [None] * 7  # never two known returns in a row
    assert rolling_realized_vol([None, 0.01], 3, 60) == [None, None]  # shorter than a window


def test_window_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        rolling_realized_vol([None, 0.1, 0.2], 1, 60)


def test_realized_by_candle_on_an_hourly_grid() -> None:
    hour = 3_600_000
    closes = {0: 100.0, hour: 101.0, 2 * hour: 99.0, 3 * hour: 100.0}
    # the grid starts two empty hours early, as the route's warm-up does
    got = realized_by_candle(closes, -2 * hour, 4 * hour, hour, 3)
    assert [t for t, _ in got] == [0, hour, 2 * hour, 3 * hour]
    assert [v for _, v in got][:3] == [None, None, None]
    assert got[3][1] == pytest.approx(1.6211715, abs=1e-6)  # the four closes by hand above
    del closes[2 * hour]  # a missing candle: no return spans it, no estimate
    assert [v for _, v in realized_by_candle(closes, 0, 4 * hour, hour, 2)] == [None] * 3
