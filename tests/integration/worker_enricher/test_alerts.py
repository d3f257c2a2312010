"""Alerts evaluated by the enrichment tasks against a real Redis and SQLite: fired once per
crossing (retries, concurrent workers, a worker killed between deciding and delivering),
delivered to the owner's room, recorded, the rules re-read when they change."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from common.embedded_redis import free_port
from common.names import ALERT_OUTBOX_STREAM, SOCKETIO_CHANNEL, alert_version_key
from common.settings import Settings, load_settings
from tests.support.chains import EXPIRY, build_chain
from worker_enricher import context as worker_context
from worker_enricher.alerting import delivery as delivery_module
from worker_enricher.alerting.emitter import QueueEmitter
from worker_enricher.chains import process_chains
from worker_enricher.context import WorkerContext, make_context
from worker_enricher.underlying import process_ticks

pytestmark = pytest.mark.redis

PRODUCT = "NIFTY"
STAMP = "2026-11-20T09:15:00.000Z"


def tick(seq: int, second: int, price: float) -> str:
    return orjson.dumps(
        {"type": "underlying", "product": PRODUCT, "price": price, "volume": 1,
         "timestamp": f"2026-11-20T09:15:{second:02d}.000Z", "seq": seq}
    ).decode()  # fmt: skip


def alert(alert_id: str, owner: str = "u1", **rule: Any) -> dict[str, Any]:
    doc = {"id": alert_id, "owner": owner, "product": PRODUCT, "metric": "spot",
           "op": "crosses_above", "value": 24_000.0, "expiry": None, "strike": None,
           "option_type": None, "cooldown_s": 300, "window_s": None, "active": True,
           "webhook_url": None, "webhook_secret": None, "note": None,
           "created_at": STAMP, "updated_at": STAMP}  # fmt: skip
    return {**doc, **rule}


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return replace(load_settings(), redis_url=redis_url, store_url=f"sqlite:///{tmp_path}/s.db")


@pytest.fixture
def webhooks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(worker_context, "_queue_webhook", queued.append)
    return queued


@pytest.fixture
def ctx(settings: Settings, webhooks: list[dict[str, Any]]) -> Iterator[WorkerContext]:
    context = make_context(settings)
    yield context
    context.close()


def add(ctx: WorkerContext, *docs: dict[str, Any]) -> None:
    """Store alerts and announce the change, as alert_service does."""
    for doc in docs:
        ctx.alert_store.create_alert(doc, limit=100)
    ctx.redis.set(alert_version_key(PRODUCT), os.urandom(4).hex())


class Room:
    """What the workers published on the Socket.IO message queue."""

    def __init__(self, client: redis.Redis) -> None:
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(SOCKETIO_CHANNEL)
        assert self.pubsub.get_message(timeout=5.0)["type"] == "subscribe"  # type: ignore[index]

    def emitted(self) -> list[dict[str, Any]]:
        """Every emit published so far (a PING round trip proves there is no other)."""
        self.pubsub.ping()
        out = []
        while (reply := self.pubsub.get_message(timeout=5.0)) is not None:
            if reply["type"] == "pong":
                return out
            message = json.loads(reply["data"])
            [message["data"]] = message["data"]  # the event's one argument
            out.append(message)
        raise AssertionError("no pong")


@pytest.fixture
def room(redis_client: redis.Redis) -> Iterator[Room]:
    listener = Room(redis_client)
    yield listener
    listener.pubsub.close()


def test_a_crossing_fires_once_to_its_owners_room_and_history(
    ctx: WorkerContext, room: Room
) -> None:
    add(ctx, alert("al_up", note="breakout"), alert("al_other", owner="u2", value=25_000.0))
    batch = [tick(1, 0, 23_990.0), tick(2, 1, 24_010.5), tick(3, 2, 24_020.0)]
    assert process_ticks(ctx, batch) == 3
    [emit] = room.emitted()
    assert {k: emit[k] for k in ("method", "event", "namespace", "room")} == {
        "method": "emit",
        "event": "alert",
        "namespace": "/",
        "room": "user:u1",
    }
    trigger = emit["data"]
    assert {k: v for k, v in trigger.items() if k not in ("trigger_id", "triggered_at")} == {
        "alert_id": "al_up", "owner": "u1", "product": PRODUCT, "expiry": None,
        "metric": "spot", "op": "crosses_above", "strike": None, "option_type": None,
        "value": 24_010.5, "threshold": 24_000.0, "timestamp": "2026-11-20T09:15:01.000Z",
        "note": "breakout",
    }  # fmt: skip
    assert ctx.alert_store.triggers_of("u1") == [trigger]
    assert ctx.alert_store.triggers_of("u2") == []
    assert ctx.redis.xlen(ALERT_OUTBOX_STREAM) == 0
    # the same batch again (a retried task) and a late older tick: nothing more
    process_ticks(ctx, batch)
    process_ticks(ctx, [tick(1, 0, 23_990.0)])
    assert room.emitted() == []
    assert len(ctx.alert_store.triggers_of("u1")) == 1


def test_rules_are_read_again_when_their_version_changes(ctx: WorkerContext, room: Room) -> None:
    process_ticks(ctx, [tick(1, 0, 23_990.0)])  # no rule yet: nothing read but the version
    add(ctx, alert("al_up"))
    process_ticks(ctx, [tick(2, 1, 23_995.0), tick(3, 2, 24_001.0)])
    assert [e["data"]["alert_id"] for e in room.emitted()] == ["al_up"]
    ctx.alert_store.delete_alert("u1", "al_up")
    ctx.redis.set(alert_version_key(PRODUCT), "deleted")
    process_ticks(ctx, [tick(4, 3, 23_990.0), tick(5, 4, 24_050.0)])
    assert room.emitted() == []


def test_chain_rules_and_the_webhook_task(
    ctx: WorkerContext, room: Room, webhooks: list[dict[str, Any]]
) -> None:
    add(ctx, alert("al_iv", metric="atm_iv", op="above", value=0.05, expiry=EXPIRY,
                   webhook_url="https://hooks.example.com/x", webhook_secret="ab" * 32),
        alert("al_pcr", metric="pcr_oi", op="above", value=1_000.0))  # fmt: skip
    chain = build_chain(5, seq=10, timestamp="2026-11-20T09:15:00.000Z")
    assert process_chains(ctx, [orjson.dumps(chain).decode()]) == 1
    [emit] = room.emitted()
    trigger = emit["data"]
    assert trigger["alert_id"] == "al_iv"
    assert trigger["expiry"] == EXPIRY
    assert 0.05 < trigger["value"] < 1.0
    assert webhooks == [trigger]


def _worker(settings: Settings, batch: list[str], start: Any) -> None:
    context = make_context(settings)
    start.wait(10)
    process_ticks(context, batch)
    context.close()


def test_concurrent_workers_fire_once(settings: Settings, ctx: WorkerContext, room: Room) -> None:
    """Six worker processes take the same batch (redelivery, a duplicated task) at once."""
    add(ctx, *(alert(f"al_{i}", value=24_000.0 + i) for i in range(50)))
    batch = [tick(1, 0, 23_900.0), tick(2, 1, 24_100.0)]
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    procs = [spawn.Process(target=_worker, args=(settings, batch, start)) for _ in range(6)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    fired = sorted(e["data"]["alert_id"] for e in room.emitted())
    assert fired == sorted(f"al_{i}" for i in range(50))
    assert len(ctx.alert_store.triggers_of("u1", limit=500)) == 50


def _die_while_delivering(settings: Settings, batch: list[str]) -> None:
    context = make_context(settings)

    class Dying:
        def emit(self, *args: Any, **kwargs: Any) -> None:
            os._exit(9)  # killed after the state and the outbox are written, before any emit

    context.alerts._delivery._emitter = Dying()  # type: ignore[attr-defined]
    process_ticks(context, batch)


def test_a_worker_killed_before_delivering_leaves_the_trigger_to_the_sweep(
    settings: Settings, ctx: WorkerContext, room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(ctx, alert("al_up"))
    batch = [tick(1, 0, 23_990.0), tick(2, 1, 24_010.0)]
    child = multiprocessing.get_context("spawn").Process(
        target=_die_while_delivering, args=(settings, batch)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 9
    assert room.emitted() == []
    assert ctx.alert_store.triggers_of("u1") == []
    assert ctx.redis.xlen(ALERT_OUTBOX_STREAM) == 1
    process_ticks(ctx, batch)  # the task redelivered: evaluated already, nothing fires again
    assert room.emitted() == []
    monkeypatch.setattr(delivery_module, "STALE_MS", 0)  # as if 10 s had passed
    # and the sweep lock with them: on a loaded machine the redelivery above may have come
    # SWEEP_EVERY_S after the context was made, and swept (nothing stale yet) under the lock
    ctx.redis.delete(delivery_module.SWEEP_LOCK_KEY)
    assert ctx.alerts._delivery.sweep() == 1  # type: ignore[attr-defined]
    [emit] = room.emitted()
    assert emit["data"]["alert_id"] == "al_up"
    assert emit["data"]["value"] == 24_010.0
    assert len(ctx.alert_store.triggers_of("u1")) == 1
    assert ctx.redis.xlen(ALERT_OUTBOX_STREAM) == 0


def test_threads_sharing_nothing_but_redis_fire_once(
    settings: Settings, ctx: WorkerContext, room: Room
) -> None:
    add(ctx, alert("al_up", op="above"))
    contexts = [make_context(settings) for _ in range(4)]
    barrier = threading.Barrier(4)

    def run(context: WorkerContext, second: int) -> None:
        barrier.wait(10)
        process_ticks(context, [tick(second + 1, second, 24_000.5 + second)])

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(contexts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in contexts:
        c.close()
    assert [e["data"]["alert_id"] for e in room.emitted()] == ["al_up"]


def test_an_emit_redis_cannot_take_raises() -> None:
    """python-socketio's manager would log and drop it; the outbox must keep the trigger."""
    emitter = QueueEmitter(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(redis.ConnectionError):
        emitter.emit("alert", {"trigger_id": "t"}, namespace="/", room="user:u1")
