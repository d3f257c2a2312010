"""The underlying's jump diffusion with stochastic volatility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feed_generator.process import JumpDiffusion, ProcessParams

DAY = 1.0 / 365.0


def _process(seed: int = 1, **overrides: float) -> JumpDiffusion:
    params = ProcessParams(long_run_vol=0.15, **overrides)
    return JumpDiffusion(params, 24_000.0, np.random.default_rng(seed), r=0.065, q=0.01)


def test_jumps_arrive_at_the_configured_intensity() -> None:
    process = _process(jump_intensity=25.0)
    steps, years = 14_600, 40.0  # daily steps
    jumps = sum(process.step(years / steps).jumps for _ in range(steps))
    expected = 25.0 * years
    assert abs(jumps - expected) < 4.0 * math.sqrt(expected)


def test_no_jumps_when_intensity_is_zero() -> None:
    process = _process(jump_intensity=0.0)
    assert all(process.step(DAY).jumps == 0 for _ in range(1000))


def test_forward_is_a_martingale_with_compensated_jumps() -> None:
    """E[S_T] = S_0·e^{(r−q)T}: the jump compensator keeps the drift risk neutral."""
    process = _process(seed=3, jump_intensity=30.0, jump_mean=-0.05, jump_std=0.05)
    T, n = 1.0 / 12.0, 40_000
    finals = np.empty(n)
    for i in range(n):
        process.spot, process.log_vol = 100.0, math.log(0.15)
        finals[i] = process.step(T).spot
    expected = 100.0 * math.exp((0.065 - 0.01) * T)
    assert abs(finals.mean() - expected) < 4.0 * finals.std() / math.sqrt(n)


def test_leverage_makes_volatility_rise_when_the_price_falls() -> None:
    process = _process(seed=4, jump_intensity=0.0, leverage=-0.7)
    returns, vol_moves = [], []
    for _ in range(5000):
        before = process.log_vol
        returns.append(process.step(DAY).log_return)
        vol_moves.append(process.log_vol - before)
    corr = float(np.corrcoef(returns, vol_moves)[0, 1])
    assert -0.8 < corr < -0.6


def test_volatility_reverts_to_its_long_run_level() -> None:
    params = ProcessParams(long_run_vol=0.15, jump_intensity=0.0)
    process = JumpDiffusion(params, 100.0, np.random.default_rng(5), vol=0.45)
    vols = [process.step(DAY).vol for _ in range(20 * 365)]
    assert vols[0] > 0.4
    assert 0.12 < math.exp(np.mean(np.log(vols[365:]))) < 0.18
    assert all(v > 0.0 for v in vols)


def test_down_jumps_lift_volatility() -> None:
    params = ProcessParams(long_run_vol=0.15, vol_of_vol=0.0, jump_intensity=1e6, jump_std=0.0)
    process = JumpDiffusion(params, 100.0, np.random.default_rng(6))
    result = process.step(1e-6)  # about one jump of −1.5 %
    assert result.jumps >= 1
    assert result.vol > 0.15


def test_same_seed_same_path_different_seed_different_path() -> None:
    def path(seed: int) -> list[float]:
        process = _process(seed)
        return [process.step_seconds(0.2).spot for _ in range(500)]

    assert path(11) == path(11)
    assert path(11) != path(12)


def test_zero_step_draws_nothing_and_negative_step_is_refused() -> None:
    a, b = _process(7), _process(7)
    a.step(0.0)
    assert a.step(DAY) == b.step(DAY)
    with pytest.raises(ValueError, match="non-negative"):
        a.step(-1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"long_run_vol": 0.0},
        {"long_run_vol": 0.2, "leverage": -1.0},
        {"long_run_vol": 0.2, "jump_intensity": -1.0},
        {"long_run_vol": 0.2, "mean_reversion": 0.0},
    ],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        ProcessParams(**kwargs)
