"""The worker's batch processing against a real Redis and an SQLite store, with exact values."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from common.latest import Entry, LatestReader
from common.messages import decode_message, encode_message
from common.names import (
    CLOSED_CANDLES_KEY,
    SPOT_KEY,
    Channel,
    candle_key,
    deadletter_key,
    iv_points_key,
    iv_surface_key,
)
from common.products import ConventionsRegistry
from common.settings import load_settings
from common.timestamps import format_ts, parse_ts, years_to_expiry
from optionsmath import bs_price, implied_vol
from store import StoreUnavailable
from tests.support.chains import EXPIRY, build_chain
from worker_enricher.chains import process_chains
from worker_enricher.context import WorkerContext, make_context, set_context
from worker_enricher.surface import build_surface, deferred_refresh, process_quotes, quote_ivs
from worker_enricher.tasks.chains import enrich_chains
from worker_enricher.tasks.underlying import enrich_underlying
from worker_enricher.underlying import process_ticks

pytestmark = pytest.mark.redis

PRODUCT = "NIFTY"


@pytest.fixture
def ctx(redis_url: str, tmp_path: Path) -> Iterator[WorkerContext]:
    settings = replace(load_settings(), redis_url=redis_url, store_url=f"sqlite:///{tmp_path}/s.db")
    context = make_context(settings)
    yield context
    context.close()


class Listener:
    """A subscription made before anything is processed; reads what has been published."""

    def __init__(self, client: redis.Redis, channel: Channel) -> None:
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(channel.value)
        confirm = self.pubsub.get_message(timeout=5.0)
        assert confirm is not None
        assert confirm["type"] == "subscribe"

    def take(self, count: int) -> list[bytes]:
        """Exactly ``count`` messages, and proof that no further one was published."""
        out: list[bytes] = []
        while len(out) < count:
            reply = self.pubsub.get_message(timeout=5.0)
            assert reply is not None, f"only {len(out)} of {count} messages arrived"
            out.append(reply["data"])
        # A PING round trip: any message published before it would arrive first.
        self.pubsub.ping()
        reply = self.pubsub.get_message(timeout=5.0)
        assert reply is not None
        assert reply["type"] == "pong", f"unexpected message {reply}"
        return out


@pytest.fixture
def listen(redis_client: redis.Redis) -> Iterator[Any]:
    listeners: list[Listener] = []

    def make(channel: Channel) -> Listener:
        listeners.append(Listener(redis_client, channel))
        return listeners[-1]

    yield make
    for listener in listeners:
        listener.pubsub.close()


def deadletters(client: redis.Redis, channel: Channel) -> list[dict[str, Any]]:
    """Entries of ``deadletter:{channel}``, oldest first."""
    return [orjson.loads(e) for e in reversed(client.lrange(deadletter_key(channel.value), 0, -1))]


# -- chains ---------------------------------------------------------------------------

# Five strikes 23900..24100 around spot 24010; OI per strike of three snapshots.
CALL_OI = (
    [1000, 2000, 3000, 2000, 1000],
    [1100, 1900, 3000, 2600, 950],
    [1200, 1900, 3100, 2600, 950],
)
PUT_OI = (
    [1500, 2500, 3500, 1200, 800],
    [1500, 2800, 3300, 1200, 900],
    [1500, 2800, 3300, 1200, 900],
)


def snapshot(i: int, seq: int, second: int) -> dict[str, Any]:
    chain = build_chain(5, seq=seq, timestamp=f"2026-11-21T04:00:{second:02d}.000Z")
    for side, ois in (("calls", CALL_OI[i]), ("puts", PUT_OI[i])):
        for row, oi in zip(chain[side], ois, strict=True):
            row["oi"] = oi
    return chain


def chain_raws() -> list[str]:
    c1, c2, c3 = snapshot(0, 10, 0), snapshot(1, 11, 1), snapshot(2, 12, 2)
    # The 24050 call trades up on more OI (long buildup), the 23950 call down on less (unwinding).
    c2["calls"][3]["last"] += 5.0
    c2["calls"][1]["last"] -= 2.0
    c3["calls"][3]["last"] = c2["calls"][3]["last"]
    c3["calls"][1]["last"] = c2["calls"][1]["last"]
    return [orjson.dumps(c).decode() for c in (c3, c1, c2)]  # out of order


def by_seq(payloads: list[bytes]) -> dict[int, dict[str, Any]]:
    messages = [orjson.loads(p) for p in payloads]
    return {m["seq"]: m for m in messages}


def test_chain_batch_out_of_order(ctx: WorkerContext, listen: Any) -> None:
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    assert process_chains(ctx, chain_raws()) == 3
    published = listener.take(3)
    messages = by_seq(published)
    assert sorted(messages) == [10, 11, 12]
    assert ctx.store.chain_seqs(PRODUCT, EXPIRY) == [10, 11, 12]

    first, second, third = messages[10], messages[11], messages[12]
    for row in first["calls"] + first["puts"]:  # no previous snapshot in Redis
        assert row["oi_change"] is None
        assert row["buildup"] is None
    assert first["call_buildup_otm"] is None
    assert first["put_buildup_otm"] is None
    # Hand-computed oi2 - oi1 per strike.
    assert [r["oi_change"] for r in second["calls"]] == [100, -100, 0, 600, -50]
    assert [r["oi_change"] for r in second["puts"]] == [0, 300, -200, 0, 100]
    assert [r["buildup"] for r in second["calls"]] == [
        None, "long_unwinding", None, "long_buildup", None,
    ]  # fmt: skip
    assert [r["buildup"] for r in second["puts"]] == [None] * 5  # prices unchanged
    # calls above the forward 24032.45 (spot 24010 carried): 24050, 24100
    assert second["call_buildup_otm"] == 600 - 50
    assert second["put_buildup_otm"] == 0 + 300 - 200  # puts below: 23900, 23950, 24000
    # The third is compared with the second (in the same batch), not the first.
    assert [r["oi_change"] for r in third["calls"]] == [100, 0, 100, 0, 0]
    assert [r["oi_change"] for r in third["puts"]] == [0, 0, 0, 0, 0]
    assert third["total_call_oi"] == sum(CALL_OI[2])
    assert third["total_put_oi"] == sum(PUT_OI[2])

    for payload in published:  # the enriched-chain contract, and its exact bytes
        assert encode_message(decode_message(Channel.ENRICHED_OPTION_CHAIN, payload)) == payload
    # The store holds exactly what was published.
    start, end = dt.datetime(2026, 11, 21, tzinfo=dt.UTC), dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    stored = ctx.store.chain_history(PRODUCT, EXPIRY, start, end)
    assert {d["seq"]: d for d in stored} == messages

    reader = LatestReader(ctx.redis)
    assert reader.chain(PRODUCT, EXPIRY) == next(
        p for p in published if orjson.loads(p)["seq"] == 12
    )
    ttl = ctx.settings.pipeline.latest_ttl_s
    assert ttl - 5 <= ctx.redis.ttl(Entry(PRODUCT, EXPIRY).key) <= ttl
    # indexed live as it is written: nobody scans keys to find it
    assert (reader.expiries(PRODUCT), reader.products()) == ([EXPIRY], [PRODUCT])


def test_fractional_oi_in_coins_goes_through_unrounded(ctx: WorkerContext, listen: Any) -> None:
    """A chain counted in coins (0.1 BTC): its OI, OI change and totals reach the store,
    latest:* and enriched:option_chain as sent, not rounded to whole coins; the integer
    counts beside them stay integers on the wire."""
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    first, second = snapshot(0, 20, 0), snapshot(0, 21, 1)
    for before, after, oi in zip(first["calls"], second["calls"], [0.2, 0.3, 0.4, 0.5, 0.7],
                                 strict=True):  # fmt: skip
        before["oi"], after["oi"] = round(oi - 0.1, 1), oi
        before["volume"] = after["volume"] = 0.5
    assert process_chains(ctx, [orjson.dumps(first), orjson.dumps(second)]) == 2
    published = listener.take(2)
    new = by_seq(published)[21]
    assert [r["oi"] for r in new["calls"]] == [0.2, 0.3, 0.4, 0.5, 0.7]
    assert [r["oi_change"] for r in new["calls"]] == [0.1] * 5
    assert (new["total_call_oi"], new["total_put_oi"]) == (2.1, sum(PUT_OI[0]))
    assert new["call_buildup_otm"] == 0.2  # 24050 and 24100, above the forward
    assert new["pcr_volume"] == pytest.approx(sum(r["volume"] for r in new["puts"]) / 2.5)
    raw = next(p for p in published if orjson.loads(p)["seq"] == 21)
    assert b'"volume":0.5,"oi":0.3,' in raw
    assert b'"total_call_oi":2.1,"total_put_oi":9500,' in raw
    assert encode_message(decode_message(Channel.ENRICHED_OPTION_CHAIN, raw)) == raw
    start, end = dt.datetime(2026, 11, 21, tzinfo=dt.UTC), dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    stored = {d["seq"]: d for d in ctx.store.chain_history(PRODUCT, EXPIRY, start, end)}
    assert stored[21] == orjson.loads(raw)
    assert LatestReader(ctx.redis).chain(PRODUCT, EXPIRY) == raw


def test_a_repeated_batch_stores_nothing_new(ctx: WorkerContext, listen: Any) -> None:
    start, end = dt.datetime(2026, 11, 21, tzinfo=dt.UTC), dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    process_chains(ctx, chain_raws())
    first_run = by_seq(listener.take(3))
    stored = ctx.store.chain_history(PRODUCT, EXPIRY, start, end)
    latest = LatestReader(ctx.redis).chain(PRODUCT, EXPIRY)

    assert process_chains(ctx, chain_raws()) == 3  # a redelivered task
    again = by_seq(listener.take(3))
    assert ctx.store.chain_seqs(PRODUCT, EXPIRY) == [10, 11, 12]
    assert ctx.store.chain_history(PRODUCT, EXPIRY, start, end) == stored
    # Enriched the same way: the predecessors are found in Redis again.
    for seq in (10, 11, 12):
        assert {**again[seq], "processed_at": None} == {**first_run[seq], "processed_at": None}
    assert LatestReader(ctx.redis).chain(PRODUCT, EXPIRY) == latest  # same (timestamp, seq)


def test_a_later_task_finds_its_predecessor_in_redis(ctx: WorkerContext) -> None:
    _c3, c1, c2 = chain_raws()
    process_chains(ctx, [c1])
    process_chains(ctx, [c2])
    doc = ctx.store.latest_chain(PRODUCT, EXPIRY)
    assert doc is not None
    assert doc["seq"] == 11
    assert [r["oi_change"] for r in doc["calls"]] == [100, -100, 0, 600, -50]


def test_a_snapshot_twice_in_one_batch_is_enriched_once(ctx: WorkerContext, listen: Any) -> None:
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    c3, c1, c2 = chain_raws()
    assert process_chains(ctx, [c2, c1, c2, c3, c2]) == 3
    messages = [orjson.loads(p) for p in listener.take(3)]
    assert [m["seq"] for m in messages] == [10, 11, 12]
    # Never compared with itself (which would broadcast an OI change of 0 everywhere).
    assert [r["oi_change"] for r in messages[1]["calls"]] == [100, -100, 0, 600, -50]
    assert [r["oi_change"] for r in messages[2]["calls"]] == [100, 0, 100, 0, 0]
    assert ctx.store.chain_seqs(PRODUCT, EXPIRY) == [10, 11, 12]


def test_latest_keeps_the_newest_whatever_the_processing_order(
    ctx: WorkerContext, listen: Any
) -> None:
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    reader = LatestReader(ctx.redis)
    process_chains(ctx, chain_raws())
    newest = next(p for p in listener.take(3) if orjson.loads(p)["seq"] == 12)
    assert reader.chain(PRODUCT, EXPIRY) == newest

    older = build_chain(5, seq=9, timestamp="2026-11-21T03:59:59.000Z")
    assert process_chains(ctx, [orjson.dumps(older)]) == 1
    (late,) = listener.take(1)  # a late snapshot is still stored and broadcast ...
    assert orjson.loads(late)["seq"] == 9
    assert ctx.store.chain_seqs(PRODUCT, EXPIRY) == [9, 10, 11, 12]
    assert reader.chain(PRODUCT, EXPIRY) == newest  # ... but never replaces the newest in the cache
    doc = ctx.store.latest_chain(PRODUCT, EXPIRY)
    assert doc is not None
    assert doc["seq"] == 12

    newer = build_chain(5, seq=13, timestamp="2026-11-21T04:00:03.000Z")
    process_chains(ctx, [orjson.dumps(newer)])
    (payload,) = listener.take(1)
    assert reader.chain(PRODUCT, EXPIRY) == payload


def test_invalid_chains_are_dead_lettered_and_the_rest_stored(
    ctx: WorkerContext, listen: Any
) -> None:
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    good = orjson.dumps(build_chain(5, seq=20)).decode()
    not_json = '{"product": "NIFTY", "seq": 21, '
    bad_spot = orjson.dumps(build_chain(5, seq=22, spot_price="high")).decode()
    tick = orjson.dumps(
        {"type": "underlying", "product": PRODUCT, "price": 24010.0, "volume": 1,
         "timestamp": "2026-11-21T04:00:00.000Z", "seq": 23}
    ).decode()  # fmt: skip
    assert process_chains(ctx, [not_json, good, bad_spot, tick]) == 1

    assert ctx.store.chain_seqs(PRODUCT, EXPIRY) == [20]
    (payload,) = listener.take(1)
    assert orjson.loads(payload)["seq"] == 20
    entries = deadletters(ctx.redis, Channel.MARKET_OPTION_CHAIN)
    assert [e["payload"] for e in entries] == [not_json, bad_spot, tick]
    assert [e["size"] for e in entries] == [len(not_json), len(bad_spot), len(tick)]
    assert {e["stage"] for e in entries} == {"worker"}
    assert {e["channel"] for e in entries} == {"market:option_chain"}
    reasons = [e["reason"] for e in entries]
    assert reasons[0].startswith("not JSON: ")
    assert reasons[1] == "invalid message: Expected `float`, got `str` - at `$.spot_price`"
    assert reasons[2] == "invalid message: Object contains unknown field `type`"


def test_a_chain_stamped_after_its_expiry_is_kept_with_null_analytics(ctx: WorkerContext) -> None:
    expired = build_chain(5, seq=24, timestamp="2026-11-27T04:00:00.000Z")
    assert process_chains(ctx, [orjson.dumps(expired)]) == 1
    doc = ctx.store.latest_chain(PRODUCT, EXPIRY)
    assert doc is not None
    assert doc["seq"] == 24
    assert doc["time_to_expiry"] < 0
    assert {r["iv"] for r in doc["calls"] + doc["puts"]} == {None}
    assert doc["expected_move"] is None
    assert ctx.redis.llen(deadletter_key(Channel.MARKET_OPTION_CHAIN.value)) == 0


# -- ticks ----------------------------------------------------------------------------


def tick(seq: int, clock: str, price: float, volume: int) -> str:
    return orjson.dumps(
        {"type": "underlying", "product": PRODUCT, "price": price, "volume": volume,
         "timestamp": f"2026-11-20T{clock}.000Z", "seq": seq}
    ).decode()  # fmt: skip


T1 = tick(1, "09:15:10", 24010.5, 10)
T2 = tick(2, "09:15:40", 23990.25, 20)
T3 = tick(3, "09:16:05", 24020.75, 5)
DAY = (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))


def candle(start: str, o: float, h: float, low: float, c: float, v: int) -> dict[str, Any]:
    return {"start": f"2026-11-20T{start}:00.000Z", "open": o, "high": h, "low": low,
            "close": c, "volume": v}  # fmt: skip


def test_ticks_build_candles(ctx: WorkerContext, listen: Any) -> None:
    listener = listen(Channel.ENRICHED_UNDERLYING)
    assert process_ticks(ctx, [T1]) == 1
    assert process_ticks(ctx, [T2]) == 1
    assert ctx.store.candles(PRODUCT, "1min", *DAY) == []  # 09:15 is still open
    assert process_ticks(ctx, [T3]) == 1
    messages = [orjson.loads(p) for p in listener.take(3)]

    closed = {"product": PRODUCT, "interval": "1min",
              **candle("09:15", 24010.5, 24010.5, 23990.25, 23990.25, 30)}  # fmt: skip
    assert ctx.store.candles(PRODUCT, "1min", *DAY) == [closed]
    assert ctx.store.candles(PRODUCT, "5min", *DAY) == []
    assert ctx.store.candles(PRODUCT, "15min", *DAY) == []

    third = messages[2]
    assert third["seq"] == 3
    assert third["ohlc_1min"] == candle("09:16", 24020.75, 24020.75, 24020.75, 24020.75, 5)
    assert third["volume_1min"] == 5
    five = candle("09:15", 24010.5, 24020.75, 23990.25, 24020.75, 35)
    assert third["ohlc_5min"] == five
    assert third["ohlc_15min"] == five
    assert messages[1]["ohlc_1min"] == candle("09:15", 24010.5, 24010.5, 23990.25, 23990.25, 30)
    assert messages[1]["volume_1min"] == 30
    for message in messages:  # the enriched-underlying contract, and its exact bytes
        payload = orjson.dumps(message)
        assert encode_message(decode_message(Channel.ENRICHED_UNDERLYING, payload)) == payload
    assert {k: third[k] for k in ("type", "product", "price", "volume", "timestamp")} == {
        "type": "underlying", "product": PRODUCT, "price": 24020.75, "volume": 5,
        "timestamp": "2026-11-20T09:16:05.000Z",
    }  # fmt: skip
    assert orjson.loads(LatestReader(ctx.redis).underlying(PRODUCT)) == third
    assert LatestReader(ctx.redis).listing() == {PRODUCT: []}  # live, without a chain


def test_one_batch_of_ticks_out_of_order_gives_the_same_candles(ctx: WorkerContext) -> None:
    assert process_ticks(ctx, [T3, T1, T2]) == 3
    assert [c["volume"] for c in ctx.store.candles(PRODUCT, "1min", *DAY)] == [30]
    latest = orjson.loads(LatestReader(ctx.redis).underlying(PRODUCT))
    assert latest["seq"] == 3
    assert latest["ohlc_5min"] == candle("09:15", 24010.5, 24020.75, 23990.25, 24020.75, 35)


def test_a_redelivered_tick_is_not_counted_twice(ctx: WorkerContext, listen: Any) -> None:
    process_ticks(ctx, [T1, T2, T3])
    listener = listen(Channel.ENRICHED_UNDERLYING)
    latest = LatestReader(ctx.redis).underlying(PRODUCT)
    assert process_ticks(ctx, [T3]) == 0
    assert process_ticks(ctx, [T2, T3]) == 0
    # Published again (at least once: the first attempt may have died before
    # publishing), with the candles as they are, which the repeat did not change.
    again = [orjson.loads(p) for p in listener.take(3)]
    assert [m["seq"] for m in again] == [3, 2, 3]
    assert {m["ohlc_5min"]["volume"] for m in again} == {35}
    assert ctx.redis.hget(candle_key("1min", PRODUCT), "volume") == b"5"
    assert ctx.redis.hget(candle_key("5min", PRODUCT), "volume") == b"35"
    assert LatestReader(ctx.redis).underlying(PRODUCT) == latest
    assert [c["volume"] for c in ctx.store.candles(PRODUCT, "1min", *DAY)] == [30]


def test_a_late_tick_leaves_the_open_minute_alone(ctx: WorkerContext, listen: Any) -> None:
    process_ticks(ctx, [T1, T2, T3])
    latest = LatestReader(ctx.redis).underlying(PRODUCT)
    spot = ctx.redis.hget(SPOT_KEY, PRODUCT)
    listener = listen(Channel.ENRICHED_UNDERLYING)
    late = tick(4, "09:15:55", 23000.0, 7)  # in 09:15, closed already by T3
    assert process_ticks(ctx, [late]) == 1
    (payload,) = listener.take(1)
    message = orjson.loads(payload)
    assert message["ohlc_1min"] == candle("09:16", 24020.75, 24020.75, 24020.75, 24020.75, 5)
    # The 5-min candle is still open: the late tick counts, without moving its close.
    assert message["ohlc_5min"] == candle("09:15", 24010.5, 24020.75, 23000.0, 24020.75, 42)
    # The closed 09:15 minute takes the late tick, and is stored again amended.
    (closed,) = ctx.store.candles(PRODUCT, "1min", *DAY)
    assert (closed["open"], closed["high"], closed["low"], closed["close"], closed["volume"]) == (
        24010.5, 24010.5, 23000.0, 23000.0, 37,
    )  # fmt: skip
    assert LatestReader(ctx.redis).underlying(PRODUCT) == latest  # older than T3
    assert ctx.redis.hget(SPOT_KEY, PRODUCT) == spot  # the spot stays the newest price
    assert spot is not None
    assert spot.split(b"|")[0] == b"24020.75"


def test_ticks_of_a_minute_taken_after_the_next_minute_still_make_its_candle(
    ctx: WorkerContext,
) -> None:
    # Two workers, consecutive batches across a minute boundary: the later one first.
    assert process_ticks(ctx, [T3]) == 1
    assert process_ticks(ctx, [T2, T1]) == 2  # both in 09:15, before the open 09:16 candle
    early = tick(0, "09:15:01", 24100.0, 1)  # the minute's first trade, arriving last
    assert process_ticks(ctx, [early]) == 1
    assert process_ticks(ctx, [tick(9, "09:17:00", 24000.0, 1)]) == 1  # closes 09:16
    stored = {c["start"]: c for c in ctx.store.candles(PRODUCT, "1min", *DAY)}
    first = stored["2026-11-20T09:15:00.000Z"]
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (
        24100.0, 24100.0, 23990.25, 23990.25, 31,
    )  # fmt: skip
    second = stored["2026-11-20T09:16:00.000Z"]
    assert (second["open"], second["close"], second["volume"]) == (24020.75, 24020.75, 5)
    assert ctx.redis.hlen(CLOSED_CANDLES_KEY) == 0  # all stored, nothing pending


def test_invalid_ticks_are_dead_lettered(ctx: WorkerContext) -> None:
    negative = tick(5, "09:17:00", -1.0, 1)
    assert process_ticks(ctx, [T1, negative, "[]"]) == 1
    entries = deadletters(ctx.redis, Channel.MARKET_UNDERLYING)
    assert [(e["payload"], e["stage"]) for e in entries] == [(negative, "worker"), ("[]", "worker")]
    assert entries[0]["reason"] == "invalid message: Expected `float` > 0.0 - at `$.price`"
    assert entries[1]["reason"] == "invalid message: Expected `object`, got `array`"


# -- quotes and the IV surface ---------------------------------------------------------

RATE = load_settings().risk_free_rate


def quote(
    when: dt.datetime, expiry: dt.date, strike: float, kind: str, bid: float, ask: float,
    last: float, seq: int = 1,
) -> dict[str, Any]:  # fmt: skip
    return {
        "symbol": f"NIFTY{expiry:%y%m%d}{kind[0]}{strike:g}", "product": PRODUCT,
        "expiry": expiry.isoformat(), "strike": strike, "option_type": kind,
        "bid": bid, "ask": ask, "last": last, "volume": 10, "oi": 100,
        "timestamp": format_ts(when), "seq": seq,
    }  # fmt: skip


def test_quote_ivs_are_the_iv_of_the_mid(ctx: WorkerContext) -> None:
    s = ctx.settings
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expiry = when.date() + dt.timedelta(days=5)
    T = years_to_expiry(when, expiry, s.expiry_time_utc)
    fair = float(bs_price(24010.0, 24000.0, T, s.risk_free_rate, s.dividend_yield, 0.15, True))
    bid, ask = round(fair - 2.0, 2), round(fair + 3.0, 2)
    two_sided = quote(when, expiry, 24000.0, "CALL", bid, ask, last=1.0)
    last_only = quote(when, expiry, 24000.0, "CALL", 0.0, ask, last=round(fair, 2))
    crossed = quote(when, expiry, 24000.0, "CALL", ask, bid, last=1.0)
    other = {**two_sided, "product": "TCS"}  # no spot known

    registry = ConventionsRegistry.standard(
        rate=s.risk_free_rate, dividend_yield=s.dividend_yield, expiry_time_utc=s.expiry_time_utc
    )
    ivs = quote_ivs([two_sided, last_only, crossed, other], {PRODUCT: 24010.0}, registry)
    expected = float(implied_vol(0.5 * (bid + ask), 24010.0, 24000.0, T, RATE, 0.0, True))
    assert ivs[0] == expected
    assert 0.15 < expected < 0.16  # the mid is 0.5 above the fair price at 15 %
    assert ivs[1] == float(implied_vol(round(fair, 2), 24010.0, 24000.0, T, RATE, 0.0, True))
    assert math.isnan(ivs[2])
    assert math.isnan(ivs[3])

    # Through the worker: the spot comes from a processed tick.
    spot_tick = {"type": "underlying", "product": PRODUCT, "price": 24010.0, "volume": 1,
                 "timestamp": format_ts(when - dt.timedelta(seconds=1)), "seq": 1}  # fmt: skip
    assert process_ticks(ctx, [orjson.dumps(spot_tick)]) == 1
    put = quote(when, expiry, 23950.0, "PUT", 0.0, 0.0, 0.0, seq=2)  # no price: no IV
    assert process_quotes(ctx, [orjson.dumps(two_sided), orjson.dumps(put), b"{}"]) == 2
    ts_ms = int(when.timestamp() * 1000)
    points = ctx.redis.hgetall(iv_points_key(PRODUCT))
    # each IV with the forward it was priced on: spot carried at the product's r and q
    forward = 24010.0 * math.exp((s.risk_free_rate - s.dividend_yield) * T)
    assert set(points) == {f"{expiry}|24000.0|CALL".encode(), f"{expiry}|23950.0|PUT".encode()}
    ts, iv, recorded = points[f"{expiry}|24000.0|CALL".encode()].decode().split("|")
    assert (int(ts), float(iv), float(recorded)) == (ts_ms, expected, pytest.approx(forward))
    ts, iv, recorded = points[f"{expiry}|23950.0|PUT".encode()].decode().split("|")
    assert (int(ts), iv, float(recorded)) == (ts_ms, "", pytest.approx(forward, rel=1e-15))
    surface = orjson.loads(ctx.redis.get(iv_surface_key(PRODUCT)))
    assert surface == {
        "product": PRODUCT, "timestamp": format_ts(when), "spot": 24010.0,
        "expiries": [expiry.isoformat()], "strikes": [24000.0], "iv": [[expected]],
    }  # fmt: skip
    assert ctx.redis.ttl(iv_surface_key(PRODUCT)) > 0
    (entry,) = deadletters(ctx.redis, Channel.MARKET_OPTION_QUOTE)
    assert entry["payload"] == "{}"
    assert entry["stage"] == "worker"


def test_one_batch_throttles_each_product_on_its_own(ctx: WorkerContext) -> None:
    """The throttle of every product of a batch is decided in one round trip: each
    product's decision is its own (one rebuilt, one deferred, one pending already)."""
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expiry = when.date() + dt.timedelta(days=5)
    locked, pending, free = "BANKNIFTY", "FINNIFTY", PRODUCT
    for product in (locked, pending):
        ctx.redis.set(f"{iv_surface_key(product)}:lock", 1, px=60_000)
    ctx.redis.set(f"{iv_surface_key(pending)}:pending", 1, px=60_000)
    quotes = [{**quote(when, expiry, 24000.0, "CALL", 100.0, 101.0, 100.5, seq=2),
               "product": product} for product in (locked, pending, free)]  # fmt: skip
    scheduled: list[str] = []
    assert process_quotes(ctx, [orjson.dumps(q) for q in quotes], scheduled.append) == 3
    assert scheduled == [locked]  # FINNIFTY has a rebuild pending already
    assert ctx.redis.pttl(f"{iv_surface_key(locked)}:pending") > 0
    assert ctx.redis.get(iv_surface_key(free)) is not None  # rebuilt at once
    assert ctx.redis.get(iv_surface_key(locked)) is None
    assert ctx.redis.get(iv_surface_key(pending)) is None
    for product in (locked, pending, free):  # the points are recorded whatever the throttle
        assert set(ctx.redis.hgetall(iv_points_key(product))) == {
            f"{expiry}|24000.0|CALL".encode()}  # fmt: skip


def test_a_throttled_surface_rebuild_is_deferred_not_dropped(ctx: WorkerContext) -> None:
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expiry = when.date() + dt.timedelta(days=5)
    spot_tick = {"type": "underlying", "product": PRODUCT, "price": 24010.0, "volume": 1,
                 "timestamp": format_ts(when), "seq": 1}  # fmt: skip
    process_ticks(ctx, [orjson.dumps(spot_tick)])
    scheduled: list[str] = []
    first = quote(when, expiry, 24000.0, "CALL", 100.0, 101.0, 100.5, seq=2)
    assert process_quotes(ctx, [orjson.dumps(first)], scheduled.append) == 1
    assert scheduled == []  # rebuilt at once
    lock = f"{iv_surface_key(PRODUCT)}:lock"
    assert ctx.redis.pttl(lock) > 0
    ctx.redis.pexpire(lock, 60_000)  # the throttle's second, made long enough for a slow machine
    second = quote(when, expiry, 24100.0, "CALL", 60.0, 61.0, 60.5, seq=3)
    third = quote(when, expiry, 24200.0, "CALL", 30.0, 31.0, 30.5, seq=4)
    process_quotes(ctx, [orjson.dumps(second)], scheduled.append)
    process_quotes(ctx, [orjson.dumps(third)], scheduled.append)
    assert scheduled == [PRODUCT]  # throttled: one rebuild scheduled for both batches
    cached = orjson.loads(ctx.redis.get(iv_surface_key(PRODUCT)))
    assert cached["strikes"] == [24000.0]  # the throttle held the rebuild back

    deferred_refresh(ctx, PRODUCT, when)
    cached = orjson.loads(ctx.redis.get(iv_surface_key(PRODUCT)))
    assert cached["strikes"] == [24000.0, 24100.0, 24200.0]
    assert all(iv is not None and 0.0 < iv < 1.0 for iv in cached["iv"][0])
    process_quotes(ctx, [orjson.dumps(third)], scheduled.append)
    assert scheduled == [PRODUCT, PRODUCT]  # the pending mark was cleared by the rebuild


def points(*rows: tuple[str, float, str, int, str]) -> dict[bytes, bytes]:
    return {f"{e}|{k!r}|{t}".encode(): f"{ts}|{iv}".encode() for e, k, t, ts, iv in rows}


def test_build_surface_picks_the_out_of_the_money_side() -> None:
    today = dt.date(2026, 11, 21)
    grid = points(
        ("2026-12-03", 95.0, "PUT", 1_000, "0.31"),
        ("2026-12-03", 95.0, "CALL", 1_000, "0.41"),
        ("2026-12-03", 100.0, "CALL", 1_000, "0.22"),  # at the spot: the call
        ("2026-12-03", 100.0, "PUT", 1_000, "0.32"),
        ("2026-12-03", 1000.0, "CALL", 1_000, ""),  # no IV: falls back to the put
        ("2026-12-03", 1000.0, "PUT", 1_000, "0.55"),
        ("2026-11-26", 95.0, "CALL", 3_000, "0.44"),  # no put at 95: the call
        ("2026-11-26", 100.0, "PUT", 2_000, "0.33"),  # no call at the spot: the put
        ("2026-11-20", 100.0, "CALL", 9_000, "0.99"),  # expired: left out entirely
        ("2026-11-21", 105.0, "CALL", 500, "0.25"),  # expires today: kept
    )
    surface = build_surface(PRODUCT, grid, 100.0, today)
    assert surface == {
        "product": PRODUCT,
        "timestamp": "1970-01-01T00:00:03.000Z",  # the newest point not expired
        "spot": 100.0,
        "expiries": ["2026-11-21", "2026-11-26", "2026-12-03"],
        "strikes": [95.0, 100.0, 105.0, 1000.0],  # numeric order, not text order
        "iv": [
            [None, None, 0.25, None],
            [0.44, 0.33, None, None],
            [0.31, 0.22, None, 0.55],
        ],
    }


def test_build_surface_takes_each_expirys_forward() -> None:
    """Spot 100; the December expiry's newest point says F = 102 (an older one 99), so
    strike 100 is below its forward: the put's IV. November's points were recorded without
    a forward (``ts|iv``, as before forwards were): spot stands in, and 100 takes the call."""
    today = dt.date(2026, 11, 21)
    grid = {
        b"2026-12-03|100.0|CALL": b"2000|0.22|102.0",
        b"2026-12-03|100.0|PUT": b"1000|0.32|99.0",
        b"2026-12-03|101.0|CALL": b"1500||",  # no IV, no forward: counts for neither
        b"2026-11-26|100.0|CALL": b"1000|0.41",
        b"2026-11-26|100.0|PUT": b"1000|0.51",
    }
    surface = build_surface(PRODUCT, grid, 100.0, today)
    assert (surface["expiries"], surface["strikes"]) == (["2026-11-26", "2026-12-03"], [100.0])
    assert surface["iv"] == [[0.41], [0.32]]
    at_spot = build_surface(PRODUCT, {k: b"1000|" + v.split(b"|")[1] for k, v in grid.items()},
                            100.0, today)  # fmt: skip
    assert at_spot["iv"] == [[0.41], [0.22]]


def test_build_surface_without_spot_uses_calls_and_empty_grid() -> None:
    grid = points(
        ("2026-12-03", 95.0, "PUT", 1_000, "0.31"), ("2026-12-03", 95.0, "CALL", 1_000, "0.41")
    )
    assert build_surface(PRODUCT, grid, None, dt.date(2026, 11, 21))["iv"] == [[0.41]]
    empty = build_surface(PRODUCT, {}, 100.0, dt.date(2026, 11, 21))
    assert empty == {"product": PRODUCT, "timestamp": None, "spot": 100.0, "expiries": [],
                     "strikes": [], "iv": []}  # fmt: skip


# -- tasks ----------------------------------------------------------------------------


def test_a_batch_after_redis_lost_the_scripts_loads_them_again_and_is_done_once(
    ctx: WorkerContext, listen: Any
) -> None:
    """The scripts are queued in pipelines as bare EVALSHA (no SCRIPT EXISTS round trip): a
    Redis restarted or flushed answers NOSCRIPT, and the task loads them and runs again."""
    listener = listen(Channel.ENRICHED_UNDERLYING)
    scripts = (ctx.scripts.latest, ctx.scripts.ticks, ctx.scripts.forget, ctx.scripts.iv_points)
    ctx.redis.script_flush()  # as a restarted Redis: no script cached
    assert ctx.redis.script_exists(*(s.sha for s in scripts)) == [False] * 4
    set_context(ctx)
    try:
        assert (
            enrich_underlying(  # type: ignore[call-arg]
                [T1, T2]
            )
            == 2
        )
    finally:
        set_context(None)
    assert ctx.redis.script_exists(*(s.sha for s in scripts)) == [True] * 4
    assert [orjson.loads(p)["seq"] for p in listener.take(2)] == [1, 2]  # once each
    assert orjson.loads(LatestReader(ctx.redis).underlying(PRODUCT))["seq"] == 2


def test_a_chain_batch_after_redis_lost_the_scripts_dead_letters_and_publishes_once(
    ctx: WorkerContext, listen: Any
) -> None:
    """NOSCRIPT fails only the EVALSHAs of the batch's pipeline: the dead letters and publishes
    queued with them ran already, and re-sending the scripts alone does not repeat them."""
    listener = listen(Channel.ENRICHED_OPTION_CHAIN)
    good = orjson.dumps(build_chain(5, seq=40)).decode()
    not_json = '{"product": "NIFTY", "seq": 41, '
    ctx.redis.script_flush()  # as a restarted Redis: no script cached
    assert process_chains(ctx, [good, not_json]) == 1

    (payload,) = listener.take(1)  # once: take() fails on a second publish
    assert orjson.loads(payload)["seq"] == 40
    assert [e["payload"] for e in deadletters(ctx.redis, Channel.MARKET_OPTION_CHAIN)] == [not_json]
    stored = LatestReader(ctx.redis).chain(PRODUCT, EXPIRY)  # the re-sent script did its work
    assert stored is not None
    assert orjson.loads(stored)["seq"] == 40
    assert ctx.redis.script_exists(ctx.scripts.latest.sha) == [True]


def test_a_failing_batch_is_dead_lettered(ctx: WorkerContext) -> None:
    raws = [orjson.dumps(build_chain(5, seq=s)).decode() for s in (30, 31)]
    set_context(ctx)
    try:
        enrich_chains.on_failure(
            StoreUnavailable("sqlite: database is locked"), "task-1", (raws,), {}, None
        )
    finally:
        set_context(None)
    entries = deadletters(ctx.redis, Channel.MARKET_OPTION_CHAIN)
    assert [e["payload"] for e in entries] == raws
    for entry in entries:
        assert entry["stage"] == "worker"
        assert entry["channel"] == "market:option_chain"
        assert entry["reason"] == (
            "task failed after 0 retries: StoreUnavailable: sqlite: database is locked"
        )
        assert parse_ts(entry["received_at"])


def test_a_failing_batch_is_dead_lettered_even_when_the_store_cannot_open(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker whose first task met a store that was down has no context: the
    # batch must still reach Redis, which is up.
    (tmp_path / "blocker").write_text("a file where the store's directory should be")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("STORE_URL", f"sqlite:///{tmp_path}/blocker/s.db")
    set_context(None)
    raws = [orjson.dumps(build_chain(5, seq=40)).decode()]
    enrich_chains.on_failure(StoreUnavailable("store down"), "task-2", (raws,), {}, None)
    client = redis.Redis.from_url(redis_url)
    try:
        (entry,) = deadletters(client, Channel.MARKET_OPTION_CHAIN)
    finally:
        client.close()
    assert entry["payload"] == raws[0]
    assert entry["reason"] == "task failed after 0 retries: StoreUnavailable: store down"
