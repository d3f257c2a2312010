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
IndexArray = NDArray[np.intp]
METRIC_CODES = {metric: code for code, metric in enumerate(Metric)}
"""Each metric's column in a message's vector of values (:mod:`alerts.values`)."""


@dataclass(frozen=True, slots=True)
class RuleColumns:
    """The active rules of one product as arrays, one entry per rule (in ``ids`` order),
    with the positions of each operator's rules worked out once."""

    ids: tuple[str, ...]
    metric: NDArray[np.int16]
    op: NDArray[np.int8]
    threshold: FloatArray
    cooldown_s: FloatArray
    strike: FloatArray
    """NaN unless the metric is of one option."""
    is_call: BoolArray
    expiry_key: NDArray[np.str_]
    """The rule's expiry (YYYY-MM-DD), ``""`` when it names none (the nearest)."""
    by_op: tuple[IndexArray, ...]
    """The positions of the rules of each :class:`OpCode`, in its order."""
    window_s: FloatArray
    """The windows of the ``change_pct`` rules, in the order of ``by_op[CHANGE_PCT]``."""

    @classmethod
    def of(cls, rules: Sequence[AlertRule]) -> RuleColumns:
        active = [r for r in rules if r.active]
        nan = float("nan")
        op = np.array([OP_CODES[r.op] for r in active], dtype=np.int8)
        by_op = tuple(np.flatnonzero(op == code) for code in OpCode)
        return cls(
            ids=tuple(r.id for r in active),
            metric=np.array([METRIC_CODES[r.metric] for r in active], dtype=np.int16),
            op=op,
            threshold=np.array([r.value for r in active], dtype=np.float64),
            cooldown_s=np.array([r.cooldown_s for r in active], dtype=np.float64),
            strike=np.array([nan if r.strike is None else r.strike for r in active]),
            is_call=np.array([r.option_type is OptionType.CALL for r in active], dtype=bool),
            expiry_key=np.array([r.expiry or "" for r in active], dtype="<U10"),
            by_op=by_op,
            window_s=np.array([active[i].window_s for i in by_op[OpCode.CHANGE_PCT]], dtype=float),
        )

    @property
    def change(self) -> IndexArray:
        """The positions of the ``change_pct`` rules."""
        return self.by_op[OpCode.CHANGE_PCT]

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
    ``window_s`` ago, in the order of :attr:`RuleColumns.change` (NaN: unknown, it cannot
    fire). See :mod:`alerts.rules` for the operators. A rule whose value is NaN neither
    fires nor changes its state. Comparisons with NaN are false, so a rule with no
    previous value is "outside" and a crossing needs one."""
    v, p, t = values, state.previous, rules.threshold
    edge = np.zeros(len(rules), dtype=bool)
    above, below, up, down, change = rules.by_op
    edge[above] = (v[above] > t[above]) & ~(p[above] > t[above])
    edge[below] = (v[below] < t[below]) & ~(p[below] < t[below])
    edge[up] = (p[up] <= t[up]) & (v[up] > t[up])
    edge[down] = (p[down] >= t[down]) & (v[down] < t[down])
    if change.size:
        b = np.full(change.size, np.nan) if base is None else base
        tc = t[change]
        edge[change] = _moved(v[change], b, tc) & ~_moved(p[change], b, tc)
    seen = np.isfinite(v)
    fired = edge & seen & (now_s - state.last_fired >= rules.cooldown_s)
    new = RuleState(np.where(seen, v, p), np.where(fired, now_s, state.last_fired))
    return Evaluation(fired, v, new)
