"""What a worker process holds: settings, a Redis client, the stores, the Lua scripts and
the alert evaluation.

Created on first use in each process (Celery forks its pool after import), so no
socket or SQLite handle is ever shared across a fork.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import redis

from common.products import serving_registry
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from store import Store, open_store
from store.alerts import AlertStore, open_alert_store
from store.paper import PaperStore, account_rules, open_paper_store
from worker_enricher.alerting.delivery import Delivery
from worker_enricher.alerting.emitter import QueueEmitter
from worker_enricher.alerting.evaluation import AlertEvaluator
from worker_enricher.alerting.rulebook import RuleBook
from worker_enricher.resting import RestingOrders
from worker_enricher.scripts import Scripts, register_scripts
from worker_enricher.settlement import Settlement


@dataclass(frozen=True, slots=True)
class WorkerContext:
    settings: Settings
    redis: redis.Redis
    store: Store
    scripts: Scripts
    alert_store: AlertStore
    alerts: AlertEvaluator
    paper_store: PaperStore
    resting: RestingOrders
    settlement: Settlement

    def close(self) -> None:
        self.redis.close()
        self.store.close()
        self.alert_store.close()
        self.paper_store.close()


def _queue_webhook(trigger: dict[str, Any]) -> None:
    from worker_enricher.tasks.alerts import send_webhook  # the tasks import this module

    send_webhook.delay(trigger)


def make_context(settings: Settings) -> WorkerContext:
    if settings.redis_url is None:
        raise SettingsError("REDIS_URL: the worker needs the Redis the subscriber publishes to")
    client = make_redis(settings.redis_url)
    alert_store = open_alert_store(settings.store_url)
    emitter = QueueEmitter(settings.redis_url)
    delivery = Delivery(client, alert_store, emitter, _queue_webhook)
    scripts = register_scripts(client)
    paper_store = open_paper_store(settings.store_url, account_rules(settings.paper))
    registry = serving_registry(settings)
    return WorkerContext(
        settings=settings,
        redis=client,
        store=open_store(settings.store_url),
        scripts=scripts,
        alert_store=alert_store,
        alerts=AlertEvaluator(client, scripts, RuleBook(alert_store), delivery),
        paper_store=paper_store,
        resting=RestingOrders(
            client, paper_store, emitter, lambda product: registry.get(product).stale_after_s
        ),
        settlement=Settlement(client, paper_store, registry),
    )


_context: tuple[int, WorkerContext] | None = None


def get_context() -> WorkerContext:
    """This process's context, made from the environment's settings on first use."""
    global _context
    if _context is None or _context[0] != os.getpid():
        _context = (os.getpid(), make_context(load_settings()))
    return _context[1]


def set_context(context: WorkerContext | None) -> None:
    """Install ``context`` for this process (tests and tools that run tasks in-process)."""
    global _context
    _context = None if context is None else (os.getpid(), context)
