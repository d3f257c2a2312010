"""Prometheus metrics of an HTTP service: request latency per route and ``/metrics``.

Under gunicorn with several worker processes set ``PROMETHEUS_MULTIPROC_DIR``
(``make up``, compose and the chart do) so ``/metrics`` aggregates every worker.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_SECONDS = Histogram(
    "optionsflow_http_request_duration_seconds",
    "HTTP request latency by service, route and status.",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)


def _registry(multiproc_dir: Path | None) -> CollectorRegistry | None:
    """The merged files of every worker process, or ``None``: this process's own registry."""
    if multiproc_dir is None:
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(multiproc_dir))  # type: ignore[no-untyped-call]
    return registry


def install_metrics(app: Flask, service: str, multiproc_dir: Path | None) -> None:
    """Time every request and serve ``/metrics``, merged from ``multiproc_dir`` when given
    (``settings.observability.prometheus_multiproc_dir``)."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            REQUEST_SECONDS.labels(
                service, request.method, rule, str(response.status_code)
            ).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        registry = _registry(multiproc_dir)
        body = generate_latest(registry) if registry is not None else generate_latest()
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
