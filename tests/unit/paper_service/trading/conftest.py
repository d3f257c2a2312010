"""paper_service with a real SQLite paper repository (1,000,000 INR to start, fees 0.05 % of
the premium), a recording Socket.IO emitter, the clock a second after the test chains'
origin, and the NIFTY chain of 2026-11-26 cached with two rows quoted apart: the 24,000 call
at 119.50 / 120.50 and the 23,500 put at 79.50 / 80.50 (spot 24,010)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from common.settings import Settings
from paper.rules import AccountRules
from paper_service import create_app
from store.paper.sqlite import SqlitePaperStore
from tests.unit.paper_service.conftest import Clock, cache, enriched
from tests.unit.paper_service.fakes import MemoryStrategyStore

RULES = AccountRules(start_cash={"INR": Decimal(1_000_000)}, fee_rate=Decimal("0.0005"))
EXPIRY = "2026-11-26"


class Emitted:
    """A stand-in for the Socket.IO queue: every emit, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], str]] = []

    def emit_many(self, events: Sequence[tuple[str, Any]], *, namespace: str, room: str) -> None:
        assert namespace == "/"
        self.events += [(event, data, room) for event, data in events]

    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]


def quoted(chain: dict[str, Any], kind: str, strike: float, bid: float, ask: float) -> None:
    row = next(r for r in chain["calls" if kind == "CALL" else "puts"] if r["strike"] == strike)
    row["bid"], row["ask"] = bid, ask


def market_chain() -> dict[str, Any]:
    chain = enriched()
    quoted(chain, "CALL", 24_000.0, 119.5, 120.5)
    quoted(chain, "PUT", 23_500.0, 79.5, 80.5)
    return chain


@pytest.fixture
def paper_store(tmp_path: Path) -> SqlitePaperStore:
    return SqlitePaperStore(tmp_path / "paper.db", RULES)


@pytest.fixture
def emitted() -> Emitted:
    return Emitted()


@pytest.fixture
def app(
    settings: Settings,
    store: MemoryStrategyStore,
    paper_store: SqlitePaperStore,
    emitted: Emitted,
    clock: Clock,
) -> Flask:
    return create_app(settings, strategies=store, paper=paper_store, emitter=emitted, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def chain(redis_client: redis.Redis) -> dict[str, Any]:
    """The NIFTY chain of 2026-11-26 with the two rows quoted apart, cached."""
    cached = market_chain()
    cache(redis_client, cached)
    return cached


def order(cid: str, kind: str = "CALL", strike: float = 24_000, side: str = "BUY",
          quantity: Any = 75, **more: Any) -> dict[str, Any]:  # fmt: skip
    """An order body on the 2026-11-26 NIFTY chain."""
    return {"client_order_id": cid, "product": "NIFTY", "expiry": EXPIRY, "strike": strike,
            "option_type": kind, "side": side, "quantity": quantity, **more}  # fmt: skip
