"""The subscriber keeps its batches, unacknowledged, while the broker is down."""

from __future__ import annotations

import dataclasses

import orjson

from common.embedded_redis import free_port
from common.names import Channel
from common.settings import load_settings
from tests.support.messages import TICK
from worker_enricher.subscriber.seqcheck import Mode
from worker_enricher.subscriber.service import Subscriber


def test_a_broker_outage_keeps_the_batches_for_later(redis_url: str) -> None:
    settings = load_settings()
    dead_broker = f"redis://127.0.0.1:{free_port()}/1"  # nothing listens there
    settings = dataclasses.replace(
        settings, redis_url=redis_url,
        pipeline=dataclasses.replace(settings.pipeline, broker_url=dead_broker),
    )  # fmt: skip
    subscriber = Subscriber(settings)
    subscriber.celery.conf.task_publish_retry = False  # fail at once, not after kombu's retries
    try:
        raws = [orjson.dumps({**TICK, "seq": i}) for i in range(5)]
        ids = [f"1-{i}".encode() for i in range(5)]
        subscriber.take(Channel.MARKET_UNDERLYING, list(zip(ids, raws, strict=True)), Mode.RUN,
                        0.0)  # fmt: skip
        subscriber.flush(1.0)  # due by time; the send fails and must not raise
        assert subscriber.batcher.pending == {Channel.MARKET_UNDERLYING: raws}  # kept, in order
        assert subscriber.batcher.pending_ids == {Channel.MARKET_UNDERLYING: ids}
        assert subscriber._send_after > 0.0  # the next attempt waits
        subscriber.flush(1.0)  # before the back-off: no attempt, nothing lost
        assert subscriber.batcher.pending == {Channel.MARKET_UNDERLYING: raws}
        assert subscriber.to_ack == {}  # nothing sent: nothing acknowledged
    finally:
        subscriber.close()
