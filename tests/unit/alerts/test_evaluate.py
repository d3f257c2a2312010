"""Rule evaluation: once per crossing, cooldowns, NaN, change_pct, and the vectorised pass
against a rule-by-rule reference."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from alerts.evaluate import RuleColumns, RuleState, evaluate
from alerts.rules import AlertRule, Metric, Op


def _rule(op: Op, value: float, *, cooldown_s: int = 0, window_s: int | None = None,
          rule_id: str = "r") -> AlertRule:  # fmt: skip
    return AlertRule(id=rule_id, owner="u", product="NIFTY", metric=Metric.ATM_IV, op=op,
                     value=value, cooldown_s=cooldown_s, window_s=window_s)  # fmt: skip


def _run(rule: AlertRule, series: list[float], base: float = math.nan) -> list[bool]:
    cols, state, fired = RuleColumns.of([rule]), RuleState.fresh(1), []
    for t, v in enumerate(series):
        out = evaluate(cols, np.array([v]), state, float(t), np.array([base]))
        fired.append(bool(out.fired[0]))
        state = out.state
    return fired


def test_above_fires_once_per_entry() -> None:
    fired = _run(_rule(Op.ABOVE, 100), [99, 101, 102, 100, 101, 103, 99])
    assert fired == [False, True, False, False, True, False, False]


def test_above_fires_at_once_when_created_inside() -> None:
    assert _run(_rule(Op.ABOVE, 100), [105, 106]) == [True, False]
    assert _run(_rule(Op.BELOW, 100), [95, 99, 101, 98]) == [True, False, False, True]


def test_crossings_need_a_previous_value() -> None:
    assert _run(_rule(Op.CROSSES_ABOVE, 100), [105, 99, 100, 100.5, 101]) == [
        False, False, False, True, False,
    ]  # fmt: skip
    assert _run(_rule(Op.CROSSES_BELOW, 100), [95, 101, 100, 99.9]) == [False, False, False, True]


def test_the_cooldown_swallows_a_second_crossing_too_soon() -> None:
    # Times are the indices: entries at t = 1, 3 (2 s later, cooldown 5: swallowed), 7.
    fired = _run(_rule(Op.ABOVE, 100, cooldown_s=5), [99, 101, 99, 101, 99, 99, 99, 101])
    assert fired == [False, True, False, False, False, False, False, True]


def test_a_missing_value_changes_nothing() -> None:
    fired = _run(_rule(Op.CROSSES_ABOVE, 100), [99, math.nan, 101])
    assert fired == [False, False, True]  # 99 is still the previous value at the third


def test_change_pct_against_the_base() -> None:
    rule = _rule(Op.CHANGE_PCT, 2, window_s=60)
    assert _run(rule, [100, 101, 102.5, 103, 101], base=100) == [False, False, True, False, False]
    assert _run(rule, [100, 97.9], base=100) == [False, True]  # either way
    assert _run(rule, [100, 150], base=math.nan) == [False, False]  # no base yet


def test_a_retried_message_evaluates_the_same() -> None:
    cols = RuleColumns.of([_rule(Op.CROSSES_ABOVE, 100)])
    state = evaluate(cols, np.array([99.0]), RuleState.fresh(1), 0.0).state
    first = evaluate(cols, np.array([101.0]), state, 1.0)
    again = evaluate(cols, np.array([101.0]), state, 1.0)
    assert first.fired.tolist() == again.fired.tolist() == [True]
    # Applied once, the same message again does not fire: the state moved past it.
    assert evaluate(cols, np.array([101.0]), first.state, 1.0).fired.tolist() == [False]


def test_inactive_rules_are_left_out() -> None:
    rules = [_rule(Op.ABOVE, 1, rule_id="on"),
             AlertRule(id="off", owner="u", product="NIFTY", metric=Metric.SPOT, op=Op.ABOVE,
                       value=1, active=False)]  # fmt: skip
    assert RuleColumns.of(rules).ids == ("on",)


def _reference(rule: AlertRule, prev: float, last: float, v: float, base: float, now: float
               ) -> bool:  # fmt: skip
    """One rule, one step, written out plainly."""
    if math.isnan(v) or now - last < rule.cooldown_s:
        return False
    t = rule.value

    def inside(x: float) -> bool:
        if math.isnan(x):
            return False
        if rule.op is Op.ABOVE:
            return x > t
        if rule.op is Op.BELOW:
            return x < t
        return not math.isnan(base) and abs(x / base - 1) * 100 >= t

    if rule.op is Op.CROSSES_ABOVE:
        return not math.isnan(prev) and prev <= t < v
    if rule.op is Op.CROSSES_BELOW:
        return not math.isnan(prev) and prev >= t > v
    return inside(v) and not inside(prev)


@pytest.mark.parametrize("seed", range(5))
def test_the_vectorised_pass_agrees_with_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    rules = [
        _rule(rng.choice(list(Op)), rng.choice([99.0, 100.0, 101.0, 1.0, 2.5]),
              cooldown_s=rng.choice([0, 3]), window_s=60, rule_id=str(i))
        for i in range(300)
    ]  # fmt: skip
    rules = [r if r.op is Op.CHANGE_PCT else _rule(r.op, r.value, cooldown_s=r.cooldown_s,
             rule_id=r.id) for r in rules]  # fmt: skip
    cols, state = RuleColumns.of(rules), RuleState.fresh(len(rules))
    for step in range(40):
        values = np.array([rng.choice([98.0, 99.0, 100.0, 101.0, 102.0, math.nan])
                           for _ in rules])  # fmt: skip
        base = np.array([rng.choice([100.0, math.nan]) for _ in rules])
        out = evaluate(cols, values, state, float(step), base[cols.change])
        expected = [
            _reference(r, state.previous[i], state.last_fired[i], values[i], base[i], step)
            for i, r in enumerate(rules)
        ]
        assert out.fired.tolist() == expected
        state = out.state
