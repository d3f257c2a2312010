"""Prometheus series of the Celery worker: how long each task ran and how each run ended.

Recorded in the pool processes by Celery's ``task_prerun`` / ``task_postrun``
signals (:func:`install_task_metrics`), one count per run, whatever its end:

- ``ok``: the batch was processed (its malformed messages, if any, dead-lettered
  one by one and counted in ``optionsflow_deadletter_total``);
- ``retry``: a store or Redis error; the batch runs again later;
- ``deadletter``: failed for good, and the whole batch went to ``deadletter:{channel}``;
- ``failed``: failed for good and nothing kept it (its dead letters could not be
  written, or the task, like ``refresh_iv_surface``, has none): work lost.

``optionsflow_alert_webhooks_total`` counts the alerts worker's webhook attempts
(``worker_enricher/tasks/alerts.py``) by outcome: ``delivered``, ``retry`` (an attempt that
failed and will be made again), ``given_up`` (the last attempt failed, or the answer or the
destination was refused: the trigger's webhook is lost) and ``skipped`` (the alert is gone
or has no webhook any more).

The worker serves them, merged over its pool processes, from its main process
(``worker_enricher.metrics_server``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from celery import signals, states
from prometheus_client import Counter, Histogram

TASK_SECONDS = Histogram(
    "optionsflow_enrich_task_seconds",
    "Run time of a Celery task of the pipeline, every run (retried and failed ones included).",
    ["task"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TASKS = Counter(
    "optionsflow_enrich_tasks_total",
    "Celery task runs of the pipeline by task and outcome (ok, retry, deadletter, failed).",
    ["task", "outcome"],
)

WEBHOOKS = Counter(
    "optionsflow_alert_webhooks_total",
    "Webhook attempts of alert triggers by outcome (delivered, retry, given_up, skipped).",
    ["outcome"],
)

clock = time.perf_counter
"""Seconds, for the run times (tests replace it)."""

_STARTED = "optionsflow_started"
_DEADLETTERED = "optionsflow_deadlettered"
"""Attributes set on the run's request (``task.request``, one per run, retries included)."""


class Outcome(StrEnum):
    OK = "ok"
    RETRY = "retry"
    DEADLETTER = "deadletter"
    FAILED = "failed"


class WebhookOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVEN_UP = "given_up"
    SKIPPED = "skipped"


for _webhook_outcome in WebhookOutcome:  # every series from the start, at 0
    WEBHOOKS.labels(_webhook_outcome.value)


def count_webhook(outcome: WebhookOutcome) -> None:
    """Count one webhook attempt that ended in ``outcome``."""
    WEBHOOKS.labels(outcome.value).inc()


def task_label(name: str | None) -> str:
    """A task's name without its module: ``enrich_chains``, ``refresh_iv_surface``."""
    return (name or "unknown").rpartition(".")[2]


def mark_deadlettered(request: Any) -> None:
    """Note that the failed run of ``request`` put its whole batch in the dead-letter list."""
    setattr(request, _DEADLETTERED, True)


def outcome(state: str | None, request: Any) -> Outcome | None:
    """How a run that ended in Celery ``state`` is counted (``None``: not at all)."""
    if state == states.SUCCESS:
        return Outcome.OK
    if state == states.RETRY:
        return Outcome.RETRY
    if state == states.FAILURE:
        return Outcome.DEADLETTER if getattr(request, _DEADLETTERED, False) else Outcome.FAILED
    return None  # rejected or ignored: no such task in the pipeline


def _started(task: Any, **_: Any) -> None:
    setattr(task.request, _STARTED, clock())


def _finished(task: Any, state: str | None = None, **_: Any) -> None:
    request = task.request
    label = task_label(task.name)
    started = getattr(request, _STARTED, None)
    if started is not None:
        TASK_SECONDS.labels(label).observe(max(0.0, clock() - started))
    ended = outcome(state, request)
    if ended is not None:
        TASKS.labels(label, ended.value).inc()


def init_task_series(names: Iterable[str]) -> None:
    """Make every series of the tasks ``names`` exist from the start, at 0, for rates and alerts."""
    for name in names:
        label = task_label(name)
        TASK_SECONDS.labels(label)
        for ended in Outcome:
            TASKS.labels(label, ended.value)


def install_task_metrics() -> None:
    """Record every task run of this process (any Celery app); connecting again is a no-op."""
    signals.task_prerun.connect(_started, weak=False, dispatch_uid="optionsflow.task_started")
    signals.task_postrun.connect(_finished, weak=False, dispatch_uid="optionsflow.task_finished")
