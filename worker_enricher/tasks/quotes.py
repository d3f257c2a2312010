"""Option quote batches: implied volatilities into the IV surface."""

from __future__ import annotations

from celery import shared_task

from common.names import Channel
from worker_enricher.surface import process_quotes
from worker_enricher.tasks.base import RETRY_OPTIONS, BatchTask, run_batch


class _QuoteTask(BatchTask):
    channel = Channel.MARKET_OPTION_QUOTE


@shared_task(bind=True, base=_QuoteTask, **RETRY_OPTIONS)  # type: ignore[untyped-decorator]
def update_iv_surface(self: BatchTask, raws: list[str]) -> int:
    return run_batch(self, process_quotes, raws)
