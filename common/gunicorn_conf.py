"""gunicorn configuration shared by every OptionsFlow HTTP service.

Used as ``gunicorn -c python:common.gunicorn_conf --bind HOST:PORT <service>.wsgi:app``.
Threaded workers (``gthread``) keep client connections alive, which the
gateway's pooled upstream calls rely on. Tunables come from the environment:
``WEB_CONCURRENCY`` (processes, default 2), ``GUNICORN_THREADS`` (default 8),
``GUNICORN_TIMEOUT`` (seconds, default 30). With ``PROMETHEUS_MULTIPROC_DIR``
set, the files of an earlier run are deleted at start and a dead worker's are
released.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from common.metricfiles import clear_stale


class QuietAccessLogger(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger without its access lines: any ``logconfig_dict`` turns them on,
    and building one costs ~5 % of the gateway's CPU per request; every service
    logs its requests as JSON lines itself (common.web.tracing)."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = QuietAccessLogger
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 75  # longer than the gateway's pool idle time, so the server never closes first
max_requests = 0
control_socket_disable = True  # gunicorn 27's control socket lives under $HOME; nothing uses it
accesslog = None  # every service logs its requests as JSON lines itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
proc_name = os.environ.get("SERVICE_NAME", "optionsflow")
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{levelname}{name}{message}",
            "style": "{",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}
    },
}


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        clear_stale(Path(directory))


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    # The app's objects live as long as the worker: out of the collector's way, a full
    # collection no longer walks them on the request path. Garbage from loading goes first.
    gc.collect()
    gc.freeze()
