"""The pipeline as it runs: a real Redis, Celery worker processes, the subscriber and the feed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store, open_store
from tests.support.processes import ProcessSet


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pipeline_env(redis_url: str, store_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "SUBSCRIBER_"))}
    env.update(
        REDIS_URL=redis_url,
        STORE_URL=store_url,
        VAR_DIR=str(tmp_path / "var"),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        CELERY_VISIBILITY_TIMEOUT_S="5",  # a killed worker's batches come back within seconds
        SUBSCRIBER_CLAIM_IDLE_MS="1000",  # and a killed subscriber's entries within a second
        # No coalescing: these tests check that every published chain is stored, and a slow
        # machine backs the queue past the default 200 (the backpressure test sets its own).
        QUEUE_HIGH_WATER="1000000",
    )
    return env


@pytest.fixture
def procs(tmp_path: Path, pipeline_env: dict[str, str]) -> Iterator[ProcessSet]:
    processes = ProcessSet(tmp_path, pipeline_env)
    yield processes
    processes.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()
