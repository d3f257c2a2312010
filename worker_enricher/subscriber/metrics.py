"""Prometheus metrics of the subscriber (served on ``SUBSCRIBER_METRICS_PORT``); the raw streams'
backlog is read from Redis at each scrape (:mod:`worker_enricher.subscriber.backlog`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from common.names import MARKET_CHANNELS

MESSAGES = Counter(
    "optionsflow_subscriber_messages_total",
    "Market messages read from the raw streams (claimed ones again)",
    ["channel"],
)
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
RECHECKED = Counter(
    "optionsflow_subscriber_seq_rechecked_total",
    "Entries delivered again that the sequence check had passed already (not repeats)",
    ["channel"],
)
FORCED = Counter(
    "optionsflow_subscriber_seq_forced_total",
    "Entries checked before the entries ahead of them, after waiting too long for them",
    ["channel"],
)
ACKED = Counter(
    "optionsflow_subscriber_acked_total",
    "Stream entries acknowledged (enqueued, dead-lettered or superseded, and checked)",
    ["channel"],
)
CLAIMED = Counter(
    "optionsflow_subscriber_claimed_total",
    "Pending entries claimed from a reader idle past SUBSCRIBER_CLAIM_IDLE_MS",
    ["channel"],
)
TRIMMED_PENDING = Counter(
    "optionsflow_subscriber_trimmed_pending_total",
    "Pending entries trimmed from the stream (MAXLEN) before anyone handled them: lost",
    ["channel"],
)
BATCHES = Counter("optionsflow_subscriber_batches_total", "Tasks dispatched", ["channel"])
DISPATCHED = Counter(
    "optionsflow_subscriber_dispatched_total", "Messages dispatched in tasks", ["channel"]
)
LAG = Histogram(
    "optionsflow_subscriber_lag_seconds",
    "From a message's own timestamp (set by the feed) to its handling here, per channel",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# livemax: the same reading whichever process serves it, should one ever run multiprocess
QUEUE_DEPTH = Gauge(
    "optionsflow_enrich_queue_depth",
    "Tasks waiting in the enrich queue",
    multiprocess_mode="livemax",
)
CONGESTED = Gauge(
    "optionsflow_subscriber_congested",
    "1 while chains are being coalesced",
    multiprocess_mode="livemax",
)

MESSAGES_BY_CHANNEL = {c: MESSAGES.labels(c.value) for c in MARKET_CHANNELS}
"""Bound once: ``labels()`` on every message costs more than the count itself."""
LAG_BY_CHANNEL = {c: LAG.labels(c.value) for c in MARKET_CHANNELS}

for _channel in MARKET_CHANNELS:  # every series there from the start, at 0, for rates and alerts
    for _counter in (GAPS, MISSING, REPEATS, RESETS, RECHECKED, FORCED, ACKED, CLAIMED,
                     TRIMMED_PENDING, BATCHES, DISPATCHED):  # fmt: skip
        _counter.labels(_channel.value)
