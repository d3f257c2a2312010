"""At-the-money implied volatility of a chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics_service.calc.values import number, rows_by_strike


def mean_iv(call_iv: float | None, put_iv: float | None) -> float | None:
    """Mean of the two IVs, the one that is not null, or null."""
    if call_iv is not None and put_iv is not None:
        return (call_iv + put_iv) / 2.0
    return call_iv if call_iv is not None else put_iv


def atm_iv(calls: Any, puts: Any, atm_strike: float | None) -> float | None:
    """Mean of the call and put IV listed at ``atm_strike`` (or the one not null), per year."""
    if atm_strike is None:
        return None
    call = rows_by_strike(calls).get(atm_strike, {})
    put = rows_by_strike(puts).get(atm_strike, {})
    return mean_iv(number(call.get("iv")), number(put.get("iv")))


def chain_atm_iv(chain: Mapping[str, Any]) -> float | None:
    """ATM IV of an enriched chain: from its rows when it has them, else its ``atm_iv`` field.

    The worker's ``atm_iv`` follows the same rule, so a projected snapshot (no rows)
    gives the same number without loading every row.
    """
    if "calls" in chain and "puts" in chain:
        return atm_iv(chain["calls"], chain["puts"], number(chain.get("atm_strike")))
    return number(chain.get("atm_iv"))
