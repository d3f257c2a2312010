"""Each rule's value from an enriched chain or an underlying tick."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alerts.evaluate import RuleColumns
from alerts.rules import AlertRule, Metric, Op
from alerts.values import chain_values, spot_values
from common.messages.enums import OptionType


def _rule(metric: Metric, *, expiry: str | None = None, strike: float | None = None,
          side: OptionType | None = None) -> AlertRule:  # fmt: skip
    return AlertRule(id=f"{metric}-{expiry}-{strike}-{side}", owner="u", product="NIFTY",
                     metric=metric, op=Op.ABOVE, value=0.0, expiry=expiry, strike=strike,
                     option_type=side)  # fmt: skip


CHAIN: dict[str, Any] = {
    "product": "NIFTY", "expiry": "2026-12-10", "spot_price": 24_010.0,
    "strikes": [23_900.0, 24_000.0, 24_100.0],
    "calls": [{"iv": 0.151, "oi_change": 150}, {"iv": 0.142, "oi_change": -75},
              {"iv": None, "oi_change": None}],
    "puts": [{"iv": 0.158, "oi_change": 0}, {"iv": 0.149, "oi_change": 300},
             {"iv": 0.147, "oi_change": 75}],
    "atm_iv": 0.1455, "pcr_oi": 1.21, "pcr_volume": None, "max_pain_strike": 24_000.0,
    "atm_straddle_price": 301.5, "risk_reversal_25d": -0.012,
}  # fmt: skip


def _values(rules: list[AlertRule], nearest: bool = True) -> list[float]:
    return chain_values(RuleColumns.of(rules), CHAIN, nearest=nearest).tolist()


def test_chain_metrics_and_options() -> None:
    rules = [
        _rule(Metric.ATM_IV), _rule(Metric.PCR_OI), _rule(Metric.MAX_PAIN_STRIKE),
        _rule(Metric.ATM_STRADDLE_PRICE), _rule(Metric.RISK_REVERSAL_25D),
        _rule(Metric.IV, strike=24_000.0, side=OptionType.PUT),
        _rule(Metric.IV, strike=23_900.0, side=OptionType.CALL),
        _rule(Metric.OI_CHANGE, strike=24_100.0, side=OptionType.PUT),
        _rule(Metric.OI_CHANGE, strike=24_000.0, side=OptionType.CALL),
    ]  # fmt: skip
    assert _values(rules) == [0.1455, 1.21, 24_000.0, 301.5, -0.012, 0.149, 0.151, 75.0, -75.0]


def test_absent_values_are_nan() -> None:
    rules = [
        _rule(Metric.PCR_VOLUME),  # null in the chain
        _rule(Metric.NET_GEX),  # not in the chain
        _rule(Metric.IV, strike=24_100.0, side=OptionType.CALL),  # a row without IV
        _rule(Metric.IV, strike=24_050.0, side=OptionType.CALL),  # not listed
        _rule(Metric.IV, strike=30_000.0, side=OptionType.PUT),  # beyond the last strike
        _rule(Metric.SPOT),  # from the ticks, not the chain
    ]  # fmt: skip
    assert all(math.isnan(v) for v in _values(rules))


def test_the_expiry_decides_which_rules_a_chain_serves() -> None:
    rules = [_rule(Metric.ATM_IV, expiry="2026-12-10"), _rule(Metric.ATM_IV, expiry="2026-12-17"),
             _rule(Metric.ATM_IV)]  # fmt: skip
    nearest = _values(rules, nearest=True)
    assert nearest[0] == nearest[2] == 0.1455
    assert math.isnan(nearest[1])
    later = _values(rules, nearest=False)
    assert later[0] == 0.1455
    assert math.isnan(later[1])
    assert math.isnan(later[2])


def test_spot_from_a_tick() -> None:
    cols = RuleColumns.of([_rule(Metric.SPOT), _rule(Metric.ATM_IV)])
    values = spot_values(cols, {"product": "NIFTY", "price": 24_012.5})
    assert values[0] == 24_012.5
    assert np.isnan(values[1])
