"""The pipeline as it runs: a real Redis, Celery worker processes, the subscriber and the feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store, open_store
from tests.integration.pipeline.support import pipeline_environment
from tests.support.processes import ProcessSet


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pipeline_env(redis_url: str, store_url: str, tmp_path: Path) -> dict[str, str]:
    return pipeline_environment(redis_url, store_url, tmp_path)


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
