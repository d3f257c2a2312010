"""Underlying tick batches: candles, cache and broadcast."""

from __future__ import annotations

from celery import shared_task

from common.names import Channel
from worker_enricher.tasks.base import RETRY_OPTIONS, BatchTask, run_batch
from worker_enricher.underlying import process_ticks


class _TickTask(BatchTask):
    channel = Channel.MARKET_UNDERLYING


@shared_task(  # type: ignore[untyped-decorator]
    name="optionsflow.enrich.enrich_underlying", bind=True, base=_TickTask, **RETRY_OPTIONS
)
def enrich_underlying(self: BatchTask, raws: list[bytes | str]) -> int:
    return run_batch(self, process_ticks, raws)
