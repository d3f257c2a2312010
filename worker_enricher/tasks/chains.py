"""Chain batches: enrichment, store, cache and broadcast."""

from __future__ import annotations

from celery import shared_task

from common.names import Channel
from worker_enricher.chains import process_chains
from worker_enricher.tasks.base import RETRY_OPTIONS, BatchTask, run_batch


class _ChainTask(BatchTask):
    channel = Channel.MARKET_OPTION_CHAIN


@shared_task(  # type: ignore[untyped-decorator]
    name="optionsflow.enrich.enrich_chains", bind=True, base=_ChainTask, **RETRY_OPTIONS
)
def enrich_chains(self: BatchTask, raws: list[bytes | str]) -> int:
    return run_batch(self, process_chains, raws)
