"""Store call latency, a Prometheus series of every process that uses a store.

Shown by the base app's ``/metrics`` (and the worker's); under gunicorn with
``PROMETHEUS_MULTIPROC_DIR`` set, it adds up over the workers.
"""

from __future__ import annotations

from prometheus_client import Histogram

STORE_CALL_SECONDS = Histogram(
    "optionsflow_store_call_seconds",
    "Store calls by operation and adapter (sqlite, mongodb), failed ones included; "
    "timed in the adapter, so a call the read API gave up on counts its full time.",
    ["op", "adapter"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
