"""The worker's metrics plumbing: the multiprocess directory, merged pool files, queue depth."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client import CollectorRegistry, Counter, generate_latest, values
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from common.embedded_redis import free_port
from common.metricfiles import MULTIPROC_ENV
from common.settings import Settings, load_settings
from worker_enricher import metrics_dir, metrics_server
from worker_enricher.metrics import TASK_SECONDS
from worker_enricher.metrics_dir import prepare_metrics_dir


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def worker_settings(port: int, directory: Path | None = None) -> Settings:
    """The settings of a worker serving metrics on ``port``, given ``directory`` or none."""
    base = load_settings()
    return dataclasses.replace(
        base,
        pipeline=dataclasses.replace(base.pipeline, worker_metrics_port=port),
        observability=dataclasses.replace(base.observability, prometheus_multiproc_dir=directory),
    )


# -- the directory -------------------------------------------------------------------


@pytest.fixture
def client_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever prepare_metrics_dir changes in this process is put back afterwards."""
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    monkeypatch.setenv(MULTIPROC_ENV, "")  # so that the variable is restored, even if unset
    monkeypatch.delenv(MULTIPROC_ENV)


@pytest.mark.usefixtures("client_state")
def test_no_port_no_directory() -> None:
    assert prepare_metrics_dir(worker_settings(0)) is None
    assert MULTIPROC_ENV not in os.environ
    assert not getattr(values.ValueClass, "_multiprocess", False)


@pytest.mark.usefixtures("client_state")
def test_series_made_before_the_directory_are_refused() -> None:
    # This process made OptionsFlow series (in-memory) when it imported worker_enricher.metrics.
    with pytest.raises(RuntimeError, match=rf"'{TASK_SECONDS._name}'.*WORKER_METRICS_PORT"):
        prepare_metrics_dir(worker_settings(9100))
    assert MULTIPROC_ENV not in os.environ  # refused before anything was set up


@pytest.mark.usefixtures("client_state")
def test_a_given_directory_is_emptied_of_earlier_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_dir, "_series_made", list)
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "histogram_456.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("not ours")
    assert prepare_metrics_dir(worker_settings(9100, tmp_path)) == tmp_path
    assert os.environ[MULTIPROC_ENV] == str(tmp_path)  # where prometheus_client looks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.usefixtures("client_state")
def test_without_one_a_private_directory_and_file_backed_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics_dir, "_series_made", list)
    at_exit: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    monkeypatch.setattr(metrics_dir.atexit, "register", lambda f, *a: at_exit.append((f, a)))
    path = prepare_metrics_dir(worker_settings(9100))
    assert path is not None
    try:
        assert os.environ[MULTIPROC_ENV] == str(path)
        assert path.name.startswith("optionsflow-worker-metrics-")
        # Series made from now on (already imported client) write to the directory.
        Counter("optionsflow_test_switched", "test", registry=None).inc(3)
        assert [p.name for p in path.iterdir()] == [f"counter_{os.getpid()}.db"]
    finally:
        ((remove, args),) = at_exit
        remove(*args)
    assert not path.exists()


def test_the_directory_is_removed_by_its_owner_only(tmp_path: Path) -> None:
    metrics_dir._remove(tmp_path, os.getpid() + 1)  # a forked pool process: left alone
    assert tmp_path.exists()
    metrics_dir._remove(tmp_path, os.getpid())
    assert not tmp_path.exists()


# -- merged files --------------------------------------------------------------------


def _write(path: Path, kind: str, pid: int, name: str, value: float) -> None:
    files = MmapedDict(str(path / f"{kind}_{pid}.db"))
    files.write_value(mmap_key(name, name, (), (), "help"), value, 0.0)
    files.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(10)
    return proc.pid


def test_live_gauges_of_dead_processes_are_dropped_totals_kept(tmp_path: Path) -> None:
    dead, me = _dead_pid(), os.getpid()
    _write(tmp_path, "counter", dead, "optionsflow_test_total", 5)
    _write(tmp_path, "counter", me, "optionsflow_test_total", 2)
    _write(tmp_path, "gauge_livemax", dead, "optionsflow_test_state", 2)
    _write(tmp_path, "gauge_livemax", me, "optionsflow_test_state", 1)
    registry = CollectorRegistry()
    registry.register(metrics_server.PoolCollector(tmp_path))
    got = samples(generate_latest(registry).decode())
    assert got == {("optionsflow_test_total", ()): 7.0, ("optionsflow_test_state", ()): 1.0}
    assert not (tmp_path / f"gauge_livemax_{dead}.db").exists()
    assert (tmp_path / f"counter_{dead}.db").exists()


def test_a_process_that_exits_drops_its_live_gauges(tmp_path: Path) -> None:
    _write(tmp_path, "gauge_livemax", 4242, "optionsflow_test_state", 2)
    _write(tmp_path, "counter", 4242, "optionsflow_test_total", 2)
    metrics_server.process_exited(4242, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["counter_4242.db"]


# -- queue depth and the server ------------------------------------------------------


def test_queue_depth_is_read_when_scraped(caplog: pytest.LogCaptureFixture) -> None:
    depths = iter([7])

    def depth() -> int:
        try:
            return next(depths)
        except StopIteration:
            raise redis.ConnectionError("broker down") from None

    registry = CollectorRegistry()
    registry.register(metrics_server.QueueDepthCollector(depth))
    assert samples(generate_latest(registry).decode()) == {
        ("optionsflow_enrich_queue_depth", ()): 7.0
    }
    with caplog.at_level(logging.WARNING):
        assert samples(generate_latest(registry).decode()) == {}
    assert "queue depth unknown" in caplog.text


def test_the_server_serves_the_pool_files(tmp_path: Path) -> None:
    base = load_settings()
    port = free_port()
    settings = dataclasses.replace(
        base,
        redis_url="redis://127.0.0.1:9/0",  # no broker there: no queue depth, still served
        pipeline=dataclasses.replace(base.pipeline, broker_url=None, worker_metrics_port=port),
        observability=dataclasses.replace(base.observability, metrics_host="127.0.0.1"),
    )
    assert metrics_server.serve_metrics(settings, None) is None  # no multiprocess directory
    _write(tmp_path, "counter", _dead_pid(), "optionsflow_test_total", 3)
    server = metrics_server.serve_metrics(settings, tmp_path)
    assert server is not None
    try:
        assert metrics_server.serve_metrics(settings, tmp_path) is None  # port taken: logged
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            got = samples(resp.read().decode())
        assert got == {("optionsflow_test_total", ()): 3.0}
    finally:
        server.shutdown()
        server.server_close()
