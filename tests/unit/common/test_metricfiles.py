"""Metric files of an earlier run are deleted before a service or the worker starts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from common import gunicorn_conf
from common.metricfiles import clear_stale


def _earlier_run(directory: Path) -> None:
    directory.mkdir(parents=True)
    for name in ("counter_101.db", "gauge_livesum_101.db", "histogram_102.db", "notes.txt"):
        (directory / name).write_bytes(b"x")


def test_clear_stale_deletes_only_metric_files(tmp_path: Path) -> None:
    _earlier_run(tmp_path / "m")
    clear_stale(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["notes.txt"]


def test_clear_stale_creates_a_missing_directory(tmp_path: Path) -> None:
    clear_stale(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()


def test_gunicorn_clears_the_directory_it_is_given_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _earlier_run(tmp_path / "m")
    settings = gunicorn_conf._settings
    observability = replace(settings.observability, prometheus_multiproc_dir=tmp_path / "m")
    monkeypatch.setattr(gunicorn_conf, "_settings", replace(settings, observability=observability))
    gunicorn_conf.on_starting(server=None)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["notes.txt"]
