"""Prometheus metrics of the logging service (one process collects; under gunicorn
the files of every worker are merged)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FILED = Counter(
    "optionsflow_logging_lines_total",
    "Log lines taken from the stream and acknowledged, by sink (archive, elasticsearch).",
    ["sink"],
)
TRIMMED = Counter(
    "optionsflow_logging_lines_trimmed_total",
    "Entries trimmed from the stream (MAXLEN) before a sink had filed them, by sink.",
    ["sink"],
)
REJECTED = Counter(
    "optionsflow_logging_lines_rejected_total",
    "Lines Elasticsearch refused for good (a mapping error, say): acknowledged, not retried.",
)
FAILURES = Counter(
    "optionsflow_logging_sink_failures_total",
    "Batches a sink could not file (retried after a back-off), by sink.",
    ["sink"],
)
LAG = Gauge(
    "optionsflow_logging_consumer_lag",
    "Stream entries not yet delivered to a sink's consumer group, by sink.",
    ["sink"],
    multiprocess_mode="livemax",
)
PENDING = Gauge(
    "optionsflow_logging_consumer_pending",
    "Entries delivered to a sink's consumer group and not yet acknowledged, by sink.",
    ["sink"],
    multiprocess_mode="livemax",
)
