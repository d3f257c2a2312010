"""The volatility smile of one chain: IV against strike and log-moneyness at the forward."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analytics_service.calc.values import number, rows_by_strike


def chain_money(chain: Mapping[str, Any]) -> float | None:
    """The price a chain's options are in or out of the money against: its ``forward``, else
    (an older chain stored without one) its ``spot_price``; ``None`` without a positive one."""
    for field in ("forward", "spot_price"):
        value = number(chain.get(field))
        if value is not None and value > 0:
            return value
    return None


def otm_iv(
    strike: float, forward: float | None, call_iv: float | None, put_iv: float | None
) -> float | None:
    """The out-of-the-money side's IV: the put's below the forward, the call's at or above.

    ``None`` without a usable forward or when that side has no IV (the in-the-money
    side is not substituted: its IV is what the other column shows).
    """
    if forward is None or forward <= 0:
        return None
    return put_iv if strike < forward else call_iv


def smile_points(calls: Any, puts: Any, forward: float | None) -> list[dict[str, Any]]:
    """``{strike, moneyness, call_iv, put_iv, otm_iv}`` per listed strike, ascending.

    ``moneyness`` is ``ln(K/F)`` (``None`` without a positive forward or strike).
    """
    call_rows, put_rows = rows_by_strike(calls), rows_by_strike(puts)
    money = forward if forward is not None and forward > 0 else None
    points = []
    for strike in sorted(call_rows.keys() | put_rows.keys()):
        call_iv = number(call_rows.get(strike, {}).get("iv"))
        put_iv = number(put_rows.get(strike, {}).get("iv"))
        points.append(
            {
                "strike": strike,
                "moneyness": math.log(strike / money) if money and strike > 0 else None,
                "call_iv": call_iv,
                "put_iv": put_iv,
                "otm_iv": otm_iv(strike, money, call_iv, put_iv),
            }
        )
    return points


def smile(chain: Mapping[str, Any]) -> dict[str, Any]:
    """``{timestamp, spot, forward, atm_strike, points}`` of an enriched chain; moneyness and
    the OTM side are taken at its forward (``null`` for a chain stored without one: at spot)."""
    forward = number(chain.get("forward"))
    return {
        "timestamp": chain["timestamp"],
        "spot": number(chain.get("spot_price")),
        "forward": forward if forward is not None and forward > 0 else None,
        "atm_strike": number(chain.get("atm_strike")),
        "points": smile_points(chain.get("calls"), chain.get("puts"), chain_money(chain)),
    }
