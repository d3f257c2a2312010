"""Prometheus metrics of the subscriber (served on ``SUBSCRIBER_METRICS_PORT``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from common.names import MARKET_CHANNELS

MESSAGES = Counter("optionsflow_subscriber_messages_total", "Market messages received", ["channel"])
GAPS = Counter(
    "optionsflow_subscriber_seq_gaps_total", "Sequence gaps seen per channel", ["channel"]
)
MISSING = Counter(
    "optionsflow_subscriber_seq_missing_total", "Messages missing in sequence gaps", ["channel"]
)
REPEATS = Counter(
    "optionsflow_subscriber_seq_repeats_total", "Messages at or below the last seq", ["channel"]
)
RESETS = Counter(
    "optionsflow_subscriber_seq_resets_total", "Publisher restarts (sequence resets)", ["channel"]
)
SUPERSEDED = Counter(
    "optionsflow_subscriber_superseded_total",
    "Chains replaced by a newer one of the same (product, expiry) under backpressure",
)
BATCHES = Counter("optionsflow_subscriber_batches_total", "Tasks dispatched", ["channel"])
DISPATCHED = Counter(
    "optionsflow_subscriber_dispatched_total", "Messages dispatched in tasks", ["channel"]
)
QUEUE_DEPTH = Gauge("optionsflow_enrich_queue_depth", "Tasks waiting in the enrich queue")
CONGESTED = Gauge("optionsflow_subscriber_congested", "1 while chains are being coalesced")

MESSAGES_BY_CHANNEL = {c: MESSAGES.labels(c.value) for c in MARKET_CHANNELS}
"""Bound once: ``labels()`` on every message costs more than the count itself."""
