"""The webhook task with a real SQLite alert store and a real receiver on 127.0.0.1: each
attempt's decision (retry, deliver, give up, skip), the Celery task in-process, and a real
alerts worker process on the ``alerts`` queue."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from common.devstack import processes
from common.settings import AlertSettings, Settings, load_settings
from store import StoreUnavailable
from store.alerts import AlertStore, open_alert_store
from tests.support.hooks import Receiver, Reply, receiver
from tests.support.processes import ProcessSet, wait_until
from worker_enricher.alerting.webhook import WebhookSender, verify_signature
from worker_enricher.celery_config import make_celery
from worker_enricher.context import make_context, set_context
from worker_enricher.metrics import WebhookOutcome
from worker_enricher.tasks import alerts as task_module
from worker_enricher.tasks.alerts import WEBHOOK_TASK, Step, attempt_webhook, send_webhook

pytestmark = pytest.mark.redis

NOW = 1_796_550_060.0
SECRET = "5a" * 32
OWNER = "u-7"
ALERT_ID = "al_webhookwebhookwebhook"


def alert_doc(url: str | None) -> dict[str, Any]:
    return {
        "id": ALERT_ID, "owner": OWNER, "product": "NIFTY", "metric": "iv",
        "op": "crosses_above", "value": 0.25, "expiry": None, "strike": None,
        "option_type": None, "cooldown_s": 300, "window_s": None, "active": True,
        "webhook_url": url, "webhook_secret": SECRET if url else None, "note": "iv up",
        "created_at": "2026-12-01T08:00:00.000Z", "updated_at": "2026-12-01T08:00:00.000Z",
    }  # fmt: skip


TRIGGER: dict[str, Any] = {
    "trigger_id": "fedcba9876543210fedcba9876543210", "alert_id": ALERT_ID, "owner": OWNER,
    "product": "NIFTY", "expiry": None, "metric": "iv", "op": "crosses_above",
    "strike": None, "option_type": None, "value": 0.2531, "threshold": 0.25,
    "timestamp": "2026-12-06T09:41:00.123Z", "triggered_at": "2026-12-06T09:41:00.140Z",
    "note": "iv up",
}  # fmt: skip
BODY = orjson.dumps(TRIGGER)


class Highest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def alerts(store_url: str) -> Iterator[AlertStore]:
    store = open_alert_store(store_url)
    yield store
    store.close()


SETTINGS = AlertSettings(webhook_allow_private=True, webhook_timeout_s=2.0, webhook_attempts=3)


def attempt(alerts: AlertStore, retries: int, trigger: Any = TRIGGER, **kwargs: Any) -> Step:
    settings = replace(SETTINGS, **kwargs)
    return attempt_webhook(
        trigger, retries, settings=settings, alerts=alerts,
        sender=WebhookSender(settings.webhook_timeout_s, settings.webhook_allow_private),
        now=NOW, jitter=Highest(),
    )  # fmt: skip


def counted(outcome: WebhookOutcome) -> float:
    value = REGISTRY.get_sample_value("optionsflow_alert_webhooks_total", {"outcome": outcome})
    return value or 0.0


def checked(server: Receiver) -> list[bytes]:
    """The bodies received, each after its headers and signature are checked by hand."""
    for request in server.requests:
        assert request.headers["X-OptionsFlow-Trigger"] == TRIGGER["trigger_id"]
        t, v1 = request.headers["X-OptionsFlow-Signature"].split(",")
        mac = hmac.new(SECRET.encode(), f"{t[2:]}.".encode() + request.body, hashlib.sha256)
        assert v1 == f"v1={mac.hexdigest()}"
    return [request.body for request in server.requests]


def test_500_then_200_is_delivered_on_the_second_attempt(alerts: AlertStore) -> None:
    with receiver(Reply(500), Reply(200)) as server:
        alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/hook"), limit=10)
        before = counted(WebhookOutcome.DELIVERED)
        assert attempt(alerts, 0) == Step(WebhookOutcome.RETRY, retry_in_s=1.0)  # base 1 s
        assert attempt(alerts, 1) == Step(WebhookOutcome.DELIVERED)
    assert checked(server) == [BODY, BODY]
    assert counted(WebhookOutcome.DELIVERED) == before + 1


def test_the_backoff_doubles_and_the_last_attempt_gives_up(
    alerts: AlertStore, caplog: pytest.LogCaptureFixture
) -> None:
    with receiver(Reply(503)) as server:
        alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/hook"), limit=10)
        steps = [attempt(alerts, n, webhook_backoff_s=0.5) for n in range(3)]
    assert steps == [
        Step(WebhookOutcome.RETRY, retry_in_s=0.5),
        Step(WebhookOutcome.RETRY, retry_in_s=1.0),
        Step(WebhookOutcome.GIVEN_UP),
    ]
    assert len(server.requests) == 3
    [given_up] = [r for r in caplog.records if r.getMessage() == "webhook given up"]
    assert (given_up.trigger_id, given_up.alert_id) == (TRIGGER["trigger_id"], ALERT_ID)
    assert (given_up.attempt, given_up.status, given_up.error) == (3, 503, None)


def test_a_400_is_given_up_after_one_attempt_and_logged_without_secret_or_body(
    alerts: AlertStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=task_module.__name__)
    with receiver(Reply(400)) as server:
        alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/hook"), limit=10)
        before = counted(WebhookOutcome.GIVEN_UP)
        assert attempt(alerts, 0) == Step(WebhookOutcome.GIVEN_UP)
    assert len(server.requests) == 1
    assert counted(WebhookOutcome.GIVEN_UP) == before + 1
    [record] = [r for r in caplog.records if r.name == task_module.__name__]
    assert (record.getMessage(), record.levelname) == ("webhook given up", "WARNING")
    assert (record.status, record.attempt) == (400, 1)
    logged = repr(record.__dict__)
    assert SECRET not in logged
    assert "0.2531" not in logged  # nothing of the body
    assert "/hook" not in logged  # nor the URL's path


def test_a_429_retry_after_sets_the_wait(alerts: AlertStore) -> None:
    with receiver(Reply(429, (("Retry-After", "7"),)), Reply(200)) as server:
        alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/"), limit=10)
        assert attempt(alerts, 0) == Step(WebhookOutcome.RETRY, retry_in_s=7.0)
        assert attempt(alerts, 1) == Step(WebhookOutcome.DELIVERED)


def test_a_timeout_is_retried(alerts: AlertStore) -> None:
    with receiver(Reply(200, delay_s=1.5), Reply(200)) as server:
        alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/"), limit=10)
        assert attempt(alerts, 0, webhook_timeout_s=0.2) == Step(WebhookOutcome.RETRY, 1.0)
        assert attempt(alerts, 1, webhook_timeout_s=0.2) == Step(WebhookOutcome.DELIVERED)


def test_loopback_is_refused_when_private_addresses_are_not_allowed(alerts: AlertStore) -> None:
    with receiver() as server:
        alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/"), limit=10)
        assert attempt(alerts, 0, webhook_allow_private=False) == Step(WebhookOutcome.GIVEN_UP)
    assert server.requests == []


def test_an_alert_deleted_or_without_a_webhook_now_is_not_sent(alerts: AlertStore) -> None:
    with receiver() as server:
        url = f"http://127.0.0.1:{server.port}/"
        stored = alerts.create_alert(alert_doc(url), limit=10)
        alerts.replace_alert(OWNER, stored | {"webhook_url": None, "webhook_secret": None})
        before = counted(WebhookOutcome.SKIPPED)
        assert attempt(alerts, 0) == Step(WebhookOutcome.SKIPPED)
        alerts.delete_alert(OWNER, ALERT_ID)
        assert attempt(alerts, 1) == Step(WebhookOutcome.SKIPPED)
        other = TRIGGER | {"owner": "someone-else"}  # the alert is read as its owner's only
        alerts.create_alert(alert_doc(url), limit=10)
        assert attempt(alerts, 0, trigger=other) == Step(WebhookOutcome.SKIPPED)
    assert server.requests == []
    assert counted(WebhookOutcome.SKIPPED) == before + 3


@pytest.mark.parametrize(
    "trigger", [None, [], {"alert_id": ALERT_ID, "owner": OWNER}, TRIGGER | {"owner": 7}]
)
def test_a_malformed_trigger_is_given_up(alerts: AlertStore, trigger: Any) -> None:
    assert attempt(alerts, 0, trigger=trigger) == Step(WebhookOutcome.GIVEN_UP)


class Unavailable:
    """An alert repository whose store is down."""

    def alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        raise StoreUnavailable("connection refused")


def test_a_store_outage_counts_as_a_failed_attempt() -> None:
    store: Any = Unavailable()
    assert attempt(store, 0) == Step(WebhookOutcome.RETRY, retry_in_s=1.0)
    assert attempt(store, 2) == Step(WebhookOutcome.GIVEN_UP)


# -- the Celery task ------------------------------------------------------------------------


def settings_for(redis_url: str, store_url: str, **alerts: Any) -> Settings:
    base = load_settings()
    return replace(
        base, redis_url=redis_url, store_url=store_url,
        alerts=replace(base.alerts, webhook_allow_private=True, **alerts),
    )  # fmt: skip


def test_the_task_retries_in_process_until_delivered(
    redis_url: str, store_url: str, alerts: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Celery's eager mode runs each retry at once (no countdown): 503, 503, then 200."""
    context = make_context(settings_for(redis_url, store_url, webhook_attempts=4))
    set_context(context)
    monkeypatch.setattr(task_module, "clock", lambda: NOW)
    try:
        with receiver(Reply(503), Reply(503), Reply(204)) as server:
            alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/in"), limit=10)
            result = send_webhook.apply(args=[TRIGGER])
        assert result.get() == "delivered"
        assert checked(server) == [BODY] * 3
        header = server.requests[0].headers["X-OptionsFlow-Signature"]
        assert header.startswith("t=1796550060,")
        assert verify_signature(SECRET, header, BODY, NOW)
    finally:
        set_context(None)
        context.close()


def test_a_real_alerts_worker_delivers_from_the_alerts_queue(
    redis_url: str, store_url: str, alerts: AlertStore, tmp_path: Path
) -> None:
    """The worker as ``make up`` runs it (threads, queue ``alerts``); the task sent by name
    as the evaluation sends it: 503 with Retry-After 0, then 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "ALERT"))}
    env.update(
        REDIS_URL=redis_url, STORE_URL=store_url, VAR_DIR=str(tmp_path / "var"),
        LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", ALERT_WEBHOOK_ALLOW_PRIVATE="true",
    )  # fmt: skip
    procs = ProcessSet(tmp_path, env)
    app = make_celery(settings_for(redis_url, store_url))
    try:
        with receiver(Reply(503, (("Retry-After", "0"),)), Reply(200)) as server:
            alerts.create_alert(alert_doc(f"http://127.0.0.1:{server.port}/in"), limit=10)
            argv = processes(replace(load_settings(), var_dir=tmp_path / "var"))["alerts-worker"]
            worker = procs.start("alerts-worker", argv, ready=" ready.")
            app.send_task(WEBHOOK_TASK, args=[TRIGGER])  # routed to "alerts" by its name
            assert wait_until(lambda: len(server.requests) >= 2, 30), procs.log("alerts-worker")
            assert wait_until(lambda: "webhook delivered" in procs.log("alerts-worker"), 10)
        assert checked(server) == [BODY, BODY]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0  # a warm shutdown, as make up's stop expects
        log = procs.log("alerts-worker")
        assert '"attempt": 2' in log
        assert SECRET not in log
    finally:
        app.close()
        procs.close()
