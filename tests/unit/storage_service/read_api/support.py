"""Constants and helpers of the read API tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from prometheus_client import REGISTRY

from storage_service.routes.context import EXTENSION, DataContext
from tests.support.snapshots import T0

PAST_EXPIRY = "2026-11-19"
NOW = T0 + dt.timedelta(minutes=30)
"""The fixed clock: 2026-11-21T04:30Z, half an hour after the first snapshot."""
N_SNAPSHOTS = 12
"""Enriched NIFTY chains of EXPIRY, one a minute from T0 (seq 1..12)."""


def context(app: Flask) -> DataContext:
    found: DataContext = app.extensions[EXTENSION]
    return found


def sample(name: str, **labels: str) -> float:
    """A counter's current value in this process (0 before its first increment)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def store_calls(op: str, outcome: str) -> float:
    return sample("optionsflow_store_calls_total", op=op, outcome=outcome)


def cache_requests(kind: str, result: str) -> float:
    return sample("optionsflow_cache_requests_total", kind=kind, result=result)


def error_fields(body: Any) -> list[str]:
    return sorted(body["error"]["fields"])
