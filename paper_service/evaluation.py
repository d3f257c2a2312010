"""``POST /strategies/evaluate`` without I/O: legs priced on the live market, evaluated by
the strategy math, laid out as the answer (``common.api.strategies.EvaluationSchema``).

The service adds nothing to the math's numbers: every figure is
:func:`~optionsmath.strategy.evaluate_strategy`'s at the newest chain's spot and the
request's ``now``. It chooses only what the math leaves to its caller: the spot (the
newest chain's), the prices left out (the live quotes), the grid when ``points`` is asked
for (:func:`payoff_grid`), and the densities read at the payoff's spots.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.api.strategies import DEFAULT_POINTS, MODEL
from common.products import ProductConventions
from common.timestamps import format_ts
from optionsmath.chain_metrics import FloatArray
from optionsmath.density import Density
from optionsmath.strategy import Leg, Smile, StrategyReport, evaluate_strategy
from optionsmath.strategy.payoff import default_grid
from paper_service.legs import LegSpec, priced_legs
from paper_service.market import LiveMarket


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    """A validated evaluate body: its legs, dates and grid size."""

    legs: tuple[LegSpec, ...]
    dates: tuple[dt.datetime, ...]
    points: int | None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> EvaluationRequest:
        return cls(
            legs=tuple(LegSpec.of(leg) for leg in body["legs"]),
            dates=tuple(body.get("dates") or ()),
            points=body.get("points"),
        )


def payoff_grid(
    points: int | None, legs: Sequence[Leg], smiles: Mapping[dt.date, Smile], spot: float,
    now: dt.datetime,
) -> FloatArray | None:  # fmt: skip
    """The spots of the curves for ``points``: ``None`` (the math's default, 201 points)
    unless another count is asked for; then the default's range, ``spot·e^{±3σ√T}`` at the
    first expiry's ATM IV widened to hold every strike, with that many points. ``None`` too
    when the legs cannot be evaluated (the math then names the fault)."""
    if points is None or points == DEFAULT_POINTS:
        return None
    options = [leg for leg in legs if leg.option_type is not None and leg.expiry in smiles]
    if not options:
        return None
    first = min((smiles[leg.expiry] for leg in options if leg.expiry is not None),
                key=lambda smile: smile.expires_at)  # fmt: skip
    T = first.years_to_expiry(now)
    if not T > 0.0:
        return None
    forward = spot * math.exp((first.r - first.q) * T)
    total_vol = float(first.iv([forward])[0]) * math.sqrt(T)
    strikes = np.unique([leg.strike for leg in options if leg.strike is not None])
    return default_grid(spot, total_vol, strikes, points)


def evaluate(
    request: EvaluationRequest,
    market: LiveMarket,
    conventions: ProductConventions,
    now: dt.datetime,
) -> dict[str, Any]:
    """The answer to ``request`` on ``market`` at ``now``;
    :class:`~optionsmath.strategy.StrategyInputError` naming the field at fault."""
    smiles, spot = market.smiles, market.spot
    legs = priced_legs(request.legs, smiles, spot)
    grid = payoff_grid(request.points, legs, smiles, spot, now)
    report = evaluate_strategy(legs, smiles, spot, now, dates=request.dates, grid=grid)
    return {
        "product": market.product,
        "currency": conventions.quote_currency,
        "spot": spot,
        "as_of": market.as_of,
        "valued_at": format_ts(now),
        "stale": market.stale,
        "expiry": report.expiry.isoformat(),
        "expires_at": format_ts(report.expires_at),
        "legs": [
            {**spec.document(leg.price), "iv": iv}
            for spec, leg, iv in zip(request.legs, legs, report.leg_ivs, strict=True)
        ],
        **_figures(report),
        "payoff": {
            "spots": report.payoff.spots.tolist(),
            "expiry": report.payoff.expiry.tolist(),
            "today": report.payoff.today.tolist(),
            "dates": [
                {"at": format_ts(curve.moment), "pnl": curve.pnl.tolist()}
                for curve in report.payoff.dates
            ],
        },
        "density": densities(report.payoff.spots, report.density, report.lognormal),
        "model": MODEL,
    }


def _figures(report: StrategyReport) -> dict[str, Any]:
    greeks = report.greeks
    return {
        "net_premium": report.net_premium,
        "breakevens": list(report.breakevens),
        "max_profit": report.max_profit,
        "max_loss": report.max_loss,
        "limits_exact": report.limits_exact,
        "greeks": {
            "delta": greeks.delta,
            "gamma": greeks.gamma,
            "theta": greeks.theta,
            "vega": greeks.vega,
        },
        "pop": report.pop,
        "pop_lognormal": report.pop_lognormal,
        "atm_iv": report.atm_iv,
    }


def densities(spots: FloatArray, risk_neutral: Density, lognormal: Density) -> dict[str, Any]:
    """Both densities at ``spots`` (linear between their grid points, as their ``cdf``
    takes them; 0 beyond their grids) and the risk-neutral mass below and above ``spots``."""
    inside = risk_neutral.cdf([spots[0], spots[-1]])
    return {
        "spots": spots.tolist(),
        "risk_neutral": _at(spots, risk_neutral).tolist(),
        "lognormal": _at(spots, lognormal).tolist(),
        "outside_mass": 1.0 - float(inside[1] - inside[0]),
    }


def _at(spots: FloatArray, density: Density) -> FloatArray:
    values: FloatArray = np.interp(spots, density.grid, density.values, left=0.0, right=0.0)
    return values
