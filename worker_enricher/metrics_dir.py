"""prometheus_client's multiprocess mode for the Celery worker, chosen before any series exists.

The prefork pool runs tasks in child processes, so each process writes its
series to files in ``PROMETHEUS_MULTIPROC_DIR`` and the main process merges
them when scraped. prometheus_client reads that variable when it is imported
and gives every series made afterwards file-backed values. The ``celery``
command imports it before the app module, though (flower's command plugin
does), so :func:`prepare_metrics_dir`, first thing in
``worker_enricher.celery_app``, also switches the value class of an
already imported prometheus_client; no OptionsFlow series may exist by then.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from common.metricfiles import MULTIPROC_ENV, clear_stale
from common.settings import Settings


def prepare_metrics_dir(settings: Settings) -> Path | None:
    """The directory of the worker's metric files when it serves metrics (``WORKER_METRICS_PORT``).

    A given ``PROMETHEUS_MULTIPROC_DIR`` (one per worker) is emptied of the
    files of an earlier run, which would otherwise be merged in; without one, a
    private temporary directory is made and removed when the worker exits. Either
    is set in the environment, where prometheus_client and the pool processes
    look for it. ``None`` (nothing done) when the port is 0.
    """
    if not settings.pipeline.worker_metrics_port:
        return None
    made = _series_made()
    if made:
        raise RuntimeError(
            f"series {made} were made before the worker's metrics directory was set up: "
            "import worker_enricher.celery_app before them, or unset WORKER_METRICS_PORT"
        )
    path = settings.observability.prometheus_multiproc_dir
    if path is not None:
        clear_stale(path)
    else:
        path = Path(tempfile.mkdtemp(prefix="optionsflow-worker-metrics-"))
        atexit.register(_remove, path, os.getpid())
    os.environ[MULTIPROC_ENV] = str(path)  # written for prometheus_client, never read here
    _switch_imported_client()
    return path


def _series_made() -> list[str]:
    """The OptionsFlow series that already hold in-memory values."""
    if "prometheus_client.values" not in sys.modules:
        return []
    from prometheus_client import REGISTRY, values

    if getattr(values.ValueClass, "_multiprocess", False):
        return []  # imported with the directory set: file-backed already
    return sorted({m.name for m in REGISTRY.collect() if m.name.startswith("optionsflow_")})


def _switch_imported_client() -> None:
    """Give the series made from now on file-backed values if prometheus_client is loaded."""
    if "prometheus_client.values" not in sys.modules:
        return  # it reads the environment when it is imported
    from prometheus_client import values

    if getattr(values.ValueClass, "_multiprocess", False):
        return  # imported with the directory already set: one value class per process
    # Series take their value class from this attribute when they are made
    # (prometheus_client.metrics; prometheus-client is pinned in pyproject.toml).
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def _remove(path: Path, owner: int) -> None:
    if os.getpid() == owner:  # never from a forked pool process
        shutil.rmtree(path, ignore_errors=True)
