"""The volatility smile of one chain: IV against strike and moneyness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics_service.calc.values import number, rows_by_strike


def otm_iv(
    strike: float, spot: float | None, call_iv: float | None, put_iv: float | None
) -> float | None:
    """The out-of-the-money side's IV: the put's below spot, the call's at or above it.

    ``None`` without a usable spot or when that side has no IV (the in-the-money
    side is not substituted: its IV is what the other column shows).
    """
    if spot is None or spot <= 0:
        return None
    return put_iv if strike < spot else call_iv


def smile_points(calls: Any, puts: Any, spot: float | None) -> list[dict[str, Any]]:
    """``{strike, moneyness, call_iv, put_iv, otm_iv}`` per listed strike, ascending.

    ``moneyness`` is K/S (``None`` without a positive spot).
    """
    call_rows, put_rows = rows_by_strike(calls), rows_by_strike(puts)
    usable_spot = spot if spot is not None and spot > 0 else None
    points = []
    for strike in sorted(call_rows.keys() | put_rows.keys()):
        call_iv = number(call_rows.get(strike, {}).get("iv"))
        put_iv = number(put_rows.get(strike, {}).get("iv"))
        points.append(
            {
                "strike": strike,
                "moneyness": strike / usable_spot if usable_spot else None,
                "call_iv": call_iv,
                "put_iv": put_iv,
                "otm_iv": otm_iv(strike, usable_spot, call_iv, put_iv),
            }
        )
    return points


def smile(chain: Mapping[str, Any]) -> dict[str, Any]:
    """``{timestamp, spot, atm_strike, points}`` of an enriched chain."""
    spot = number(chain.get("spot_price"))
    return {
        "timestamp": chain["timestamp"],
        "spot": spot,
        "atm_strike": number(chain.get("atm_strike")),
        "points": smile_points(chain.get("calls"), chain.get("puts"), spot),
    }
