"""Option quote batches: implied volatilities into the IV surface."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from celery import shared_task

from common.names import Channel
from worker_enricher.context import WorkerContext, get_context
from worker_enricher.surface import REFRESH_MS, deferred_refresh, process_quotes
from worker_enricher.tasks.base import RETRY_OPTIONS, BatchTask, run_batch


class _QuoteTask(BatchTask):
    channel = Channel.MARKET_OPTION_QUOTE


def _schedule(product: str) -> None:
    refresh_iv_surface.apply_async(args=[product], countdown=REFRESH_MS / 1000)


def _process(ctx: WorkerContext, raws: Sequence[bytes | str]) -> int:
    return process_quotes(ctx, raws, schedule=_schedule)


@shared_task(  # type: ignore[untyped-decorator]
    name="optionsflow.enrich.update_iv_surface", bind=True, base=_QuoteTask, **RETRY_OPTIONS
)
def update_iv_surface(self: BatchTask, raws: list[bytes | str]) -> int:
    return run_batch(self, _process, raws)


@shared_task(  # type: ignore[untyped-decorator]
    name="optionsflow.enrich.refresh_iv_surface", ignore_result=True, **RETRY_OPTIONS
)
def refresh_iv_surface(product: str) -> None:
    """A rebuild that the once-a-second throttle put off, so no quote is left out for long."""
    deferred_refresh(get_context(), product, dt.datetime.now(dt.UTC))
