"""Resting paper limit orders filled by the chain task against a real Redis and SQLite: the
crossing chain fills once (two workers on the same chain, a retried batch), a chain that
does not cross or is stale fills nothing, and the owner hears of it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from common.messages.enums import OptionType
from common.names import SOCKETIO_CHANNEL, paper_version_key
from common.products import serving_registry
from common.settings import Settings, load_settings
from common.timestamps import format_ts
from paper.checks import request_from
from paper.documents import Instrument, OrderState, OrderType, TradeKind
from paper.market import chain_quote
from tests.support.chains import build_chain
from worker_enricher import context as worker_context
from worker_enricher.chains import process_chains
from worker_enricher.context import WorkerContext, make_context
from worker_enricher.settlement import Settlement

pytestmark = pytest.mark.redis

OWNER = "u-paper"
EXPIRY = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return replace(load_settings(), redis_url=redis_url, store_url=f"sqlite:///{tmp_path}/s.db")


@pytest.fixture
def ctx(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerContext]:
    monkeypatch.setattr(worker_context, "_queue_webhook", lambda _: None)
    context = make_context(settings)
    yield context
    context.close()


def _chain(seq: int, at: dt.datetime) -> dict[str, Any]:
    return build_chain(5, seq=seq, timestamp=format_ts(at), expiry=EXPIRY)


def _rest_buy(ctx: WorkerContext, chain: dict[str, Any], limit: float) -> tuple[Instrument, str]:
    """A limit buy of the ATM call below its ask: it rests (placed against the chain)."""
    strike = chain["strikes"][2]
    instrument = Instrument(product="NIFTY", expiry=EXPIRY, strike=Decimal(repr(strike)),
                            option_type=OptionType.CALL)  # fmt: skip
    quote = chain_quote(chain, instrument)
    assert quote is not None
    request = request_from({
        "client_order_id": "rest-1", "currency": "INR", "product": "NIFTY", "expiry": EXPIRY,
        "strike": strike, "option_type": "CALL", "side": "BUY", "quantity": 75,
        "type": OrderType.LIMIT.value, "limit_price": limit,
    })  # fmt: skip
    (order,) = ctx.paper_store.place(OWNER, [request], [quote]).orders
    assert order.state is OrderState.NEW
    ctx.redis.set(paper_version_key("NIFTY"), "t1")
    return instrument, order.id


class Events:
    def __init__(self, client: redis.Redis) -> None:
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(SOCKETIO_CHANNEL)
        assert self.pubsub.get_message(timeout=5.0)["type"] == "subscribe"  # type: ignore[index]

    def names(self) -> list[tuple[str, str]]:
        self.pubsub.ping()
        out = []
        while (reply := self.pubsub.get_message(timeout=5.0)) is not None:
            if reply["type"] == "pong":
                return out
            message = json.loads(reply["data"])
            out.append((message["event"], message["room"]))
        raise AssertionError("no pong")


def test_a_crossing_chain_fills_a_resting_order_once(
    ctx: WorkerContext, settings: Settings, redis_client: redis.Redis
) -> None:
    now = dt.datetime.now(dt.UTC)
    first = _chain(1, now - dt.timedelta(seconds=2))
    ask = round(first["calls"][2]["ask"])
    instrument, order_id = _rest_buy(ctx, first, limit=ask - 5.0)
    events = Events(redis_client)
    # a chain that does not cross: nothing
    assert process_chains(ctx, [orjson.dumps(_chain(2, now - dt.timedelta(seconds=1))).decode()])
    assert ctx.paper_store.order(OWNER, order_id).state is OrderState.NEW  # type: ignore[union-attr]
    assert events.names() == []
    # the market comes down to the limit: filled, once, whoever takes the batch
    crossing = _chain(3, now)
    for side in ("calls",):
        crossing[side][2] |= {"bid": ask - 7.0, "ask": ask - 6.0}
    raw = orjson.dumps(crossing).decode()
    other = make_context(settings)
    try:
        process_chains(ctx, [raw])
        process_chains(other, [raw])  # a second worker (a redelivered batch)
    finally:
        other.close()
    order = ctx.paper_store.order(OWNER, order_id)
    assert order is not None
    assert order.state is OrderState.FILLED
    assert order.average_price == Decimal(ask - 6)
    (trade,) = ctx.paper_store.trades(OWNER)
    assert (trade.order_id, trade.quantity, trade.price) == (
        order_id,
        Decimal(75),
        Decimal(repr(ask - 6.0)),
    )
    (position,) = ctx.paper_store.positions(OWNER)
    assert (position.instrument, position.quantity) == (instrument, Decimal(75))
    wallet = ctx.paper_store.wallet(OWNER, "INR")
    assert wallet.cash == wallet.start_cash - 75 * Decimal(ask - 6) - wallet.fees
    assert wallet.fees > 0
    room = f"user:{OWNER}"
    assert events.names() == [("order_update", room), ("position_update", room),
                              ("account_update", room)]  # fmt: skip
    events.pubsub.close()


def test_a_stale_chain_fills_nothing(ctx: WorkerContext) -> None:
    now = dt.datetime.now(dt.UTC)
    first = _chain(1, now - dt.timedelta(hours=2))
    ask = round(first["calls"][2]["ask"])
    _, order_id = _rest_buy(ctx, first, limit=ask - 5.0)
    old = _chain(2, now - dt.timedelta(hours=1))  # older than the product's staleness limit
    old["calls"][2] |= {"bid": ask - 7.0, "ask": ask - 6.0}
    process_chains(ctx, [orjson.dumps(old).decode()])
    assert ctx.paper_store.order(OWNER, order_id).state is OrderState.NEW  # type: ignore[union-attr]
    assert ctx.paper_store.trades(OWNER) == []
    fresh = _chain(3, now)  # the same market, fresh: it fills
    fresh["calls"][2] |= {"bid": ask - 7.0, "ask": ask - 6.0}
    process_chains(ctx, [orjson.dumps(fresh).decode()])
    assert ctx.paper_store.order(OWNER, order_id).state is OrderState.FILLED  # type: ignore[union-attr]


def test_positions_are_settled_at_intrinsic_once_their_expiry_passes(ctx: WorkerContext) -> None:
    """A long call bought on a chain before expiry; once the expiry's instant has passed
    the sweep closes it at intrinsic value against the newest spot seen before it."""
    now = dt.datetime.now(dt.UTC)
    chain = _chain(1, now)
    instrument = Instrument(product="NIFTY", expiry=EXPIRY, strike=Decimal("23900.0"),
                            option_type=OptionType.CALL)  # fmt: skip
    quote = chain_quote(chain, instrument)
    assert quote is not None
    request = request_from({
        "client_order_id": "buy-1", "currency": "INR", "product": "NIFTY", "expiry": EXPIRY,
        "strike": 23_900, "option_type": "CALL", "side": "BUY", "quantity": 75,
    })  # fmt: skip
    (order,) = ctx.paper_store.place(OWNER, [request], [quote]).orders
    assert order.state is OrderState.FILLED
    cash_after_buy = ctx.paper_store.wallet(OWNER, "INR").cash
    expires = Settlement(ctx.redis, ctx.paper_store, serving_registry(ctx.settings),
                         wall=lambda: now.timestamp())  # fmt: skip
    assert expires.on_chains([chain]) == 0  # recorded; the expiry is a week away
    assert ctx.paper_store.positions(OWNER)[0].quantity == 75
    instant = (
        serving_registry(ctx.settings).get("NIFTY").expiry_instant(dt.date.fromisoformat(EXPIRY))
    )
    later = Settlement(ctx.redis, ctx.paper_store, serving_registry(ctx.settings),
                       wall=lambda: instant.timestamp() + 1)  # fmt: skip
    ctx.redis.delete("paper:expiries:sweep")  # the first one's sweep holds the lock 30 s
    assert later.sweep() == 1
    assert ctx.paper_store.positions(OWNER) == []
    settled = [t for t in ctx.paper_store.trades(OWNER) if t.kind is TradeKind.SETTLEMENT]
    spot = Decimal(repr(chain["spot_price"]))
    assert [(t.quantity, t.price) for t in settled] == [(Decimal(75), spot - Decimal(23_900))]
    wallet = ctx.paper_store.wallet(OWNER, "INR")
    assert wallet.cash == cash_after_buy + 75 * (spot - 23_900) - settled[0].fee
    ctx.redis.delete("paper:expiries:sweep")
    assert later.sweep() == 0  # done: nothing recorded any more, nothing settled twice
