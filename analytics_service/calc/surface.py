"""Across expiries: the IV surface (strike × expiry grid) and the ATM term structure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analytics_service.calc.atm import chain_atm_iv
from analytics_service.calc.expiries import days_to_expiry
from analytics_service.calc.smile import chain_money, smile_points
from analytics_service.calc.times import wire_ms
from analytics_service.calc.values import number
from common.products import ProductConventions

Chain = Mapping[str, Any]


def _newest(chains: Sequence[Chain]) -> Chain | None:
    return max(chains, key=lambda c: (wire_ms(c["timestamp"]), c["seq"]), default=None)


def surface_from_chains(chains: Sequence[Chain]) -> dict[str, Any]:
    """``{timestamp, spot, expiries, strikes, iv}`` from the newest chain of each expiry.

    ``strikes`` is the union of every chain's strikes; ``iv[e][k]`` is the
    out-of-the-money IV of expiry ``e`` at strike ``k`` against that chain's own
    forward (spot for a chain stored without one), ``None`` where the strike is not
    listed or has no IV. ``timestamp`` and ``spot`` are the newest chain's.
    """
    ordered = sorted(chains, key=lambda c: str(c["expiry"]))
    grids = [
        {p["strike"]: p["otm_iv"] for p in smile_points(c.get("calls"), c.get("puts"),
                                                        chain_money(c))}
        for c in ordered
    ]  # fmt: skip
    strikes = sorted({k for grid in grids for k in grid})
    newest = _newest(chains)
    return {
        "timestamp": newest["timestamp"] if newest else None,
        "spot": number(newest.get("spot_price")) if newest else None,
        "expiries": [str(c["expiry"]) for c in ordered],
        "strikes": strikes,
        "iv": [[grid.get(k) for k in strikes] for grid in grids],
    }


def surface_from_cache(cached: Mapping[str, Any]) -> dict[str, Any]:
    """The worker's cached surface (``iv:surface:{product}``) in the response's shape.

    Only the documented keys are kept and every number is checked, so a
    malformed entry cannot leak into the answer (``ValueError`` if unusable).
    """
    expiries, strikes, iv = cached.get("expiries"), cached.get("strikes"), cached.get("iv")
    if not isinstance(expiries, list) or not isinstance(strikes, list) or not isinstance(iv, list):
        raise ValueError("cached surface lacks expiries, strikes or iv lists")
    strike_values = [number(k) for k in strikes]
    if None in strike_values or len(iv) != len(expiries):
        raise ValueError("cached surface has a bad strike or row count")
    rows = []
    for row in iv:
        if not isinstance(row, list) or len(row) != len(strikes):
            raise ValueError("cached surface row does not match its strikes")
        rows.append([number(v) for v in row])
    timestamp = cached.get("timestamp")
    return {
        "timestamp": timestamp if isinstance(timestamp, str) else None,
        "spot": number(cached.get("spot")),
        "expiries": [str(e) for e in expiries],
        "strikes": strike_values,
        "iv": rows,
    }


def _expiry_ts(chain: Chain) -> str | None:
    value = chain.get("expiry_ts")
    return value if isinstance(value, str) else None


def term_structure(chains: Sequence[Chain], conventions: ProductConventions) -> dict[str, Any]:
    """``{timestamp, points: [{expiry, days, atm_strike, atm_iv}]}`` by expiry.

    ``days`` runs from each chain's own timestamp to its expiry instant (the chain's
    ``expiry_ts`` if any, else the product's; calendar days, ACT/365); ``timestamp``
    is the newest chain's.
    """
    points = [
        {
            "expiry": str(c["expiry"]),
            "days": days_to_expiry(
                str(c["expiry"]), wire_ms(c["timestamp"]), conventions, _expiry_ts(c)
            ),
            "atm_strike": number(c.get("atm_strike")),
            "atm_iv": chain_atm_iv(c),
        }
        for c in sorted(chains, key=lambda c: str(c["expiry"]))
    ]
    newest = _newest(chains)
    return {"timestamp": newest["timestamp"] if newest else None, "points": points}
