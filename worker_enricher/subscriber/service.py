"""The subscriber loop: raw streams in, envelope checks, sequence checks, micro-batches out.

Every instance reads the three ``market:*`` streams through one consumer group
(:mod:`worker_enricher.subscriber.streams`), so the instances share the entries
without any partition setting, checks each message's envelope (size, JSON
object, product, seq, expiry), dead-letters what fails, runs the sequence check
in stream order (:mod:`worker_enricher.subscriber.seqcheck`), and sends
micro-batches to the ``enrich`` queue, one task per channel: as soon as a read finds
nothing more waiting while no task waits in the queue, or, under load, when a batch reaches its
size or time bound. Full schema
validation happens in the workers, which run in parallel.

An entry is acknowledged only when its task is enqueued (``send_task``
returned), its dead letter written or a newer chain superseded it, *and* it has
been through the sequence check. Until then it is pending for this instance: if
the instance dies, another (or this one restarted) claims it and handles it
again. Handled twice, a message may be enqueued twice; the workers' writes are
idempotent (docs/PIPELINE.md).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import msgspec
import redis
from celery import Celery
from kombu.exceptions import OperationalError

from common.deadletter import DEADLETTERS, push_deadletters
from common.messages import MessageError
from common.names import ENRICH_QUEUE, MARKET_CHANNELS, SUBSCRIBER_GROUP, Channel
from common.redis_client import make_redis
from common.settings import Settings, SettingsError
from worker_enricher.celery_config import TASKS, broker_url, make_celery
from worker_enricher.subscriber import metrics
from worker_enricher.subscriber.batcher import Batcher
from worker_enricher.subscriber.lag import OriginClock
from worker_enricher.subscriber.seqcheck import Checked, Mode, SequenceCheck, Step
from worker_enricher.subscriber.streams import Entry, RawStreams, consumer_name

log = logging.getLogger(__name__)

DEPTH_POLL_S = 0.1
QUEUED_POLL_S = 0.002
"""How old the count of queued tasks may be when a batch may go early."""
STATS_EVERY_S = 10.0
CHECK_RETRY_S = 0.02
"""How often a run waiting for the check of the entries before it asks again."""
TRIM_EVERY_S = 1.0
FORGET_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Envelope:
    channel: Channel
    product: str
    seq: int
    expiry: str | None
    timestamp: str | None = None
    """As sent, unchecked (the workers validate it); used for the lag."""


class _Routing(msgspec.Struct):
    """The routing fields of any market message, as sent: the decoder skips every other
    field unread (a 101-strike chain in a fifth of a full JSON decode)."""

    product: Any = None
    seq: Any = None
    expiry: Any = None
    timestamp: Any = None


_ROUTING = msgspec.json.Decoder(_Routing)


def _routing(raw: bytes) -> _Routing:
    try:
        return _ROUTING.decode(raw)
    except msgspec.ValidationError as exc:  # every field is optional: not an object
        raise MessageError(f"invalid message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise MessageError(f"not JSON: {exc}") from None


def envelope(channel: Channel, raw: bytes, max_bytes: int) -> Envelope:
    """The routing fields of ``raw``; :class:`MessageError` when they are missing or wrong."""
    if len(raw) > max_bytes:
        raise MessageError(f"message of {len(raw)} bytes exceeds the limit of {max_bytes}")
    message = _routing(raw)
    product, seq, expiry = message.product, message.seq, message.expiry
    if not isinstance(product, str) or not product:
        raise MessageError("product: missing or not a string")
    if type(seq) is not int or seq < 0:
        raise MessageError("seq: missing or not a non-negative integer")
    if channel is Channel.MARKET_OPTION_CHAIN and not isinstance(expiry, str):
        raise MessageError("expiry: missing or not a string")
    timestamp = message.timestamp
    return Envelope(
        channel, product, seq, expiry if isinstance(expiry, str) else None,
        timestamp if isinstance(timestamp, str) else None,
    )  # fmt: skip


@dataclass(slots=True)
class _Run:
    """Entries read together, in stream order, not yet through the sequence check."""

    channel: Channel
    mode: Mode
    entries: list[tuple[bytes, str | None, int | None]]
    since: float


class Subscriber:
    """Runs until ``stop`` is set; survives Redis and broker outages with capped backoff."""

    def __init__(self, settings: Settings, celery: Celery | None = None) -> None:
        if settings.redis_url is None:
            raise SettingsError("REDIS_URL: the subscriber needs the Redis the feed publishes to")
        self.settings = settings
        self.cfg = settings.pipeline
        self.redis = make_redis(settings.redis_url, socket_timeout=None)  # reads block
        self.broker = make_redis(broker_url(settings), socket_timeout=2.0, retries=0)
        self.celery = celery or make_celery(settings)
        self.consumer = consumer_name()
        self.streams = RawStreams(
            self.redis, self.consumer, count=self.cfg.batch_size,
            claim_idle_ms=self.cfg.claim_idle_ms,
        )  # fmt: skip
        self.check = SequenceCheck(self.redis)
        self.batcher = Batcher(
            self.cfg.batch_size, self.cfg.batch_ms / 1000, self.cfg.coalesce_release_ms / 1000
        )
        self.origin = OriginClock()
        self.wall_clock = time.time
        """Seconds since 1970, for the lag behind each message's timestamp (tests replace it)."""
        self.rejected: dict[Channel, list[tuple[bytes | str, str]]] = {}
        self.rejected_ids: dict[Channel, list[bytes]] = {}
        self.holding: dict[Channel, set[bytes]] = defaultdict(set)
        """Entries read and not yet acknowledged: this instance answers for them."""
        self.unchecked: dict[Channel, set[bytes]] = defaultdict(set)
        """Entries not yet through the sequence check (their ack waits for it)."""
        self.to_ack: dict[Channel, list[bytes]] = defaultdict(list)
        self.waiting: list[_Run] = []
        claim_idle_s = self.cfg.claim_idle_ms / 1000
        self.claim_every_s = min(5.0, max(0.05, claim_idle_s / 4))
        self.touch_every_s = claim_idle_s / 3
        self.force_after_s = max(30.0, 3 * claim_idle_s)
        """A run still waiting for its predecessors' check after this long is checked anyway."""
        self._due: dict[str, float] = {"claim": 0.0, "touch": claim_idle_s / 3, "trim": 0.0,
                                       "forget": 0.0}  # fmt: skip
        self.drained = False
        """The last read brought back less than it asked for of every stream: nothing more
        is waiting, so the batches go out now instead of waiting to fill (adaptive)."""
        self.depth = 0
        self._depth_at = 0.0
        self.queued = 0
        """Tasks in the queue not yet taken by a worker, as last counted."""
        self._queued_at = -math.inf
        self._send_after = 0.0
        self._send_failures = 0
        self._stats_at = time.monotonic()
        self.ready = threading.Event()

    @property
    def congested(self) -> bool:
        return self.depth > self.cfg.queue_high_water

    # -- receiving -------------------------------------------------------------

    def take(self, channel: Channel, entries: list[Entry], mode: Mode, now: float) -> None:
        """Handle entries of ``channel`` read together (``RUN``) or claimed (``EACH``)."""
        run: list[tuple[bytes, str | None, int | None]] = []
        holding, unchecked = self.holding[channel], self.unchecked[channel]
        counted = metrics.MESSAGES_BY_CHANNEL[channel]
        for entry_id, raw in entries:
            if entry_id in holding:  # claimed back from ourselves: already in hand
                continue
            holding.add(entry_id)
            unchecked.add(entry_id)
            counted.inc()
            try:
                env = envelope(channel, raw, self.cfg.max_message_bytes)
            except MessageError as exc:
                self.rejected.setdefault(channel, []).append((raw, str(exc)))
                self.rejected_ids.setdefault(channel, []).append(entry_id)
                run.append((entry_id, None, None))
                continue
            run.append((entry_id, env.product, env.seq))
            lag = self.origin.lag_s(env.timestamp, self.wall_clock())
            if lag is not None:
                metrics.LAG_BY_CHANNEL[channel].observe(lag)
            if channel is Channel.MARKET_OPTION_CHAIN and self.congested:
                superseded = self.batcher.hold(env.product, env.expiry or "", raw, entry_id)
                if superseded is not None:
                    metrics.SUPERSEDED.inc()
                    self.to_ack[channel].append(superseded)
                continue
            self.batcher.add(channel, raw, now, entry_id)
        if run:
            self.waiting.append(_Run(channel, mode, run, now))

    def run_checks(self, now: float) -> None:
        """Put every waiting run through the sequence check (one round trip); a run whose
        predecessors are not checked yet waits for the next call."""
        if not self.waiting:
            return
        modes = [Mode.FORCE if now - r.since >= self.force_after_s else r.mode
                 for r in self.waiting]  # fmt: skip
        results = self.check.check_all(
            [(r.channel, mode, r.entries) for r, mode in zip(self.waiting, modes, strict=True)]
        )
        still: list[_Run] = []
        for run, mode, result in zip(self.waiting, modes, results, strict=True):
            self._count(run, mode, result)
            unchecked = self.unchecked[run.channel]
            for entry_id, _, _ in run.entries[: result.settled]:
                unchecked.discard(entry_id)
            if result.settled < len(run.entries):
                run.entries = run.entries[result.settled :]
                still.append(run)
        self.waiting = still

    def _count(self, run: _Run, mode: Mode, result: Checked) -> None:
        name = run.channel.value
        if result.steps[Step.GAP]:
            metrics.GAPS.labels(name).inc(result.steps[Step.GAP])
            metrics.MISSING.labels(name).inc(result.missing)
            for product, seq, missing in result.gaps:
                log.warning("sequence gap", extra={"channel": name, "product": product,
                                                   "seq": seq, "missing": missing})  # fmt: skip
        if result.steps[Step.REPEAT]:
            metrics.REPEATS.labels(name).inc(result.steps[Step.REPEAT])
        if result.steps[Step.RESET]:
            metrics.RESETS.labels(name).inc(result.steps[Step.RESET])
            log.info("sequence reset", extra={"channel": name, "count": result.steps[Step.RESET]})
        if result.skipped:
            metrics.RECHECKED.labels(name).inc(result.skipped)
        if mode is Mode.FORCE and result.settled:
            metrics.FORCED.labels(name).inc(result.settled - result.skipped)
            log.warning(
                "sequence check forced past unchecked entries",
                extra={"channel": name, "entries": result.settled - result.skipped,
                       "waited_s": round(time.monotonic() - run.since, 1)},
            )  # fmt: skip

    # -- housekeeping ------------------------------------------------------------

    def housekeeping(self, now: float) -> None:
        """Claims, touches, trims and forgets, each when it is due."""
        if now >= self._due["claim"]:
            self._due["claim"] = now + self.claim_every_s
            self.claim(now)
        if now >= self._due["touch"]:
            self._due["touch"] = now + self.touch_every_s
            held = {c: ids for c, ids in self.holding.items() if ids}
            if held:
                self.streams.touch(held)
        if now >= self._due["trim"]:
            self._due["trim"] = now + TRIM_EVERY_S
            self.streams.trim_consumed()
        if now >= self._due["forget"]:
            self._due["forget"] = now + FORGET_EVERY_S
            if gone := self.streams.forget_stopped():
                log.info("stopped consumers removed", extra={"consumers": gone})

    def claim(self, now: float) -> None:
        """Take over the entries other readers left pending for ``SUBSCRIBER_CLAIM_IDLE_MS``."""
        for channel in MARKET_CHANNELS:
            start = b"0-0"
            for _ in range(10):  # bounded per sweep; the next sweep goes on
                start, entries, trimmed = self.streams.claim(channel, start)
                if trimmed:
                    metrics.TRIMMED_PENDING.labels(channel.value).inc(trimmed)
                    log.error(
                        "pending entries were trimmed before anyone handled them",
                        extra={"channel": channel.value, "entries": trimmed},
                    )
                holding = self.holding[channel]  # ours already: claimed back, in hand
                entries = [e for e in entries if e[0] not in holding]
                if entries:
                    metrics.CLAIMED.labels(channel.value).inc(len(entries))
                    log.warning(
                        "claimed pending entries of a stopped reader",
                        extra={"channel": channel.value, "entries": len(entries)},
                    )
                    self.take(channel, entries, Mode.EACH, now)
                if start in (b"0-0", "0-0"):
                    break

    # -- sending ---------------------------------------------------------------

    def poll_depth(self, now: float) -> None:
        if now - self._depth_at < DEPTH_POLL_S:
            return
        self._depth_at = now
        try:
            depth = int(self.broker.llen(ENRICH_QUEUE))
        except redis.RedisError as exc:
            log.warning("queue depth unknown", extra={"error": str(exc)})
            return
        was = self.congested
        self.depth = depth
        metrics.QUEUE_DEPTH.set(depth)
        if self.congested != was:
            metrics.CONGESTED.set(int(self.congested))
            log.warning(
                "backpressure " + ("on: coalescing chains" if self.congested else "off"),
                extra={"queue_depth": depth, "high_water": self.cfg.queue_high_water},
            )

    def workers_free(self, now: float) -> bool:
        """Whether no task waits in the queue: the workers' prefetch slots have room, so a
        batch sent now is taken at once (one LLEN, at most every ``QUEUED_POLL_S``).
        Tasks waiting mean the workers are saturated: a batch then grows to its bounds.
        Unknown (the broker unreachable) counts as busy."""
        if now - self._queued_at >= QUEUED_POLL_S:
            try:
                self.queued = int(self.broker.llen(ENRICH_QUEUE))
            except redis.RedisError:
                self.queued = 1
            self._queued_at = now
        return self.queued == 0

    def flush(self, now: float) -> None:
        """Write the dead letters, send the batches that are due (all when ``now`` is
        ``inf``), and acknowledge what is done."""
        if self.rejected:
            pipe = self.redis.pipeline(transaction=False)
            for channel, rejected in self.rejected.items():
                push_deadletters(pipe, channel, rejected, "subscriber", self.cfg.deadletter_max)
            pipe.execute()
            for channel, ids in self.rejected_ids.items():
                self.to_ack[channel].extend(ids)
            self.rejected, self.rejected_ids = {}, {}
        try:
            self._send_due(now)
        finally:
            self.ack()

    def _send_due(self, now: float) -> None:
        final = now == float("inf")
        early = self.drained and self.batcher.first_at is not None and self.workers_free(now)
        if not final and (
            now < self._send_after or not self.batcher.due(now, self.congested, early)
        ):
            return
        batches = self.batcher.take(now, self.congested and not final)
        for i, batch in enumerate(batches):
            try:
                self.send(batch.channel, batch.raws)
            except (OperationalError, redis.RedisError, OSError) as exc:
                for later in batches[i:]:  # kept, in order, for the next flush
                    for raw, entry_id in zip(later.raws, later.ids, strict=True):
                        self.batcher.add(later.channel, raw, time.monotonic(), entry_id)
                if final:
                    raise
                # The broker is down, not the streams: keep reading, retry the sending later.
                self._send_failures += 1
                backoff = min(5.0, 0.1 * 2 ** min(self._send_failures, 6))
                self._send_after = time.monotonic() + backoff * random.uniform(0.5, 1.0)
                log.error("broker unavailable, batches kept", extra={"error": str(exc),
                          "pending_bytes": self.batcher.pending_bytes})  # fmt: skip
                return
            self.to_ack[batch.channel].extend(batch.ids)
        self._send_failures = 0

    def send(self, channel: Channel, raws: list[bytes]) -> None:
        # The payloads as read, in msgpack (the batch tasks' serializer): no decoding to
        # text here, no escaping by kombu, no unescaping in the worker.
        self.celery.send_task(
            TASKS[channel], args=[raws], queue=ENRICH_QUEUE, serializer="msgpack",
            argsrepr=f"[<{len(raws)} messages>]", kwargsrepr="{}",  # no repr of 200 payloads
        )  # fmt: skip
        metrics.BATCHES.labels(channel.value).inc()
        metrics.DISPATCHED.labels(channel.value).inc(len(raws))

    def ack(self) -> None:
        """Acknowledge the entries that are done and through the sequence check; the others
        wait. On a Redis error every one is kept for the next call."""
        ready: dict[Channel, list[bytes]] = {}
        later: dict[Channel, list[bytes]] = {}
        for channel, ids in self.to_ack.items():
            unchecked = self.unchecked[channel]
            for entry_id in ids:
                (later if entry_id in unchecked else ready).setdefault(channel, []).append(entry_id)
        if not ready:
            return
        self.streams.ack(ready)
        self.to_ack = defaultdict(list, later)
        for channel, ids in ready.items():
            self.holding[channel].difference_update(ids)
            metrics.ACKED.labels(channel.value).inc(len(ids))

    # -- the loop --------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        delay = 0.0
        while not stop.is_set():
            try:
                self._run_group(stop)
            except (redis.RedisError, OperationalError, OSError) as exc:
                delay = 0.1 if self.ready.is_set() else min(5.0, max(0.1, delay * 2))
                self.ready.clear()
                log.error(
                    "redis unavailable, retrying", extra={"error": str(exc), "delay_s": delay}
                )
                stop.wait(delay * random.uniform(0.5, 1.0))
        try:
            self.run_checks(time.monotonic())
            self.flush(float("inf"))
        except (redis.RedisError, OperationalError, OSError) as exc:
            log.error("could not send the last batches", extra={"error": str(exc)})
        if self.waiting:  # left pending: another instance claims them, checks and sends again
            log.warning("stopped with entries before the sequence check",
                        extra={"entries": sum(len(r.entries) for r in self.waiting)})  # fmt: skip
        self.log_stats()

    def _wait_s(self, now: float) -> float:
        """How long a read may block: until a batch may go (a send backing off is a deadline
        too: no busy wait), a check is retried or a housekeeping job is due."""
        waits = [max(self.batcher.next_deadline(now), self._send_after - now),
                 self._due["claim"] - now, self._due["trim"] - now]  # fmt: skip
        if any(self.holding.values()):
            waits.append(self._due["touch"] - now)
        if self.waiting:
            waits.append(CHECK_RETRY_S)
        return min(waits)

    def _run_group(self, stop: threading.Event) -> None:
        made = self.streams.ensure_groups()
        log.info("subscribed", extra={"streams": [c.value for c in MARKET_CHANNELS],
                                      "group": SUBSCRIBER_GROUP, "consumer": self.consumer,
                                      "groups_created": [c.value for c in made]})  # fmt: skip
        self.ready.set()
        while not stop.is_set():
            self.cycle()

    def cycle(self) -> None:
        """One turn of the loop: housekeeping, one read (blocking until something arrives or
        a deadline), the sequence check, the batches that are due, the acks."""
        now = time.monotonic()
        self.housekeeping(now)
        wait = self._wait_s(now)
        block = None if wait <= 0 else max(1, math.ceil(wait * 1000))
        try:
            reads = self.streams.read(block)
        except redis.ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
            log.warning("consumer group missing, creating it", extra={"error": str(exc)})
            self.streams.ensure_groups()  # a Redis that lost its data (no persistence)
            return
        now = time.monotonic()
        self.drained = True
        for channel, entries in reads:
            self.drained = self.drained and len(entries) < self.streams.count
            self.take(channel, entries, Mode.RUN, now)
        self.run_checks(now)
        self.poll_depth(now)
        self.flush(now)
        if now - self._stats_at >= STATS_EVERY_S:
            self._stats_at = now
            self.log_stats()

    def log_stats(self) -> None:
        def total(counter: Any) -> int:
            return int(sum(s.value for m in counter.collect() for s in m.samples
                           if s.name.endswith("_total")))  # fmt: skip

        log.info(
            "subscriber stats",
            extra={
                "received": total(metrics.MESSAGES),
                "dispatched": total(metrics.DISPATCHED),
                "batches": total(metrics.BATCHES),
                "acked": total(metrics.ACKED),
                "claimed": total(metrics.CLAIMED),
                "gaps": total(metrics.GAPS),
                "missing": total(metrics.MISSING),
                "superseded": total(metrics.SUPERSEDED),
                "deadlettered": total(DEADLETTERS),
                "holding": sum(map(len, self.holding.values())),
                "queue_depth": self.depth,
            },
        )

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.redis.close()
        self.broker.close()
