"""The underlying's path: Merton jump diffusion with a mean-reverting stochastic volatility.

Per step of ``dt`` years, with ``σ = e^x`` the instantaneous diffusion volatility:

    ln S += (r − q − λ·m − σ²/2)·dt + σ·√dt·Z_s + Σ J_i,   N ~ Poisson(λ·dt), J_i ~ N(μ_J, δ_J²)
    x    ← x̄ + (x − x̄)·e^{−κ·dt} + ξ·√((1 − e^{−2κ·dt})/(2κ))·Z_v − β·Σ J_i

``m = e^{μ_J + δ_J²/2} − 1`` compensates the jumps, so the drift is risk neutral.
``corr(Z_s, Z_v) = ρ < 0`` is the leverage effect (volatility rises when the price
falls), and a down jump lifts volatility by ``β`` per unit of log return. The
log-volatility is an Ornstein-Uhlenbeck process, so ``σ`` stays positive and
reverts to ``σ̄ = e^{x̄}`` with rate ``κ`` per year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common.timestamps import SECONDS_PER_YEAR

VOL_BAND = math.log(5.0)
"""σ is kept within a factor of 5 of σ̄."""


@dataclass(frozen=True, slots=True)
class ProcessParams:
    """Parameters of the underlying's dynamics; rates and intensities per year."""

    long_run_vol: float
    """σ̄: the level the diffusion volatility reverts to (0.13 = 13 % a year)."""
    mean_reversion: float = 6.0
    """κ per year: a volatility shock halves in ln 2 / κ years (about six weeks at 6)."""
    vol_of_vol: float = 0.9
    """ξ: volatility of ln σ per √year."""
    leverage: float = -0.7
    """ρ: correlation of price and volatility shocks."""
    jump_intensity: float = 6.0
    """λ: expected jumps per year."""
    jump_mean: float = -0.015
    """μ_J: mean log size of a jump."""
    jump_std: float = 0.02
    """δ_J: standard deviation of a jump's log size."""
    jump_vol_beta: float = 3.0
    """β: rise of ln σ per unit of negative jump log return."""

    def __post_init__(self) -> None:
        if not self.long_run_vol > 0.0 or not self.mean_reversion > 0.0:
            raise ValueError("long_run_vol and mean_reversion must be positive")
        if self.vol_of_vol < 0.0 or self.jump_intensity < 0.0 or self.jump_std < 0.0:
            raise ValueError("vol_of_vol, jump_intensity and jump_std must be non-negative")
        if not -1.0 < self.leverage < 1.0:
            raise ValueError("leverage must lie strictly between -1 and 1")

    @property
    def jump_compensator(self) -> float:
        """``λ·m``: the drift correction that makes jumps mean-neutral for the forward."""
        m = math.exp(self.jump_mean + 0.5 * self.jump_std**2) - 1.0
        return self.jump_intensity * m


@dataclass(frozen=True, slots=True)
class StepResult:
    spot: float
    vol: float
    """Diffusion volatility after the step, per year."""
    log_return: float
    jumps: int
    """Number of jumps within the step."""


class JumpDiffusion:
    """One product's spot and volatility state, advanced by :meth:`step`."""

    def __init__(
        self,
        params: ProcessParams,
        spot: float,
        rng: np.random.Generator,
        *,
        r: float = 0.0,
        q: float = 0.0,
        vol: float | None = None,
    ) -> None:
        if not spot > 0.0:
            raise ValueError("spot must be positive")
        self.params = params
        self.rng = rng
        self.r = r
        self.q = q
        self.spot = spot
        self.log_vol = math.log(vol if vol is not None else params.long_run_vol)
        self._leverage_c = math.sqrt(1.0 - params.leverage**2)

    @property
    def vol(self) -> float:
        """Current diffusion volatility σ, per year."""
        return math.exp(self.log_vol)

    def step_seconds(self, seconds: float) -> StepResult:
        """Advance by ``seconds`` of calendar time (ACT/365)."""
        return self.step(seconds / SECONDS_PER_YEAR)

    def step(self, dt: float) -> StepResult:
        """Advance the state by ``dt`` years and return it; ``dt == 0`` draws nothing."""
        if dt < 0.0:
            raise ValueError("dt must be non-negative")
        if dt == 0.0:
            return StepResult(self.spot, self.vol, 0.0, 0)
        p = self.params
        z_s, z_o, z_j = self.rng.standard_normal(3)
        z_v = p.leverage * z_s + self._leverage_c * z_o
        n_jumps = int(self.rng.poisson(p.jump_intensity * dt)) if p.jump_intensity > 0 else 0
        jump = 0.0
        if n_jumps:
            # The sum of n normal jumps is one normal draw: n·μ_J + √n·δ_J·Z.
            jump = n_jumps * p.jump_mean + math.sqrt(n_jumps) * p.jump_std * float(z_j)
        sigma = self.vol
        drift = (self.r - self.q - p.jump_compensator - 0.5 * sigma * sigma) * dt
        log_return = drift + sigma * math.sqrt(dt) * float(z_s) + jump
        self.spot *= math.exp(log_return)
        decay = math.exp(-p.mean_reversion * dt)
        spread = p.vol_of_vol * math.sqrt((1.0 - decay * decay) / (2.0 * p.mean_reversion))
        anchor = math.log(p.long_run_vol)
        self.log_vol = anchor + (self.log_vol - anchor) * decay + spread * float(z_v)
        self.log_vol -= p.jump_vol_beta * min(jump, 0.0)
        # Keep σ within a plausible band around σ̄ whatever the draws were.
        self.log_vol = min(max(self.log_vol, anchor - VOL_BAND), anchor + VOL_BAND)
        return StepResult(self.spot, self.vol, log_return, n_jumps)
