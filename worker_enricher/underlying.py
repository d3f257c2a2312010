"""Underlying ticks: shared OHLC candles in Redis, enriched ticks, closed candles persisted."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from itertools import groupby
from typing import Any, cast

import orjson

from common import latest
from common.deadletter import push_deadletters
from common.names import (
    CLOSED_CANDLES_KEY,
    SPOT_KEY,
    Channel,
    candle_key,
    seen_ticks_key,
)
from common.timestamps import format_ts, now_ts
from worker_enricher.alerting.guard import evaluate_alerts
from worker_enricher.cache import epoch_ms, keep_newest
from worker_enricher.context import WorkerContext
from worker_enricher.validation import validate_all

log = logging.getLogger(__name__)

INTERVALS: tuple[tuple[str, int], ...] = (("1min", 60_000), ("5min", 300_000), ("15min", 900_000))
"""Candle intervals and their lengths in milliseconds."""

SEEN_KEPT = 10_000
"""Tick seqs remembered per product, so a redelivered tick is not counted twice."""


def _wire_time(ms: int) -> str:
    return format_ts(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))


def _candle(fields: Sequence[bytes | str]) -> dict[str, Any]:
    start, o, h, low, c, v = fields
    return {
        "start": _wire_time(int(start)),
        "open": float(o),
        "high": float(h),
        "low": float(low),
        "close": float(c),
        "volume": int(v),
    }


def closed_candle(field: bytes | str, value: bytes | str) -> dict[str, Any]:
    """A candle of the closed-candles hash as the store keeps it."""
    field_s = field.decode() if isinstance(field, bytes) else field
    value_s = value.decode() if isinstance(value, bytes) else value
    product, interval, start = field_s.split("|")
    return {"product": product, "interval": interval, **_candle([start, *value_s.split("|")])}


STRIDE = 2 + 6 * len(INTERVALS)
"""Values the ticks script returns per tick."""


def _enriched(tick: dict[str, Any], result: Sequence[Any], processed_at: str) -> dict[str, Any]:
    candles = [_candle(result[2 + 6 * i : 8 + 6 * i]) for i in range(len(INTERVALS))]
    message = dict(tick)
    for (name, _), candle in zip(INTERVALS, candles, strict=True):
        message[f"ohlc_{name}"] = candle
    message["volume_1min"] = candles[0]["volume"]
    message["processed_at"] = processed_at
    return message


def _apply_ticks(
    ctx: WorkerContext, ticks: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], Sequence[Any]]]:
    """Apply ticks sorted by (product, seq), one script call per product; (tick, result) pairs."""
    pipe = ctx.redis.pipeline(transaction=False)
    groups = [list(g) for _, g in groupby(ticks, key=lambda t: t["product"])]
    for group in groups:
        product = group[0]["product"]
        ctx.scripts.ticks(
            keys=[seen_ticks_key(product), CLOSED_CANDLES_KEY, SPOT_KEY,
                  *(candle_key(name, product) for name, _ in INTERVALS)],
            args=[product, SEEN_KEPT, len(INTERVALS), *(length for _, length in INTERVALS),
                  *(x for t in group for x in (epoch_ms(t["timestamp"]),
                    repr(float(t["price"])), str(t["volume"]), t["seq"]))],
            client=pipe,
        )  # fmt: skip
    pairs = []
    for group, flat in zip(groups, ctx.scripts.execute(pipe), strict=True):
        pairs += [(t, flat[i * STRIDE : (i + 1) * STRIDE]) for i, t in enumerate(group)]
    return pairs


def persist_closed_candles(ctx: WorkerContext, closed: dict[bytes, bytes]) -> int:
    """Write the candles closed (or amended) since the last call to the store, then forget them.

    ``closed`` is the closed-candles hash as read (at the end of the batch's pipeline, so
    no round trip of its own)."""
    if not closed:
        return 0
    candles = []
    for field, value in closed.items():
        try:
            candles.append(closed_candle(field, value))
        except ValueError:  # cannot happen with validated ticks; never block the others
            log.error("unreadable closed candle dropped", extra={"field": field.decode()})
    ctx.store.upsert_candles(candles)
    ctx.scripts.forget(keys=[CLOSED_CANDLES_KEY], args=[x for pair in closed.items() for x in pair])
    return len(candles)


def process_ticks(ctx: WorkerContext, raws: Sequence[bytes | str]) -> int:
    """Apply a batch of raw ticks to the candles, cache and publish them; returns the count applied.

    A tick applied already (a retried or redelivered task) changes no candle but
    is published again with the candles as they are: broadcast is at least once,
    as for chains. Closed candles are persisted last; if the store fails the
    task retries and they are written then.
    """
    channel = Channel.MARKET_UNDERLYING
    valid, rejected = validate_all(channel, raws)
    ticks = sorted((tick for tick, _ in valid), key=lambda t: (t["product"], t["seq"]))
    pairs = [(t, r) for t, r in (_apply_ticks(ctx, ticks) if ticks else []) if None not in r]
    pipe = ctx.redis.pipeline(transaction=False)
    push_deadletters(pipe, channel, rejected, "worker", ctx.settings.pipeline.deadletter_max)
    processed_at = now_ts()
    newest: dict[str, tuple[dict[str, Any], bytes]] = {}
    messages = []
    for tick, result in pairs:
        message = _enriched(tick, result, processed_at)
        messages.append(message)
        payload = orjson.dumps(message)
        pipe.publish(Channel.ENRICHED_UNDERLYING.value, payload)
        newest[tick["product"]] = (message, payload)  # the cache needs only the last
    for product, (message, payload) in newest.items():
        keep_newest(pipe, ctx.scripts, entry=latest.underlying(product), message=message,
                    payload=payload, ttl_s=ctx.settings.pipeline.latest_ttl_s)  # fmt: skip
    pipe.hgetall(CLOSED_CANDLES_KEY)
    *_, closed = ctx.scripts.execute(pipe)
    persist_closed_candles(ctx, cast(dict[bytes, bytes], closed))
    evaluate_alerts(ctx.alerts.on_ticks, messages)
    return sum(int(r[0]) == 1 for _, r in pairs)
