"""Webhook delivery of alert triggers, on the ``alerts`` queue and its own worker.

The evaluation calls ``send_webhook.delay(trigger)`` for each trigger of an alert with a
``webhook_url``. The message carries the trigger only: the URL and the secret are read
from the alert repository at each attempt, so the secret never travels through the broker
and an alert deleted, or changed to have no webhook, is not sent. Each attempt is one
signed POST (``worker_enricher/alerting/webhook.py``); 429, 5xx, timeouts and connection
errors are retried after a capped, fully jittered backoff (a ``Retry-After`` up to the cap
instead), ``ALERT_WEBHOOK_ATTEMPTS`` attempts in all. An attempt may run again (a worker
lost before its ack): receivers dedupe by ``X-OptionsFlow-Trigger``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from celery import Task, shared_task

from common.jsonlog import trace
from common.settings import AlertSettings
from store import StoreError
from store.alerts.port import AlertStore
from worker_enricher.alerting.webhook import Attempt, Outcome, WebhookSender, backoff_s
from worker_enricher.context import WorkerContext, get_context
from worker_enricher.metrics import WebhookOutcome, count_webhook

log = logging.getLogger(__name__)

WEBHOOK_TASK = "optionsflow.alerts.send_webhook"

clock = time.time
"""Unix seconds, for the signature's ``t`` and ``Retry-After`` dates (tests replace it)."""
rng = random.Random()
"""The backoff's jitter (tests replace it)."""


@dataclass(frozen=True, slots=True)
class Step:
    """What one run of the task decided: its counted outcome, and the wait before the next
    attempt in seconds when it is :attr:`WebhookOutcome.RETRY`."""

    outcome: WebhookOutcome
    retry_in_s: float | None = None


_context_lock = threading.Lock()


def _context() -> WorkerContext:
    """The process's context; the pool's threads would otherwise each make the first one."""
    with _context_lock:
        return get_context()


def sender_for(settings: AlertSettings) -> WebhookSender:
    """The sender with the settings' timeout and address rule."""
    return WebhookSender(settings.webhook_timeout_s, settings.webhook_allow_private)


def _key(trigger: Any) -> tuple[str, str, str] | None:
    """``(trigger_id, alert_id, owner)`` of a trigger document, ``None`` if one is missing."""
    if not isinstance(trigger, Mapping):
        return None
    key = tuple(trigger.get(name) for name in ("trigger_id", "alert_id", "owner"))
    if not all(isinstance(part, str) and part for part in key):
        return None
    return (str(key[0]), str(key[1]), str(key[2]))


def attempt_webhook(
    trigger: Any, retries: int, *, settings: AlertSettings, alerts: AlertStore,
    sender: WebhookSender, now: float, jitter: random.Random,
) -> Step:  # fmt: skip
    """Attempt ``retries + 1`` (of ``settings.webhook_attempts``) of ``trigger``'s webhook:
    read the alert, send, and decide; logged and counted here."""
    key = _key(trigger)
    if key is None:
        log.warning(
            "webhook given up", extra={"error": "malformed trigger", "attempt": retries + 1}
        )
        return _counted(Step(WebhookOutcome.GIVEN_UP))
    trigger_id, alert_id, owner = key
    fields = {"trigger_id": trigger_id, "alert_id": alert_id, "attempt": retries + 1}
    try:
        alert = alerts.alert(owner, alert_id)
    except StoreError as exc:
        attempt = Attempt(Outcome.RETRY, error=f"store: {type(exc).__name__}: {exc}")
    else:
        url, secret = (alert or {}).get("webhook_url"), (alert or {}).get("webhook_secret")
        if not (isinstance(url, str) and url and isinstance(secret, str) and secret):
            log.info("webhook not sent: the alert is gone or has no webhook", extra=fields)
            return _counted(Step(WebhookOutcome.SKIPPED))
        attempt = sender.send(url, secret, trigger, now)
    fields |= {"status": attempt.status, "error": attempt.error}
    if attempt.outcome is Outcome.DELIVERED:
        log.info("webhook delivered", extra=fields)
        return _counted(Step(WebhookOutcome.DELIVERED))
    if attempt.outcome is Outcome.RETRY and retries + 1 < settings.webhook_attempts:
        wait = backoff_s(retries, settings.webhook_backoff_s, jitter, attempt.retry_after_s)
        log.info("webhook will be retried", extra=fields | {"retry_in_s": round(wait, 3)})
        return _counted(Step(WebhookOutcome.RETRY, retry_in_s=wait))
    log.warning("webhook given up", extra=fields)
    return _counted(Step(WebhookOutcome.GIVEN_UP))


def _counted(step: Step) -> Step:
    count_webhook(step.outcome)
    return step


@shared_task(  # type: ignore[untyped-decorator]
    name=WEBHOOK_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=None
)
def send_webhook(self: Task, trigger: dict[str, Any]) -> str:
    """Deliver ``trigger``'s webhook, one attempt per run; a retry is a new message with a
    countdown (:data:`~worker_enricher.alerting.webhook.MAX_BACKOFF_S` at most)."""
    with trace(self.request.id):
        ctx = _context()
        step = attempt_webhook(
            trigger, self.request.retries, settings=ctx.settings.alerts, alerts=ctx.alert_store,
            sender=sender_for(ctx.settings.alerts), now=clock(), jitter=rng,
        )  # fmt: skip
        if step.retry_in_s is not None:
            raise self.retry(countdown=step.retry_in_s, max_retries=None)
        return step.outcome.value
