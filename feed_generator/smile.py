"""Implied volatility surface: SSVI smiles on a stochastic ATM term structure.

Total implied variance at log-moneyness ``k = ln(K/F)`` and ATM total variance
``θ`` (Gatheral & Jacquier, "Arbitrage-free SVI volatility surfaces", 2014):

    w(k, θ) = θ/2 · (1 + ρ·φ·k + √((φ·k + ρ)² + 1 − ρ²)),   φ(θ) = η / (θ^γ · (1 + θ)^{1−γ})

With ``0 < γ ≤ ½`` and ``η·(1 + |ρ|) ≤ 2`` the slice has no butterfly arbitrage
for every θ (their Theorem 4.2 with Remark 4.4), and with θ increasing in T the
surface has no calendar arbitrage either (their Theorem 4.1).

The ATM term structure is the expected average variance of the volatility
process (``process.py``), scaled by a variance risk premium:

    θ(T) = p² · (σ̄²·T + (σ_t² − σ̄²)·(1 − e^{−κT})/κ)

so short expiries follow the current volatility ``σ_t``, long ones its mean
``σ̄``: an inverted term structure after a sell-off, an upward one in calm markets.
``dθ/dT = p²·(σ̄² + (σ_t² − σ̄²)·e^{−κT}) > 0``, so θ always increases with T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SmileParams:
    """Shape of a product's smile; the level comes from the volatility process."""

    rho: float = -0.5
    """Skew: negative puts the higher volatilities on low strikes (equity skew)."""
    eta: float = 1.0
    """Curvature level of φ(θ)."""
    gamma: float = 0.5
    """Decay of curvature with θ: short expiries smile more."""
    vol_premium: float = 1.05
    """ATM implied over expected realised diffusion volatility."""

    def __post_init__(self) -> None:
        if not -1.0 < self.rho < 1.0:
            raise ValueError("rho must lie strictly between -1 and 1")
        if not 0.0 < self.gamma <= 0.5:
            raise ValueError("gamma must lie in (0, 0.5]")
        if not 0.0 < self.eta * (1.0 + abs(self.rho)) <= 2.0:
            raise ValueError("eta·(1+|rho|) must lie in (0, 2] (no butterfly arbitrage)")
        if not self.vol_premium > 0.0:
            raise ValueError("vol_premium must be positive")


def phi(theta: ArrayLike, params: SmileParams) -> FloatArray:
    """Power-law curvature φ(θ) = η / (θ^γ (1+θ)^{1−γ})."""
    th = np.asarray(theta, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return params.eta / (th**params.gamma * (1.0 + th) ** (1.0 - params.gamma))


def ssvi_total_variance(k: ArrayLike, theta: ArrayLike, params: SmileParams) -> FloatArray:
    """Total implied variance w(k, θ) (σ²·T, dimensionless) at log-moneyness ``k = ln(K/F)``."""
    k_ = np.asarray(k, dtype=np.float64)
    th = np.asarray(theta, dtype=np.float64)
    pk = phi(th, params) * k_
    rho = params.rho
    return 0.5 * th * (1.0 + rho * pk + np.sqrt((pk + rho) ** 2 + 1.0 - rho * rho))


def butterfly_margins(theta: ArrayLike, params: SmileParams) -> tuple[FloatArray, FloatArray]:
    """Gatheral-Jacquier's two butterfly conditions as margins that must be positive.

    ``4 − θφ(1+|ρ|) > 0`` and ``4 − θφ²(1+|ρ|) ≥ 0``.
    """
    th = np.asarray(theta, dtype=np.float64)
    f = phi(th, params)
    a = 1.0 + abs(params.rho)
    return 4.0 - th * f * a, 4.0 - th * f * f * a


@dataclass(frozen=True, slots=True)
class Smile:
    """The surface at one instant: SSVI slices on the ATM term structure of ``spot_vol``."""

    params: SmileParams
    spot_vol: float
    """σ_t: the process's current diffusion volatility, per year."""
    long_run_vol: float
    """σ̄, per year."""
    mean_reversion: float
    """κ, per year."""

    def atm_total_variance(self, T: ArrayLike) -> FloatArray:
        """θ(T) for ``T`` in years; 0 where ``T ≤ 0``."""
        t = np.maximum(np.asarray(T, dtype=np.float64), 0.0)
        kappa = self.mean_reversion
        excess = self.spot_vol**2 - self.long_run_vol**2
        theta = self.long_run_vol**2 * t + excess * -np.expm1(-kappa * t) / kappa
        return np.asarray(self.params.vol_premium**2 * theta, dtype=np.float64)

    def atm_vol(self, T: ArrayLike) -> FloatArray:
        """ATM implied volatility per year, ``√(θ(T)/T)``, for ``T > 0``."""
        t = np.asarray(T, dtype=np.float64)
        return np.asarray(np.sqrt(self.atm_total_variance(t) / t), dtype=np.float64)

    def total_variance(self, k: ArrayLike, T: ArrayLike) -> FloatArray:
        """w(k, T) at log-moneyness ``k = ln(K/F)`` and ``T`` in years."""
        return ssvi_total_variance(k, self.atm_total_variance(T), self.params)

    def implied_vol(self, k: ArrayLike, T: ArrayLike) -> FloatArray:
        """Implied volatility per year (decimal) at ``k = ln(K/F)`` for ``T > 0`` years."""
        t = np.asarray(T, dtype=np.float64)
        return np.asarray(np.sqrt(self.total_variance(k, t) / t), dtype=np.float64)
