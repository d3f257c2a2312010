"""Store call latency, recorded by the adapters themselves (``optionsflow_store_call_seconds``).

Timing in the adapter, not in a caller, times every user of the store alike:
the worker's writes, the read API behind its breaker, analytics and auth.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from store.metrics import STORE_CALL_SECONDS

C = TypeVar("C", bound=type)

TIMED_OPS = (
    "insert_chains", "latest_chain", "chain_history", "chain_at", "chain_seqs", "products",
    "upsert_candles", "candles", "create_user", "find_user", "update_password_hash", "ping",
    "start_session", "rotate_session", "revoke_session", "session", "revoke_access",
    "revoked_access", "prune_sessions",
)  # fmt: skip
"""Every operation of the port but ``close``."""

clock = time.perf_counter
"""Seconds (tests replace it)."""


def _timed(method: Callable[..., Any], op: str, adapter: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return method(*args, **kwargs)
        finally:
            STORE_CALL_SECONDS.labels(op, adapter).observe(max(0.0, clock() - started))

    return timed


def timed_store(adapter: str, ops: Sequence[str] = TIMED_OPS) -> Callable[[C], C]:
    """Class decorator: the operations ``ops`` (the store port's by default) of the adapter
    ``adapter`` are timed."""

    def decorate(cls: C) -> C:
        for op in ops:
            setattr(cls, op, _timed(getattr(cls, op), op, adapter))
        return cls

    return decorate
