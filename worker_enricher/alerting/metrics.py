"""The alert evaluation's figures on the worker's ``/metrics``: the time it takes and the
messages it evaluates (their ratio is its cost per message, docs/PERFORMANCE.md), the time
delivery takes, and the triggers it decides."""

from __future__ import annotations

from prometheus_client import Counter

EVALUATION_SECONDS = Counter(
    "optionsflow_alert_evaluation_seconds",
    "Wall time spent evaluating alerts (the rules, the state's round trips, the vectorised "
    "evaluation), by the kind of message (chain, tick); delivery apart.",
    ["kind"],
)
DELIVERY_SECONDS = Counter(
    "optionsflow_alert_delivery_seconds",
    "Wall time spent delivering triggers (emit, history, webhook task, outbox), sweeps included.",
)
EVALUATED = Counter(
    "optionsflow_alert_messages",
    "Enriched messages handed to the alert evaluation, by kind (chain, tick).",
    ["kind"],
)
TRIGGERS = Counter(
    "optionsflow_alert_triggers", "Alert triggers decided (each written once to the outbox)."
)
