"""A product's rules run over its new messages, in time order: what fires, the new state.

Pure (no I/O): :mod:`worker_enricher.alerting.evaluation` reads the rules and the state,
calls :func:`observe`, and writes the state back with the triggers. A message not newer
than the newest already evaluated from its source (by timestamp, then seq) is skipped, so a
retried or redelivered batch, or an older one evaluated late, fires nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from alerts.evaluate import evaluate
from alerts.values import chain_values, spot_values
from common.timestamps import parse_ts
from worker_enricher.alerting.rulebook import ProductRules
from worker_enricher.alerting.state import ProductState

__all__ = ["SPOT_SOURCE", "Observation", "Trigger", "observe"]

SPOT_SOURCE = "spot"
"""The source of underlying ticks (the others are expiries)."""
MARK_KEPT_DAYS = 3
"""A source's mark is forgotten this long after its last message (expired expiries)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One enriched message of a product: a chain (``source`` its expiry; ``nearest``: the
    product's nearest live expiry) or an underlying tick (``source`` :data:`SPOT_SOURCE`)."""

    source: str
    message: Mapping[str, Any]
    nearest: bool = False

    @property
    def mark(self) -> tuple[str, int]:
        return str(self.message["timestamp"]), int(self.message["seq"])


@dataclass(frozen=True, slots=True)
class Trigger:
    """One rule fired: the trigger document (the ``alert`` event and history row) and
    whether its alert has a webhook."""

    doc: dict[str, Any]
    webhook: bool


def trigger_id(key: str, source: str, mark: tuple[str, int]) -> str:
    """Deterministic: the same rule version firing on the same message has the same id."""
    text = f"{key}|{source}|{mark[0]}|{mark[1]}".encode()
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _triggers(
    rules: ProductRules, obs: Observation, fired: np.ndarray, values: np.ndarray, at: str
) -> list[Trigger]:
    keys = rules.keys.split("\n")
    out = []
    for i in np.flatnonzero(fired):
        rule = rules.rules[i]
        doc = {
            "trigger_id": trigger_id(keys[i], obs.source, obs.mark),
            "alert_id": rule.id, "owner": rule.owner, "product": rule.product,
            "expiry": None if obs.source == SPOT_SOURCE else obs.source,
            "metric": rule.metric.value, "op": rule.op.value,
            "strike": rule.strike,
            "option_type": None if rule.option_type is None else rule.option_type.value,
            "value": float(values[i]), "threshold": rule.value,
            "timestamp": obs.mark[0], "triggered_at": at, "note": rule.note,
        }  # fmt: skip
        out.append(Trigger(doc, rule.webhook_url is not None))
    return out


def _forget_old_marks(state: ProductState, newest: str) -> None:
    cutoff = parse_ts(newest).timestamp() - MARK_KEPT_DAYS * 86_400
    for source, (stamp, _) in list(state.marks.items()):
        if parse_ts(stamp).timestamp() < cutoff:
            del state.marks[source]


def observe(
    rules: ProductRules, state: ProductState, observations: Iterable[Observation], at: str
) -> tuple[list[Trigger], int]:
    """Run ``observations`` (any order: taken by timestamp, then seq) through ``rules``,
    updating ``state`` in place; the triggers (``triggered_at`` = ``at``) and how many
    observations were evaluated (the others were evaluated before)."""
    cols = rules.columns
    triggers: list[Trigger] = []
    evaluated = 0
    for obs in sorted(observations, key=lambda o: o.mark):
        mark = state.marks.get(obs.source)
        if mark is not None and obs.mark <= tuple(mark):
            continue
        now_s = parse_ts(obs.mark[0]).timestamp()
        if obs.source == SPOT_SOURCE:
            values = spot_values(cols, obs.message)
        else:
            values = chain_values(cols, obs.message, nearest=obs.nearest)
        base = None
        if cols.change.size:
            base = state.samples.base(now_s, cols.window_s)
        result = evaluate(cols, values, state.rules, now_s, base)
        if cols.change.size:
            head = state.samples.head
            state.samples = state.samples.add(now_s, values[cols.change], cols.window_s)
            if not np.array_equal(head, state.samples.head):
                state.changed.add("samples")
        state.rules = result.state
        state.marks[obs.source] = obs.mark
        evaluated += 1
        if result.fired.any():
            state.changed.add("fired")
            triggers += _triggers(rules, obs, result.fired, result.values, at)
    if evaluated:
        _forget_old_marks(state, max(m[0] for m in state.marks.values()))
    return triggers, evaluated
