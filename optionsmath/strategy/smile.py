"""One expiry's smile as the strategy math reads it, built from an enriched chain.

The implied volatility of a strike is a clamped cubic spline of the chain's IVs against
log-moneyness ``k = ln(K/F₀)``, ``F₀`` the chain's forward when it was enriched, with
flat extrapolation beyond the outermost strikes (the clamp makes the slope zero there, so
the smile is C¹ everywhere and C² between the strikes: the density, ``∂²C/∂K²``, has no
spikes). All strikes of one expiry share one ``T``, so interpolating the IV or the total
variance ``σ²T`` in ``k`` is the same choice up to the spline's curvature; the IV is used.
The smile is sticky strike: it does not move with spot (``F₀`` is fixed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import CubicSpline

from common.messages.enums import ForwardSource, OptionType
from common.products import ProductConventions
from common.timestamps import SECONDS_PER_YEAR, parse_expiry, parse_ts
from optionsmath.chain_metrics import FloatArray
from optionsmath.rows import quote_price, stacked_rows

MIN_IV = 1e-4
"""The spline's floor (0.01 % per year): a spline through noisy wings may dip below zero."""


@dataclass(frozen=True, slots=True)
class Smile:
    """One expiry's IVs and what prices its options (build it from a chain with
    :func:`smile_of`).

    ``as_of`` is the chain's timestamp (aware), ``T`` its years (ACT/365) to the expiry
    instant; ``r`` the product's rate and ``q`` the yield that carries ``spot`` to the
    chain's forward, ``forward = spot·e^{(r−q)T}`` (per year, continuous). ``strikes`` and
    ``ivs`` (decimals per year) are the spline's nodes, strikes increasing; ``listed`` every
    strike of the chain, with ``call_prices`` and ``put_prices`` its quote prices (NaN:
    none).
    """

    expiry: dt.date
    as_of: dt.datetime
    T: float
    spot: float
    r: float
    q: float
    strikes: FloatArray
    ivs: FloatArray
    listed: FloatArray
    call_prices: FloatArray
    put_prices: FloatArray
    _spline: CubicSpline | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be an aware datetime")
        numbers = (self.T, self.spot, self.r, self.q)
        if not all(math.isfinite(v) for v in numbers) or self.T <= 0.0 or self.spot <= 0.0:
            raise ValueError("T and spot must be positive, r and q finite")
        k, ivs = np.log(self.strikes / self.forward), self.ivs
        if k.ndim != 1 or k.size == 0 or k.shape != ivs.shape or not np.isfinite(k).all():
            raise ValueError("strikes and ivs must be non-empty, of one length, positive")
        if (np.diff(k) <= 0.0).any() or not (np.isfinite(ivs) & (ivs > 0.0)).all():
            raise ValueError("strikes must increase and ivs be positive")
        if not (self.listed.shape == self.call_prices.shape == self.put_prices.shape):
            raise ValueError("listed, call_prices and put_prices must have one length")
        if not np.isfinite(self.listed).all() or (np.diff(self.listed) <= 0.0).any():
            raise ValueError("listed strikes must be finite and increasing")
        spline = CubicSpline(k, ivs, bc_type="clamped") if k.size > 1 else None
        object.__setattr__(self, "_spline", spline)

    @classmethod
    def of_ivs(
        cls, expiry: dt.date, as_of: dt.datetime, T: float, spot: float, r: float, q: float,
        strikes: ArrayLike, ivs: ArrayLike,
    ) -> Smile:  # fmt: skip
        """A smile listing only its nodes, without quote prices."""
        nodes = np.asarray(strikes, dtype=np.float64)
        nan = np.full(nodes.shape, np.nan)
        return cls(
            expiry, as_of, T, spot, r, q, nodes, np.asarray(ivs, np.float64), nodes, nan, nan
        )

    @property
    def forward(self) -> float:
        """The chain's forward ``spot·e^{(r−q)T}``: log-moneyness is taken against it."""
        return self.spot * math.exp((self.r - self.q) * self.T)

    @property
    def expires_at(self) -> dt.datetime:
        """The expiry instant, ``T`` years after ``as_of``."""
        return self.as_of + dt.timedelta(seconds=self.T * SECONDS_PER_YEAR)

    def years_to_expiry(self, moment: dt.datetime) -> float:
        """ACT/365 years from ``moment`` to the expiry (negative once expired)."""
        return self.T - (moment - self.as_of).total_seconds() / SECONDS_PER_YEAR

    def iv(self, strikes: ArrayLike) -> FloatArray:
        """The IV (per year) of each strike, on the spline, flat beyond the nodes."""
        return self.iv_derivatives(strikes)[0]

    def iv_derivatives(self, strikes: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``σ(K)``, ``dσ/dK`` and ``d²σ/dK²`` at each strike (zero slopes beyond the nodes)."""
        K = np.asarray(strikes, dtype=np.float64)
        if self._spline is None:
            flat = np.full(K.shape, float(self.ivs[0]))
            return flat, np.zeros(K.shape), np.zeros(K.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.log(K / self.forward)
        lo, hi = self._spline.x[0], self._spline.x[-1]
        inside = (k > lo) & (k < hi)
        at = np.clip(k, lo, hi)
        # The end nodes' own IVs at and beyond them: the spline there gives them only to an ulp,
        # which differs between machines.
        ends = np.where(k <= lo, self.ivs[0], np.where(k >= hi, self.ivs[-1], np.nan))
        sigma = np.maximum(np.where(inside, self._spline(at), ends), MIN_IV)
        # dσ/dK = σ_k/K and d²σ/dK² = (σ_kk − σ_k)/K², with k = ln(K/F₀).
        s_k = np.where(inside, self._spline(at, 1), 0.0)
        s_kk = np.where(inside, self._spline(at, 2), 0.0)
        return sigma, s_k / K, (s_kk - s_k) / (K * K)

    def price(self, strike: float, option_type: OptionType) -> float | None:
        """The chain's quote price (mid, else last) of a listed strike; ``None`` without one."""
        at = self._listed_index(strike)
        if at is None:
            return None
        prices = self.call_prices if option_type is OptionType.CALL else self.put_prices
        value = float(prices[at])
        return value if math.isfinite(value) else None

    def listed_strike(self, strike: float) -> float | None:
        """The listed strike equal to ``strike`` (to 1e-12 relative), ``None`` if none is."""
        at = self._listed_index(strike)
        return None if at is None else float(self.listed[at])

    def _listed_index(self, strike: float) -> int | None:
        """Where ``strike`` is listed (decimal strikes compare to 1e-12: binary rounding)."""
        if not math.isfinite(strike):
            return None
        at = int(np.searchsorted(self.listed, strike))
        for i in (at - 1, at):
            if 0 <= i < self.listed.size and abs(self.listed[i] - strike) <= 1e-12 * abs(strike):
                return i
        return None

    def atm_strike(self) -> float:
        """The listed strike nearest the forward, ties to the lower (as ``enrich_chain``)."""
        distance = np.abs(self.listed - self.forward)
        near = distance <= distance.min() + 1e-12 * self.forward
        return float(self.listed[np.flatnonzero(near)[0]])


def smile_of(chain: Mapping[str, Any], conventions: ProductConventions) -> Smile:
    """The smile of an enriched chain message (docs/MESSAGES.md) of a product priced with
    ``conventions`` (its rate; its yield when the forward is the carry).

    Each strike's node is its out-of-the-money option's IV (the put below the forward, the
    call at or above it), else the other side's; a strike with neither is not a node but
    stays listed. ``ValueError`` for a chain without a usable expiry, timestamp,
    ``time_to_expiry``, spot or forward, or without any IV.
    """
    try:
        expiry, as_of = parse_expiry(chain["expiry"]), parse_ts(chain["timestamp"])
        T, spot = float(chain["time_to_expiry"]), float(chain["spot_price"])
        listed = np.asarray(chain["strikes"], dtype=np.float64)
        source = chain.get("forward_source", ForwardSource.CARRY.value)
        forward = float(chain.get("forward") or math.nan)
        matrix, _, errors = stacked_rows([chain])
    except KeyError as exc:
        raise ValueError(f"chain message has no {exc} field") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"unusable chain message: {exc}") from exc
    if errors[0] is not None:
        raise errors[0]
    if not (T > 0.0 and spot > 0.0 and math.isfinite(T) and math.isfinite(spot)):
        raise ValueError(f"unusable chain: time_to_expiry {T}, spot_price {spot}")
    r = conventions.rate
    if source == ForwardSource.CARRY.value or not (forward > 0.0 and math.isfinite(forward)):
        q = conventions.dividend_yield
    else:
        q = r - math.log(forward / spot) / T
    call_iv, put_iv = (_ivs(chain[side]) for side in ("calls", "puts"))
    money = spot * math.exp((r - q) * T)
    ivs = _node_ivs(listed, call_iv, put_iv, money, T)
    nodes = np.flatnonzero(np.isfinite(ivs) & (ivs > 0.0))
    if nodes.size == 0:
        raise ValueError(f"the chain of {expiry} has no implied volatility")
    prices = quote_price(matrix)
    n = listed.size
    return Smile(expiry, as_of, T, spot, r, q, listed[nodes], ivs[nodes], listed,
                 prices[:n], prices[n:])  # fmt: skip


def _node_ivs(
    strikes: FloatArray, call_iv: FloatArray, put_iv: FloatArray, forward: float, T: float
) -> FloatArray:
    """Each strike's node IV: the out-of-the-money side's (the put below the forward, the
    call above), else the other side's; where both are quoted within ``BLEND`` standard
    deviations of the forward, a blend moving linearly from the put's IV to the call's
    across the forward. A chain whose call and put IVs differ at one strike (a quoted
    spread, a forward a little off) would otherwise jump there, and the jump becomes a
    spike in the density (the second derivative of the price)."""
    otm = np.where(strikes >= forward, call_iv, put_iv)
    itm = np.where(strikes >= forward, put_iv, call_iv)
    ivs = np.where(np.isfinite(otm), otm, itm)
    both = np.isfinite(call_iv) & np.isfinite(put_iv)
    if not both.any():
        return ivs
    sigma = float(np.nanmedian(np.where(both, (call_iv + put_iv) / 2, np.nan)))
    band = BLEND * sigma * math.sqrt(T)
    if not band > 0.0:
        return ivs
    weight = np.clip(0.5 + np.log(strikes / forward) / (2.0 * band), 0.0, 1.0)
    blended = weight * call_iv + (1.0 - weight) * put_iv
    return np.where(both & (weight > 0.0) & (weight < 1.0), blended, ivs)


BLEND = 0.5
"""Half-width, in standard deviations of log-spot (``σ√T``), of the band around the forward
where a node blends the put's and the call's IVs."""


def _ivs(rows: Any) -> FloatArray:
    """The rows' ``iv`` fields as floats, NaN where absent or not a number."""
    return np.array(
        [v if isinstance(v := row.get("iv"), int | float) and not isinstance(v, bool)
         else math.nan for row in rows],
        dtype=np.float64,
    )  # fmt: skip
