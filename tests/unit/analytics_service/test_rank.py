"""IV rank and percentile."""

from __future__ import annotations

import pytest

from analytics_service.calc.rank import iv_rank


def test_rank_and_percentile_by_hand() -> None:
    # min 0.10, max 0.20: rank = (0.15 - 0.10) / (0.20 - 0.10) · 100 = 50
    # below 0.15: 0.10 and 0.12 → 2 of 4 samples = 50 %
    got = iv_rank([0.10, 0.12, 0.20, 0.15], 0.15)
    assert got == {
        "observations": 4, "current_iv": 0.15, "min_iv": 0.10, "max_iv": 0.20,
        "iv_rank": pytest.approx(50.0), "iv_percentile": 50.0,
    }  # fmt: skip


def test_rank_at_the_extremes() -> None:
    samples = [0.2, 0.3, 0.25]
    assert iv_rank(samples, 0.3)["iv_rank"] == 100.0
    assert iv_rank(samples, 0.3)["iv_percentile"] == pytest.approx(200 / 3)  # 2 of 3 below
    assert iv_rank(samples, 0.2)["iv_rank"] == 0.0
    assert iv_rank(samples, 0.2)["iv_percentile"] == 0.0


def test_current_outside_the_samples_widens_the_range() -> None:
    # min 0.2, max 0.4 (the current value): rank 100, every sample below
    got = iv_rank([0.2, 0.3], 0.4)
    assert (got["min_iv"], got["max_iv"], got["iv_rank"], got["iv_percentile"]) == (
        0.2, 0.4, 100.0, 100.0,
    )  # fmt: skip


def test_no_rank_without_spread_samples_or_current() -> None:
    flat = iv_rank([0.2, 0.2], 0.2)
    assert (flat["iv_rank"], flat["iv_percentile"]) == (None, 0.0)
    # nothing sampled: min and max are still over the samples and the current value
    empty = iv_rank([], 0.2)
    assert empty == {"observations": 0, "current_iv": 0.2, "min_iv": 0.2, "max_iv": 0.2,
                     "iv_rank": None, "iv_percentile": None}  # fmt: skip
    nothing = iv_rank([], None)
    assert (nothing["min_iv"], nothing["max_iv"], nothing["observations"]) == (None, None, 0)
    no_current = iv_rank([0.1, 0.3], None)
    assert (no_current["min_iv"], no_current["max_iv"], no_current["iv_rank"]) == (0.1, 0.3, None)
    assert no_current["iv_percentile"] is None
