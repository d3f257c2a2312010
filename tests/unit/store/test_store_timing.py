"""optionsflow_store_call_seconds: every store operation timed per op and adapter."""

from __future__ import annotations

import inspect
import itertools

import pytest
from prometheus_client import REGISTRY

from store import Store, StoreError, timing
from store.sqlite import SqliteStore
from tests.support.snapshots import at, small

NAME = "optionsflow_store_call_seconds"


def _adapter(store: Store) -> str:
    return "sqlite" if isinstance(store, SqliteStore) else "mongodb"


def _stats(op: str, adapter: str) -> tuple[float, float, float]:
    """count, sum, and the bucket ``le=0.01`` of (op, adapter)."""
    labels = {"op": op, "adapter": adapter}
    return (
        REGISTRY.get_sample_value(f"{NAME}_count", labels) or 0.0,
        REGISTRY.get_sample_value(f"{NAME}_sum", labels) or 0.0,
        REGISTRY.get_sample_value(f"{NAME}_bucket", {**labels, "le": "0.01"}) or 0.0,
    )


@pytest.fixture
def lasting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store call lasts 7 ms on the timing clock."""
    readings = itertools.chain.from_iterable((1.0, 1.007) for _ in itertools.count())
    monkeypatch.setattr(timing, "clock", lambda: next(readings))


def test_every_operation_but_close_is_timed() -> None:
    port_ops = {n for n, _ in inspect.getmembers(Store, inspect.isfunction) if n[0] != "_"}
    assert set(timing.TIMED_OPS) == port_ops - {"close"}


@pytest.mark.usefixtures("lasting")
def test_calls_are_timed_per_op_and_adapter(store: Store) -> None:
    adapter = _adapter(store)
    other = "mongodb" if adapter == "sqlite" else "sqlite"
    ops = ("insert_chains", "latest_chain", "chain_history", "products", "ping")
    before = {op: _stats(op, adapter) for op in ops}
    before_other = {op: _stats(op, other) for op in ops}
    assert store.insert_chains([small(1), small(2)]) == 2
    assert store.latest_chain("NIFTY", "2026-11-26") is not None
    store.latest_chain("NIFTY", "2026-11-26")
    assert len(store.chain_history("NIFTY", "2026-11-26", at(-1), at(60))) == 2
    store.products()
    store.ping()
    calls = {"insert_chains": 1, "latest_chain": 2, "chain_history": 1, "products": 1, "ping": 1}
    for op, n in calls.items():
        count, total, fast = (a - b for a, b in zip(_stats(op, adapter), before[op], strict=True))
        assert (count, fast) == (n, n), op
        assert total == pytest.approx(0.007 * n), op
    assert {op: _stats(op, other) for op in ops} == before_other


@pytest.mark.usefixtures("lasting")
def test_failed_calls_are_timed_too(store: Store) -> None:
    adapter = _adapter(store)
    before = _stats("insert_chains", adapter)
    with pytest.raises((ValueError, StoreError)):
        store.insert_chains([{"product": "NIFTY"}])  # no expiry, seq or timestamp
    assert _stats("insert_chains", adapter)[0] - before[0] == 1


def test_timed_methods_keep_their_names() -> None:
    method = SqliteStore.insert_chains
    assert (method.__name__, method.__qualname__) == ("insert_chains", "SqliteStore.insert_chains")
