"""The Celery application of the enrichment pipeline, configured in one place."""

from __future__ import annotations

from typing import Any

from celery import Celery

from common.names import ALERT_QUEUE, ENRICH_QUEUE, Channel
from common.redis_client import redis_db_url
from common.settings import Settings, SettingsError
from worker_enricher import kombu_close_patch, pool_exit

ENRICH_TASK_PREFIX = "optionsflow.enrich."
"""Every task of the pipeline is named ``optionsflow.enrich.<function>`` on its decorator, never
after its module, so moving code renames nothing on the wire; the prefix routes it to the
``enrich`` queue, and the part after the last dot is its metrics label."""

ALERT_TASK_PREFIX = "optionsflow.alerts."
"""The alert delivery tasks (``optionsflow.alerts.send_webhook``), routed to the ``alerts``
queue, which a worker of its own serves (a thread pool: the tasks wait on the network)."""

TASKS: dict[Channel, str] = {
    Channel.MARKET_UNDERLYING: "optionsflow.enrich.enrich_underlying",
    Channel.MARKET_OPTION_QUOTE: "optionsflow.enrich.update_iv_surface",
    Channel.MARKET_OPTION_CHAIN: "optionsflow.enrich.enrich_chains",
}
"""The task that takes a batch of each market channel (the subscriber sends them by name)."""

BROKER_DB = 1
"""The broker's Redis database, apart from the cache and Pub/Sub in database 0."""


def broker_url(settings: Settings) -> str:
    if settings.pipeline.broker_url:
        return settings.pipeline.broker_url
    if settings.redis_url is None:
        raise SettingsError("REDIS_URL (or CELERY_BROKER_URL) must be set for the Celery broker")
    return redis_db_url(settings.redis_url, BROKER_DB)


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": broker_url(settings),
        # kombu's Redis transport with a fetch a killed worker cannot lose (the module says how)
        "broker_transport": "worker_enricher.broker_transport:Transport",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # One list per queue (no priority sub-queues): what the reliable fetch needs.
            "priority_steps": [0],
            # A batch taken by a worker that died goes back to the queue after this long
            # (from kombu's ``unacked`` hash, or from the fetch's in-flight list).
            "visibility_timeout": settings.pipeline.visibility_timeout_s,
            # Look for such batches a few times per timeout (kombu's default: every ~100 s).
            "unacked_restore_interval": max(1, settings.pipeline.visibility_timeout_s // 5),
            "unacked_restore_throttle": 1,
            # The sweep's lock. kombu keeps it 300 s, so a worker killed inside a sweep
            # stopped every restore for five minutes (seen: 1 run in 4 of the killed-worker
            # test). A sweep takes milliseconds, and a restore is a transaction per batch, so
            # two sweeps after a short lock expired cannot restore a batch twice.
            "unacked_mutex_expire": max(2, min(settings.pipeline.visibility_timeout_s, 10)),
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
        },
        "task_routes": {
            f"{ENRICH_TASK_PREFIX}*": {"queue": ENRICH_QUEUE},
            f"{ALERT_TASK_PREFIX}*": {"queue": ALERT_QUEUE},
        },
        "task_default_queue": ENRICH_QUEUE,
        "task_serializer": "json",
        # The batch tasks (tasks/base.py) carry the raw payloads as msgpack bytes: JSON
        # would escape every one again and unescape it in the worker.
        "accept_content": ["json", "msgpack"],
        "task_ignore_result": True,  # nobody reads results: no result backend
        "result_backend": None,
        "task_acks_late": True,  # acknowledged after the batch is stored and published
        "task_reject_on_worker_lost": True,  # a killed worker's batch is redelivered
        "worker_prefetch_multiplier": 2,  # small: a dead worker strands few batches
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
    }


def make_celery(settings: Settings) -> Celery:
    """A Celery app for ``settings`` with the enrichment tasks registered."""
    kombu_close_patch.apply()  # a worker survives Redis dying under load (the module says how)
    pool_exit.apply()  # a child's exit waits 2 s, not 30, for its last result to be read
    app = Celery("optionsflow", set_as_current=False)
    app.conf.update(celery_config(settings))
    app.conf.include = ["worker_enricher.tasks.chains", "worker_enricher.tasks.underlying",
                        "worker_enricher.tasks.quotes",
                        "worker_enricher.tasks.alerts"]  # fmt: skip
    return app
