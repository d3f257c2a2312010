"""Entry point of the worker: ``celery -A worker_enricher.celery_app worker -Q enrich``."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from celery import signals

from common.settings import load_settings
from worker_enricher.celery_config import ENRICH_TASK_PREFIX, make_celery
from worker_enricher.metrics_dir import prepare_metrics_dir

settings = load_settings()
# prometheus_client picks in-memory or file-backed (multiprocess) values when it is
# imported: the directory must be in the environment before anything imports it.
metrics_path = prepare_metrics_dir(settings)

from common.observability import setup_service  # noqa: E402
from worker_enricher.metrics import init_task_series, install_task_metrics  # noqa: E402
from worker_enricher.metrics_server import process_exited, serve_metrics  # noqa: E402

app = make_celery(settings)
app.set_current()
app.set_default()
install_task_metrics()

_metrics_server: list[WSGIServer] = []
"""The worker's metrics server, once started (main process only)."""


@signals.setup_logging.connect  # type: ignore[untyped-decorator]
def _json_logging(**_: object) -> None:
    setup_service("worker", settings)
    if settings.log_level != "DEBUG":  # a line per task at 150 tasks/s would drown the rest
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


@signals.worker_init.connect  # type: ignore[untyped-decorator]
def _serve_metrics(**_: object) -> None:
    """In the main process, once the tasks are imported and before the pool starts."""
    init_task_series(name for name in app.tasks if name.startswith(ENRICH_TASK_PREFIX))
    server = serve_metrics(settings, metrics_path)
    if server is not None:
        _metrics_server.append(server)


@signals.worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _pool_process_exits(pid: int, **_: object) -> None:
    process_exited(pid, metrics_path)


@signals.worker_shutdown.connect  # type: ignore[untyped-decorator]
def _stop_metrics(**_: object) -> None:
    while _metrics_server:
        server = _metrics_server.pop()
        server.shutdown()
        server.server_close()
