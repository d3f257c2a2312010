"""The rules of one product evaluated together: one NumPy pass per enriched message.

:class:`RuleColumns` lays a product's active rules out as arrays (metric, operator,
threshold, cooldown, the option a rule names); :func:`evaluate` compares each rule's
value now with its state (:class:`RuleState`: the value at the previous evaluation and
when it last fired) and returns the rules that fire and the new state. The caller keeps
the state between messages (the worker: in Redis, so any worker can evaluate, written
only if no other worker moved it meanwhile) and gives each ``change_pct`` rule its
value ``window_s`` ago as ``base``.

Times are seconds on one clock (the data's origin timestamps), so a retried message
evaluates exactly as it did the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from alerts.rules import OP_CODES, AlertRule, Metric, OpCode
from common.messages.enums import OptionType

__all__ = ["Evaluation", "RuleColumns", "RuleState", "evaluate"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
METRIC_CODES = {metric: code for code, metric in enumerate(Metric)}
"""Each metric's column in a message's vector of values (:mod:`alerts.values`)."""


@dataclass(frozen=True, slots=True)
class RuleColumns:
    """The active rules of one product as arrays, one entry per rule (in ``ids`` order)."""

    ids: tuple[str, ...]
    metric: NDArray[np.int16]
    op: NDArray[np.int8]
    threshold: FloatArray
    cooldown_s: FloatArray
    window_s: FloatArray
    """NaN unless the operator is ``change_pct``."""
    strike: FloatArray
    """NaN unless the metric is of one option."""
    is_call: BoolArray
    expiry_key: NDArray[np.str_]
    """The rule's expiry (YYYY-MM-DD), ``""`` when it names none (the nearest)."""

    @classmethod
    def of(cls, rules: Sequence[AlertRule]) -> RuleColumns:
        active = [r for r in rules if r.active]
        nan = float("nan")
        return cls(
            ids=tuple(r.id for r in active),
            metric=np.array([METRIC_CODES[r.metric] for r in active], dtype=np.int16),
            op=np.array([OP_CODES[r.op] for r in active], dtype=np.int8),
            threshold=np.array([r.value for r in active], dtype=np.float64),
            cooldown_s=np.array([r.cooldown_s for r in active], dtype=np.float64),
            window_s=np.array([nan if r.window_s is None else r.window_s for r in active]),
            strike=np.array([nan if r.strike is None else r.strike for r in active]),
            is_call=np.array([r.option_type is OptionType.CALL for r in active], dtype=bool),
            expiry_key=np.array([r.expiry or "" for r in active], dtype="<U10"),
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class RuleState:
    """Per rule: its value at the previous evaluation (NaN: none yet) and the time it last
    fired (−inf: never), seconds."""

    previous: FloatArray
    last_fired: FloatArray

    @classmethod
    def fresh(cls, n: int) -> RuleState:
        return cls(np.full(n, np.nan), np.full(n, -np.inf))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation found: ``fired`` per rule, the rules' values now, the new state."""

    fired: BoolArray
    values: FloatArray
    state: RuleState


def _moved(value: FloatArray, base: FloatArray, pct: FloatArray) -> BoolArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        moved: BoolArray = np.abs(value / base - 1.0) * 100.0 >= pct
    return moved


def evaluate(
    rules: RuleColumns,
    values: FloatArray,
    state: RuleState,
    now_s: float,
    base: FloatArray | None = None,
) -> Evaluation:
    """Which rules fire on ``values`` (each rule's metric now; NaN: not in this message)
    at ``now_s``, given ``state``; ``base`` is each ``change_pct`` rule's value
    ``window_s`` ago (NaN: unknown, it cannot fire). See :mod:`alerts.rules` for the
    operators. A rule whose value is NaN neither fires nor changes its state."""
    t, prev, op = rules.threshold, state.previous, rules.op
    base = np.full(len(rules), np.nan) if base is None else base
    with np.errstate(invalid="ignore"):
        inside_now = np.select(
            [op == OpCode.ABOVE, op == OpCode.BELOW, op == OpCode.CHANGE_PCT],
            [values > t, values < t, _moved(values, base, t)],
            default=False,
        )
        inside_before = np.select(
            [op == OpCode.ABOVE, op == OpCode.BELOW, op == OpCode.CHANGE_PCT],
            [prev > t, prev < t, _moved(prev, base, t)],
            default=False,
        )
        crossed = np.select(
            [op == OpCode.CROSSES_ABOVE, op == OpCode.CROSSES_BELOW],
            [(prev <= t) & (values > t), (prev >= t) & (values < t)],
            default=False,
        )
    crossing = (op == OpCode.CROSSES_ABOVE) | (op == OpCode.CROSSES_BELOW)
    edge = np.where(crossing, crossed, inside_now & ~inside_before)
    seen = np.isfinite(values)
    fired = edge & seen & (now_s - state.last_fired >= rules.cooldown_s)
    new = RuleState(np.where(seen, values, prev), np.where(fired, now_s, state.last_fired))
    return Evaluation(fired.astype(bool), values, new)
