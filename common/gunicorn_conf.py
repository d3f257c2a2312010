"""gunicorn configuration shared by every OptionsFlow HTTP service.

Used as ``gunicorn -c python:common.gunicorn_conf --bind HOST:PORT <service>.wsgi:app``.
Threaded workers (``gthread``) keep client connections alive, which the
gateway's pooled upstream calls rely on. Tunables come from the settings
(``common.settings.WebSettings``): ``WEB_CONCURRENCY`` (processes, default 2),
``GUNICORN_THREADS`` (default 8), ``GUNICORN_TIMEOUT`` (seconds, default 30),
``SERVICE_NAME``, ``LOG_LEVEL``. With ``PROMETHEUS_MULTIPROC_DIR`` set, the files
of an earlier run are deleted at start and a dead worker's are released. An invalid
setting stops gunicorn before it starts a worker, naming the variable.
"""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.glogging import Logger

from common.metricfiles import clear_stale
from common.settings import load_settings

_settings = load_settings()  # gunicorn reads this module once, in its master process


class QuietAccessLogger(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger without its access lines: any ``logconfig_dict`` turns them on,
    and building one costs ~5 % of the gateway's CPU per request; every service
    logs its requests as JSON lines itself (common.web.tracing)."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = QuietAccessLogger
worker_class = "gthread"
workers = _settings.web.worker_count
threads = _settings.web.thread_count
timeout = _settings.web.timeout_s
graceful_timeout = 10
keepalive = 75  # longer than the gateway's pool idle time, so the server never closes first
max_requests = 0
control_socket_disable = True  # gunicorn 27's control socket lives under $HOME; nothing uses it
accesslog = None  # every service logs its requests as JSON lines itself
errorlog = "-"
loglevel = _settings.log_level.lower()
proc_name = _settings.web.service_name
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
    directory = _settings.observability.prometheus_multiproc_dir
    if directory is not None:
        clear_stale(directory)


def child_exit(server: Any, worker: Any) -> None:
    directory = _settings.observability.prometheus_multiproc_dir
    if directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(directory))  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    # The app's objects live as long as the worker: out of the collector's way, a full
    # collection no longer walks them on the request path. Garbage from loading goes first.
    gc.collect()
    gc.freeze()
