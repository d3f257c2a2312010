"""The worker's ``/metrics``: the series of every pool process, merged and served by the main one.

``worker_enricher.celery_app`` calls :func:`serve_metrics` in the main process
(``worker_init``) when ``WORKER_METRICS_PORT`` is set, and
:func:`process_exited` as each pool process ends, both with the directory
:func:`~worker_enricher.metrics_dir.prepare_metrics_dir` gave. With the multiprocess
directory prepared (``worker_enricher.metrics_dir``), the series of each
process live in its own files: counters and histograms add up over the
processes, dead ones included; the live-gauge files of a pool process that
was killed without a word (SIGKILL, OOM) are dropped when the next scrape
finds it gone. The queue depth is read from the broker at each scrape.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import redis
from prometheus_client import CollectorRegistry, multiprocess, start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.names import ENRICH_QUEUE
from common.redis_client import make_redis
from common.settings import Settings
from worker_enricher.celery_config import broker_url

log = logging.getLogger(__name__)

_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db\Z")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process now holds the pid
        return True
    return True


class PoolCollector(Collector):
    """The merged files of ``path``, after dropping the live gauges of processes gone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._merged = multiprocess.MultiProcessCollector(None, path=str(path))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        for name in os.listdir(self.path):
            found = _LIVE_GAUGE_FILE.match(name)
            if found and not _alive(int(found[1])):  # what mark_process_dead does, race-free
                (self.path / name).unlink(missing_ok=True)
        merged: Iterable[Metric] = self._merged.collect()  # type: ignore[no-untyped-call]
        return merged


class QueueDepthCollector(Collector):
    """``optionsflow_enrich_queue_depth`` as the worker sees it: tasks waiting, read when scraped.

    The subscriber serves the same gauge; here it stays visible while no
    subscriber runs (a queue draining, or filling from elsewhere). Nothing is
    reported while the broker does not answer.
    """

    def __init__(self, depth: Callable[[], int]) -> None:
        self._depth = depth

    def collect(self) -> Iterable[Metric]:
        try:
            depth = self._depth()
        except (redis.RedisError, OSError) as exc:
            log.warning("queue depth unknown", extra={"error": str(exc)})
            return []
        gauge = GaugeMetricFamily(
            "optionsflow_enrich_queue_depth", "Tasks waiting in the enrich queue"
        )
        gauge.add_metric([], depth)
        return [gauge]


def broker_depth(settings: Settings) -> Callable[[], int]:
    """``LLEN`` of the ``enrich`` queue on the broker, on one client with short timeouts."""
    client = make_redis(broker_url(settings), socket_timeout=1.0, connect_timeout=1.0, retries=0)

    def depth() -> int:
        return int(client.llen(ENRICH_QUEUE))

    return depth


def worker_registry(path: Path, depth: Callable[[], int]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(PoolCollector(path))
    registry.register(QueueDepthCollector(depth))
    return registry


def serve_metrics(settings: Settings, path: Path | None) -> WSGIServer | None:
    """Serve ``/metrics`` on ``METRICS_HOST:WORKER_METRICS_PORT``; the server, or ``None``.

    Needs the multiprocess directory ``path``; a port that cannot be bound is
    logged, and the worker goes on without metrics.
    """
    host, port = settings.observability.metrics_host, settings.pipeline.worker_metrics_port
    if not port or path is None:
        return None
    registry = worker_registry(path, broker_depth(settings))
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.error("worker metrics not served", extra={"host": host, "port": port,
                                                      "error": str(exc)})  # fmt: skip
        return None
    log.info("worker metrics served", extra={"host": host, "port": port, "dir": str(path)})
    return server


def process_exited(pid: int, path: Path | None) -> None:
    """Drop the live gauges of pool process ``pid``, which is ending (its totals stay), from
    the multiprocess directory ``path`` (``None``: no files, nothing to do)."""
    if path is not None:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
