"""change_pct bases: the value a window ago, from ten samples per rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alerts.window import PER_WINDOW, Samples


def test_no_base_until_a_sample_is_a_window_old() -> None:
    window = np.array([80.0])
    samples = Samples.empty(1)
    for t in range(0, 80, 5):
        samples = samples.add(float(t), np.array([100.0 + t]), window)
        assert math.isnan(samples.base(float(t), window)[0])
    assert samples.base(80.0, window)[0] == 100.0  # the sample of t = 0


@pytest.mark.parametrize("step", [0.5, 3.0, 7.0])
def test_the_base_is_between_one_window_and_one_window_and_an_interval_ago(step: float) -> None:
    # The value is the time itself, so the base says when it was sampled.
    window = np.array([80.0])
    samples = Samples.empty(1)
    t = 0.0
    while t < 400:
        samples = samples.add(t, np.array([t]), window)
        base = samples.base(t, window)[0]
        if t >= 80 + 80 / PER_WINDOW + step:
            assert t - 80 - 80 / PER_WINDOW - step <= base <= t - 80
        t += step


def test_rules_are_independent_and_nan_is_not_sampled() -> None:
    window = np.array([10.0, 20.0, np.nan])
    samples = Samples.empty(3)
    samples = samples.add(0.0, np.array([1.0, np.nan, 5.0]), window)
    samples = samples.add(20.0, np.array([2.0, 3.0, 6.0]), window)
    base = samples.base(20.0, window)
    assert base[0] == 1.0
    assert math.isnan(base[1])  # its first sample was NaN: nothing 20 s old
    assert math.isnan(base[2])  # not a change_pct rule
    assert samples.base(40.0, window)[1] == 3.0
