"""The worker's task series: one outcome per run (ok, retry, deadletter, failed), and run times."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import redis
from celery import Celery, states
from prometheus_client import REGISTRY

from common.names import Channel
from common.settings import load_settings
from store import StoreUnavailable
from worker_enricher import metrics
from worker_enricher.context import WorkerContext, set_context
from worker_enricher.tasks.base import RETRY_OPTIONS, BatchTask, run_batch

BUCKETS = ("0.1", "0.25", "+Inf")


class FakeRedis:
    """What the dead-letter push uses of a client; ``down`` makes every call fail."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.pushed: list[bytes] = []

    def lpush(self, key: str, *entries: bytes) -> None:
        if self.down:
            raise redis.ConnectionError("redis down")
        self.pushed.extend(entries)

    def ltrim(self, key: str, start: int, end: int) -> None:
        pass


@pytest.fixture
def fake_redis() -> Iterator[FakeRedis]:
    client = FakeRedis()
    ctx = WorkerContext(load_settings(), client, *[None] * 7)  # type: ignore[arg-type]
    set_context(ctx)
    yield client
    set_context(None)


@pytest.fixture
def app() -> Celery:
    metrics.install_task_metrics()
    metrics.install_task_metrics()  # idempotent: still one count per run
    return Celery(f"test-{uuid.uuid4().hex}", set_as_current=False)


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Make every run last ``seconds`` on the metrics clock."""

    def last(seconds: float) -> None:
        readings = itertools.chain.from_iterable((0.0, seconds) for _ in itertools.count())
        monkeypatch.setattr(metrics, "clock", lambda: next(readings))

    return last


class _TickBatch(BatchTask):
    channel = Channel.MARKET_UNDERLYING


def batch_task(app: Celery, name: str, process: Callable[[Sequence[str]], int]) -> Any:
    """A batch task like the pipeline's, retrying twice at most, running ``process``."""
    options = {**RETRY_OPTIONS, "max_retries": 2}

    @app.task(bind=True, base=_TickBatch, name=f"tests.metrics.{name}", **options)  # type: ignore[untyped-decorator]
    def task(self: BatchTask, raws: list[str]) -> int:
        return run_batch(self, lambda _ctx, batch: process(batch), raws)

    return task


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot(task: str) -> dict[str, float]:
    out = {o.value: sample("optionsflow_enrich_tasks_total", task=task, outcome=o.value)
           for o in metrics.Outcome}  # fmt: skip
    out["count"] = sample("optionsflow_enrich_task_seconds_count", task=task)
    out["sum"] = sample("optionsflow_enrich_task_seconds_sum", task=task)
    for le in BUCKETS:
        out[le] = sample("optionsflow_enrich_task_seconds_bucket", task=task, le=le)
    return out


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 9) for k in after if after[k] != before[k]}


def test_a_processed_batch_counts_ok_and_its_run_time(
    app: Celery, fake_redis: FakeRedis, ticks: Callable[[float], None]
) -> None:
    task = batch_task(app, "ok_batch", len)
    ticks(0.25)
    before = snapshot("ok_batch")
    result = task.apply(args=[["a", "b", "c"]])
    assert (result.state, result.result) == (states.SUCCESS, 3)
    assert moved(before, snapshot("ok_batch")) == {
        "ok": 1, "count": 1, "sum": 0.25, "0.25": 1, "+Inf": 1,
    }  # fmt: skip


def test_retries_then_the_whole_batch_dead_lettered(
    app: Celery, fake_redis: FakeRedis, ticks: Callable[[float], None]
) -> None:
    def store_down(batch: Sequence[str]) -> int:
        raise StoreUnavailable("sqlite: database is locked")

    task = batch_task(app, "deadletter_batch", store_down)
    ticks(0.05)
    before = snapshot("deadletter_batch")
    assert task.apply(args=[["m1", "m2"]]).state == states.FAILURE
    # Three runs: two retried, the last failed for good and dead-lettered whole.
    assert moved(before, snapshot("deadletter_batch")) == {
        "retry": 2, "deadletter": 1, "count": 3, "sum": 0.15, "0.1": 3, "0.25": 3, "+Inf": 3,
    }  # fmt: skip
    assert len(fake_redis.pushed) == 2


def test_a_batch_whose_dead_letters_are_lost_counts_failed(
    app: Celery, fake_redis: FakeRedis, ticks: Callable[[float], None]
) -> None:
    def broken(batch: Sequence[str]) -> int:
        raise ValueError("a bug: not retried")

    fake_redis.down = True
    task = batch_task(app, "failed_batch", broken)
    ticks(2.0)
    before = snapshot("failed_batch")
    assert task.apply(args=[["m1"]]).state == states.FAILURE
    assert moved(before, snapshot("failed_batch")) == {
        "failed": 1, "count": 1, "sum": 2.0, "+Inf": 1,
    }  # fmt: skip


def test_a_task_without_dead_letters_that_fails_counts_failed(
    app: Celery, ticks: Callable[[float], None]
) -> None:
    @app.task(name="tests.metrics.plain_refresh")  # type: ignore[untyped-decorator]
    def plain_refresh() -> None:
        raise RuntimeError("no surface")

    ticks(0.001)
    before = snapshot("plain_refresh")
    assert plain_refresh.apply().state == states.FAILURE
    assert moved(before, snapshot("plain_refresh"))["failed"] == 1


@pytest.mark.parametrize(
    ("state", "deadlettered", "expected"),
    [
        (states.SUCCESS, False, metrics.Outcome.OK),
        (states.RETRY, False, metrics.Outcome.RETRY),
        (states.FAILURE, True, metrics.Outcome.DEADLETTER),
        (states.FAILURE, False, metrics.Outcome.FAILED),
        (states.REJECTED, False, None),
        (None, False, None),
    ],
)
def test_outcome_of_a_run(state: str | None, deadlettered: bool, expected: object) -> None:
    class Request:
        pass

    request = Request()
    if deadlettered:
        metrics.mark_deadlettered(request)
    assert metrics.outcome(state, request) == expected


def test_task_labels_are_the_short_names() -> None:
    assert metrics.task_label("worker_enricher.tasks.chains.enrich_chains") == "enrich_chains"
    assert metrics.task_label("worker_enricher.tasks.quotes.refresh_iv_surface") == (
        "refresh_iv_surface"
    )
    assert metrics.task_label(None) == "unknown"


def test_every_series_of_known_tasks_exists_at_zero() -> None:
    metrics.init_task_series(["worker_enricher.tasks.fresh.never_run_task"])
    for ended in metrics.Outcome:
        labels = {"task": "never_run_task", "outcome": ended.value}
        assert REGISTRY.get_sample_value("optionsflow_enrich_tasks_total", labels) == 0.0
    count = "optionsflow_enrich_task_seconds_count"
    assert REGISTRY.get_sample_value(count, {"task": "never_run_task"}) == 0.0
