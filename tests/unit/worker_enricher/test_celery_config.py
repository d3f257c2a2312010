"""The Celery tasks: explicit names; the pipeline's routed to the ``enrich`` queue, the alert
deliveries to the ``alerts`` queue."""

from __future__ import annotations

import dataclasses

import pytest
from celery import Celery

from common.names import ALERT_QUEUE, ENRICH_QUEUE, Channel
from common.settings import load_settings
from worker_enricher.celery_config import (
    ALERT_TASK_PREFIX,
    ENRICH_TASK_PREFIX,
    TASKS,
    make_celery,
)
from worker_enricher.metrics import task_label

NAMES = {
    "optionsflow.enrich.enrich_underlying",
    "optionsflow.enrich.update_iv_surface",
    "optionsflow.enrich.refresh_iv_surface",
    "optionsflow.enrich.enrich_chains",
}
ALERT_NAMES = {"optionsflow.alerts.send_webhook"}


@pytest.fixture
def app() -> Celery:
    base = load_settings()
    settings = dataclasses.replace(
        base,
        redis_url="redis://127.0.0.1:9/0",  # never connected: only names and routes are read
        pipeline=dataclasses.replace(base.pipeline, broker_url=None),
    )
    app = make_celery(settings)
    app.loader.import_default_modules()  # the modules of conf.include, as a worker does
    return app


def test_every_task_is_registered_under_its_explicit_name(app: Celery) -> None:
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == NAMES | ALERT_NAMES
    assert all(name.startswith(ENRICH_TASK_PREFIX) for name in NAMES)
    assert all(name.startswith(ALERT_TASK_PREFIX) for name in ALERT_NAMES)


def test_the_subscriber_sends_each_channel_to_a_registered_task(app: Celery) -> None:
    assert set(TASKS) == {Channel.MARKET_UNDERLYING, Channel.MARKET_OPTION_QUOTE,
                          Channel.MARKET_OPTION_CHAIN}  # fmt: skip
    assert set(TASKS.values()) <= set(app.tasks)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_task_routes_to_the_enrich_queue(app: Celery, name: str) -> None:
    route = app.amqp.router.route({}, name)
    assert route["queue"].name == ENRICH_QUEUE


def test_the_webhook_task_routes_to_the_alerts_queue(app: Celery) -> None:
    route = app.amqp.router.route({}, "optionsflow.alerts.send_webhook")
    assert route["queue"].name == ALERT_QUEUE == "alerts"


def test_metric_labels_stay_the_function_names() -> None:
    assert {task_label(name) for name in NAMES} == {
        "enrich_underlying",
        "update_iv_surface",
        "refresh_iv_surface",
        "enrich_chains",
    }


def test_a_pool_child_waits_two_seconds_not_thirty_for_its_last_result_to_be_read(
    app: Celery,
) -> None:
    """billiard's 30 s wait outlasted the supervisor's 10 s stop timeout when the main
    process's shutdown stopped reading results (worker_enricher/pool_exit.py)."""
    from billiard import pool

    from worker_enricher import pool_exit

    assert pool_exit.bound_s() == pool_exit.WAIT_S == 2.0
    assert pool.GUARANTEE_MESSAGE_CONSUMPTION_RETRY_LIMIT == 20
