"""Alert rules: what is accepted, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.rules import AlertRule, Metric, Op, RuleError, rule_from


def _payload(**fields: Any) -> dict[str, Any]:
    base = {"id": "a1", "owner": "u1", "product": "NIFTY", "metric": "atm_iv", "op": "above",
            "value": 0.2}  # fmt: skip
    return {**base, **fields}


def test_a_plain_rule_and_its_defaults() -> None:
    rule = rule_from(_payload())
    assert rule == AlertRule(id="a1", owner="u1", product="NIFTY", metric=Metric.ATM_IV,
                             op=Op.ABOVE, value=0.2)  # fmt: skip
    assert (rule.cooldown_s, rule.active, rule.expiry, rule.window_s) == (300, True, None, None)
    option = rule_from(_payload(metric="iv", strike=24000, option_type="CALL", expiry="2026-12-31"))
    assert option.strike == 24000.0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metric": "gamma"}, "metric"),
        ({"op": "equals"}, "op"),
        ({"value": "high"}, "value"),
        ({"value": float("inf")}, "value"),
        ({"cooldown_s": -1}, "cooldown_s"),
        ({"cooldown_s": 10**9}, "cooldown_s"),
        ({"metric": "iv", "option_type": "CALL"}, "strike"),
        ({"metric": "iv", "strike": 24000}, "option_type"),
        ({"metric": "oi_change", "strike": -5.0, "option_type": "PUT"}, "strike"),
        ({"strike": 24000}, "strike"),
        ({"option_type": "PUT"}, "option_type"),
        ({"op": "change_pct", "value": 2}, "window_s"),
        ({"op": "change_pct", "value": 0, "window_s": 60}, "value"),
        ({"window_s": 60}, "window_s"),
        ({"metric": "spot", "expiry": "2026-12-31"}, "expiry"),
        ({"note": "x" * 281}, "note"),
        ({"product": ""}, "product"),
    ],
)
def test_bad_rules_name_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleError) as caught:
        rule_from(_payload(**fields))
    assert caught.value.field == field
    assert field in str(caught.value)
