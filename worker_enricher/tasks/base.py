"""What every batch task shares: retries on store and Redis errors, and no silent loss."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import redis
from celery import Task

from common.deadletter import push_deadletters
from common.jsonlog import trace
from common.names import Channel
from common.redis_client import make_redis
from common.settings import SettingsError, load_settings
from store import StoreError, StoreUnavailable
from worker_enricher.context import WorkerContext, get_context
from worker_enricher.metrics import mark_deadlettered

log = logging.getLogger(__name__)

RETRYABLE: tuple[type[Exception], ...] = (
    StoreUnavailable,
    redis.ConnectionError,
    redis.TimeoutError,
    redis.BusyLoadingError,
    redis.ReadOnlyError,  # a replica during failover
    redis.OutOfMemoryError,
    redis.exceptions.NoScriptError,  # Redis lost the scripts again while they were re-sent
)
RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": RETRYABLE,
    "retry_backoff": 1,  # seconds: 1, 2, 4, … capped below, with full jitter
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 12,  # about five minutes of outage
}


class BatchTask(Task):  # type: ignore[misc]
    """A batch that still fails after its retries goes to the dead-letter list, not away."""

    channel: Channel
    serializer = "msgpack"
    """The raw payloads travel as bytes (msgpack copies them); JSON would escape each one
    again (~25 µs a 4 KB chain) and the worker unescape it (~15 µs). Retries use it too."""

    def on_failure(
        self, exc: Exception, task_id: str, args: Sequence[Any], kwargs: dict[str, Any], einfo: Any
    ) -> None:
        raws: list[bytes | str] = list(args[0]) if args else []
        reason = f"task failed after {self.request.retries} retries: {type(exc).__name__}: {exc}"
        log.error("batch failed", extra={"task_id": task_id, "count": len(raws), "reason": reason})
        try:
            _dead_letter(self.channel, [(r, reason) for r in raws])
        except (redis.RedisError, StoreError, SettingsError):
            log.exception("batch lost: its dead letters could not be written")
        else:
            mark_deadlettered(self.request)  # counted as "deadletter", not "failed"


def _dead_letter(channel: Channel, rejected: list[tuple[bytes | str, str]]) -> None:
    """Push through the worker's context or, if the store keeps it from being made, Redis alone."""
    try:
        ctx = get_context()
    except StoreError:  # no context without the store, which may be why the batch failed
        settings = load_settings()
        if settings.redis_url is None:
            raise SettingsError("REDIS_URL: needed for the dead letters") from None
        with make_redis(settings.redis_url) as client:
            push_deadletters(client, channel, rejected, "worker", settings.pipeline.deadletter_max)
        return
    push_deadletters(ctx.redis, channel, rejected, "worker", ctx.settings.pipeline.deadletter_max)


def run_batch(
    task: Task,
    process: Callable[[WorkerContext, Sequence[bytes | str]], int],
    raws: Sequence[bytes | str],
) -> int:
    """Run ``process`` on a batch under the task's id as trace id."""
    with trace(task.request.id):
        ctx = get_context()
        try:
            count = process(ctx, raws)  # a NOSCRIPT is handled in its pipeline (Scripts.execute)
        except RETRYABLE as exc:  # autoretry takes it from here
            log.warning(
                "batch will be retried",
                extra={"error": f"{type(exc).__name__}: {exc}", "retries": task.request.retries,
                       "count": len(raws)},
            )  # fmt: skip
            raise
        log.debug("batch done", extra={"count": count, "retries": task.request.retries})
        return count
