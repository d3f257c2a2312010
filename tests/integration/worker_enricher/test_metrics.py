"""The worker's and the subscriber's ``/metrics`` as real processes serve them, before and after
a bounded burst of market messages: every named series is there and moves."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from common.names import Channel
from common.rawfeed import publish_raw
from common.timestamps import format_ts
from tests.support.chains import build_chain
from tests.support.messages import TICK
from tests.support.processes import ProcessSet, free_port, wait_until
from tests.support.scrape import Scrape, scrape

pytestmark = pytest.mark.redis

TICK_SEQS = [*range(1, 6), *range(7, 13)]  # 6 never comes: one gap of one message
CHAIN_SEQS = [1, 2, 3]
TIMEOUT_S = 60.0
TASKS = "optionsflow_enrich_tasks_total"


@pytest.fixture
def procs(redis_url: str, tmp_path: Path) -> Iterator[ProcessSet]:
    skip = ("CELERY_", "SUBSCRIBER_", "WORKER_", "PROMETHEUS_", "METRICS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        REDIS_URL=redis_url,
        STORE_URL=f"sqlite:///{tmp_path / 'store.db'}",
        VAR_DIR=str(tmp_path / "var"),
        METRICS_HOST="127.0.0.1",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    processes = ProcessSet(tmp_path, env)
    yield processes
    processes.close()


def _publish(client: redis.Redis) -> None:
    """Ticks with a gap, three chains and a tick the workers reject, all stamped now."""
    now = dt.datetime.now(dt.UTC)
    stamp = format_ts(now)
    expiry = (now.date() + dt.timedelta(days=7)).isoformat()
    ticks = [{**TICK, "seq": seq, "timestamp": stamp} for seq in TICK_SEQS]
    no_price = {k: v for k, v in TICK.items() if k != "price"}
    tick_channel, chain_channel = Channel.MARKET_UNDERLYING.value, Channel.MARKET_OPTION_CHAIN.value
    batch = [(tick_channel, orjson.dumps(t)) for t in [*ticks, {**no_price, "seq": 13,
                                                               "timestamp": stamp}]]  # fmt: skip
    batch += [(chain_channel, orjson.dumps(build_chain(5, seq=seq, expiry=expiry, timestamp=stamp)))
              for seq in CHAIN_SEQS]  # fmt: skip
    publish_raw(client, batch)


def _moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def test_worker_and_subscriber_series_move_under_messages(
    procs: ProcessSet, redis_client: redis.Redis
) -> None:
    worker = f"http://127.0.0.1:{free_port()}"
    subscriber = f"http://127.0.0.1:{free_port()}"
    procs.env["WORKER_METRICS_PORT"] = worker.rsplit(":", 1)[1]
    procs.env["SUBSCRIBER_METRICS_PORT"] = subscriber.rsplit(":", 1)[1]
    procs.worker()
    procs.subscriber()
    w0, s0 = scrape(worker), scrape(subscriber)
    assert w0.matching("optionsflow_enrich_queue_depth")  # read from the broker when scraped
    # Every task's series from the start, at 0 (made in the main process, merged with the pool's).
    failed = w0.matching("optionsflow_enrich_tasks_total", outcome="failed")
    assert {s.labels["task"] for s in failed} == {
        "enrich_chains", "enrich_underlying", "update_iv_surface", "refresh_iv_surface"
    }  # fmt: skip
    assert w0.value("optionsflow_enrich_task_seconds_count") == 0

    _publish(redis_client)

    ticks, chains = len(TICK_SEQS) + 1, len(CHAIN_SEQS)

    def worked() -> bool:
        w, s = scrape(worker), scrape(subscriber)
        return (
            _moved(s0, s, "optionsflow_subscriber_dispatched_total") == ticks + chains
            and _moved(w0, w, TASKS, task="enrich_chains", outcome="ok") >= 1
            and _moved(w0, w, TASKS, task="enrich_underlying", outcome="ok") >= 1
            and w.value("optionsflow_deadletter_total", stage="worker") >= 1
        )

    assert wait_until(worked, TIMEOUT_S, interval=0.25), procs.log("worker")[-3000:]
    w1, s1 = scrape(worker), scrape(subscriber)

    # Worker: runs counted per task and outcome, timed, store writes timed, all from the pool.
    for task in ("enrich_chains", "enrich_underlying"):
        assert _moved(w0, w1, "optionsflow_enrich_task_seconds_count", task=task) >= 1, task
        assert _moved(w0, w1, "optionsflow_enrich_task_seconds_sum", task=task) > 0, task
    assert w1.value(TASKS, outcome="failed") == w1.value(TASKS, outcome="deadletter") == 0
    stored = "optionsflow_store_call_seconds_count"
    assert _moved(w0, w1, stored, op="insert_chains", adapter="sqlite") >= 1
    assert (
        w1.value("optionsflow_deadletter_total", channel="market:underlying", stage="worker") == 1
    )
    assert w1.matching("optionsflow_enrich_queue_depth")
    assert not [s for s in w1.samples if "pid" in s.labels]  # merged over the pool processes

    # Subscriber: every message received, lag observed per message, the gap counted.
    for channel, count in (
        (Channel.MARKET_UNDERLYING, ticks),
        (Channel.MARKET_OPTION_CHAIN, chains),
    ):
        name = channel.value
        assert _moved(s0, s1, "optionsflow_subscriber_messages_total", channel=name) == count
        assert _moved(s0, s1, "optionsflow_subscriber_lag_seconds_count", channel=name) == count
        lag = _moved(s0, s1, "optionsflow_subscriber_lag_seconds_sum", channel=name)
        assert 0 <= lag / count < 30, lag  # stamped just before publishing
    tick_channel = Channel.MARKET_UNDERLYING.value
    assert _moved(s0, s1, "optionsflow_subscriber_seq_gaps_total", channel=tick_channel) == 1
    assert _moved(s0, s1, "optionsflow_subscriber_seq_missing_total", channel=tick_channel) == 1
    assert "optionsflow_subscriber_seq_gaps" in s0.families  # before any gap, too
    assert s1.matching("optionsflow_enrich_queue_depth")
    acked = "optionsflow_subscriber_acked_total"
    assert _moved(s0, s1, acked, channel=tick_channel) == ticks  # every entry acknowledged
    # The raw streams' backlog, read from Redis at the scrape: all delivered, none pending.
    for channel in (tick_channel, Channel.MARKET_OPTION_CHAIN.value):
        assert s1.value("optionsflow_subscriber_stream_lag_seconds", channel=channel) == 0
        assert s1.value("optionsflow_subscriber_stream_pending", channel=channel) == 0
        assert (
            s1.value("optionsflow_subscriber_stream_oldest_pending_seconds", channel=channel) == 0
        )
    assert s1.value("optionsflow_subscriber_stream_maxlen") == 2_000_000
