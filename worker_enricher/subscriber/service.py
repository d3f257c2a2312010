"""The subscriber loop: Pub/Sub in, envelope checks, gap detection, micro-batches out.

One process reads the three ``market:*`` channels, checks each message's
envelope (size, JSON object, product, seq, expiry), dead-letters what fails,
and sends micro-batches to the ``enrich`` queue, one task per channel. Full
schema validation happens in the workers, which run in parallel.

Several instances share the load by product: instance ``i`` of ``n`` takes the
products whose CRC-32 is ``i`` mod ``n``, so every message is taken exactly
once, and one instance sees all of a product's messages in order (its gap
detection stays exact). Pub/Sub delivers every message to every instance; the
others drop it after reading the product.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

import msgspec
import redis
from celery import Celery
from kombu.exceptions import OperationalError

from common.deadletter import DEADLETTERS, push_deadletters
from common.messages import MessageError
from common.names import ENRICH_QUEUE, MARKET_CHANNELS, Channel
from common.redis_client import make_redis
from common.settings import Settings, SettingsError
from worker_enricher.celery_config import TASKS, broker_url, make_celery
from worker_enricher.subscriber import metrics
from worker_enricher.subscriber.batcher import Batcher
from worker_enricher.subscriber.lag import OriginClock
from worker_enricher.subscriber.reader import PubSubReader
from worker_enricher.subscriber.sequencer import Sequencer, Step

log = logging.getLogger(__name__)

DEPTH_POLL_S = 0.1
STATS_EVERY_S = 10.0
_BY_NAME = {c.value: c for c in MARKET_CHANNELS}


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


def partition(product: str, instances: int) -> int:
    """The subscriber instance that takes ``product``."""
    return zlib.crc32(product.encode()) % instances


class Subscriber:
    """Runs until ``stop`` is set; survives Redis and broker outages with capped backoff."""

    def __init__(self, settings: Settings, celery: Celery | None = None) -> None:
        if settings.redis_url is None:
            raise SettingsError("REDIS_URL: the subscriber needs the Redis the feed publishes to")
        self.settings = settings
        self.cfg = settings.pipeline
        self.redis = make_redis(settings.redis_url, socket_timeout=None)
        self.broker = make_redis(broker_url(settings), socket_timeout=2.0, retries=0)
        self.celery = celery or make_celery(settings)
        self.batcher = Batcher(
            self.cfg.batch_size, self.cfg.batch_ms / 1000, self.cfg.coalesce_release_ms / 1000
        )
        self.sequencer = Sequencer()
        self.origin = OriginClock()
        self.wall_clock = time.time
        """Seconds since 1970, for the lag behind each message's timestamp (tests replace it)."""
        self.rejected: dict[Channel, list[tuple[bytes | str, str]]] = {}
        self.depth = 0
        self._depth_at = 0.0
        self._send_after = 0.0
        self._send_failures = 0
        self._stats_at = time.monotonic()
        self.ready = threading.Event()

    @property
    def congested(self) -> bool:
        return self.depth > self.cfg.queue_high_water

    # -- receiving -------------------------------------------------------------

    def handle(self, channel_name: bytes | str, raw: bytes, now: float) -> None:
        name = channel_name.decode() if isinstance(channel_name, bytes) else channel_name
        channel = _BY_NAME.get(name)
        if channel is None:
            return
        metrics.MESSAGES_BY_CHANNEL[channel].inc()
        try:
            env = envelope(channel, raw, self.cfg.max_message_bytes)
        except MessageError as exc:
            if self.cfg.instance == 0:  # every instance reads it; one records it
                self.rejected.setdefault(channel, []).append((raw, str(exc)))
            return
        if (
            self.cfg.instances > 1
            and partition(env.product, self.cfg.instances) != self.cfg.instance
        ):
            return
        self._check_seq(env)
        lag = self.origin.lag_s(env.timestamp, self.wall_clock())
        if lag is not None:
            metrics.LAG_BY_CHANNEL[channel].observe(lag)
        if channel is Channel.MARKET_OPTION_CHAIN and self.congested:
            if self.batcher.hold(env.product, env.expiry or "", raw):
                metrics.SUPERSEDED.inc()
            return
        self.batcher.add(channel, raw, now)

    def _check_seq(self, env: Envelope) -> None:
        step, missing = self.sequencer.check(env.channel.value, env.product, env.seq)
        if step is Step.GAP:
            metrics.GAPS.labels(env.channel.value).inc()
            metrics.MISSING.labels(env.channel.value).inc(missing)
            log.warning(
                "sequence gap",
                extra={"channel": env.channel.value, "product": env.product,
                       "seq": env.seq, "missing": missing},
            )  # fmt: skip
        elif step is Step.REPEAT:
            metrics.REPEATS.labels(env.channel.value).inc()
        elif step is Step.RESET:
            metrics.RESETS.labels(env.channel.value).inc()
            log.info(
                "sequence reset",
                extra={"channel": env.channel.value, "product": env.product, "seq": env.seq},
            )

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

    def flush(self, now: float) -> None:
        """Send the batches that are due (all when ``now`` is ``inf``) and the dead letters."""
        if self.rejected:
            pipe = self.redis.pipeline(transaction=False)
            for channel, rejected in self.rejected.items():
                push_deadletters(pipe, channel, rejected, "subscriber", self.cfg.deadletter_max)
            pipe.execute()
            self.rejected = {}
        final = now == float("inf")
        if not final and (now < self._send_after or not self.batcher.due(now, self.congested)):
            return
        batches = self.batcher.take(now, self.congested and not final)
        for i, (channel, raws) in enumerate(batches):
            try:
                self.send(channel, raws)
            except (OperationalError, redis.RedisError, OSError) as exc:
                for later_channel, later in batches[i:]:  # kept, in order, for the next flush
                    for raw in later:
                        self.batcher.add(later_channel, raw, time.monotonic())
                if final:
                    raise
                # The broker is down, not Pub/Sub: keep reading, retry the sending later.
                self._send_failures += 1
                backoff = min(5.0, 0.1 * 2 ** min(self._send_failures, 6))
                self._send_after = time.monotonic() + backoff * random.uniform(0.5, 1.0)
                log.error("broker unavailable, batches kept", extra={"error": str(exc),
                          "pending_bytes": self.batcher.pending_bytes})  # fmt: skip
                return
        self._send_failures = 0

    def send(self, channel: Channel, raws: list[bytes]) -> None:
        texts = [raw.decode() for raw in raws]
        self.celery.send_task(
            TASKS[channel], args=[texts], queue=ENRICH_QUEUE,
            argsrepr=f"[<{len(texts)} messages>]", kwargsrepr="{}",  # no repr of 200 payloads
        )  # fmt: skip
        metrics.BATCHES.labels(channel.value).inc()
        metrics.DISPATCHED.labels(channel.value).inc(len(raws))

    # -- the loop --------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        delay = 0.0
        while not stop.is_set():
            try:
                self._run_subscribed(stop)
            except (redis.RedisError, OperationalError, OSError) as exc:
                delay = 0.1 if self.ready.is_set() else min(5.0, max(0.1, delay * 2))
                self.ready.clear()
                log.error(
                    "redis unavailable, retrying", extra={"error": str(exc), "delay_s": delay}
                )
                stop.wait(delay * random.uniform(0.5, 1.0))
        try:
            self.flush(float("inf"))
        except (redis.RedisError, OperationalError, OSError) as exc:
            log.error("could not send the last batches", extra={"error": str(exc)})
        self.log_stats()

    def _run_subscribed(self, stop: threading.Event) -> None:
        reader = PubSubReader(self.redis, [c.value for c in MARKET_CHANNELS])
        log.info("subscribed", extra={"channels": [c.value for c in MARKET_CHANNELS],
                                      "instance": self.cfg.instance,
                                      "instances": self.cfg.instances})  # fmt: skip
        self.ready.set()
        try:
            while not stop.is_set():
                now = time.monotonic()  # a send backing off is a deadline too: no busy wait
                message = reader.get(max(self.batcher.next_deadline(now), self._send_after - now))
                while message is not None:
                    self.handle(message[0], message[1], time.monotonic())
                    if self.batcher.pending_bytes and self.batcher.due(
                        time.monotonic(), self.congested
                    ):
                        break
                    message = reader.get(0.0)
                now = time.monotonic()
                self.poll_depth(now)
                self.flush(now)
                if now - self._stats_at >= STATS_EVERY_S:
                    self._stats_at = now
                    self.log_stats()
        finally:
            reader.close()
            with contextlib.suppress(redis.RedisError, OSError):  # the reader's error: known
                while (message := reader.get(0.0)) is not None:  # read before the stop
                    self.handle(message[0], message[1], time.monotonic())

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
                "gaps": total(metrics.GAPS),
                "missing": total(metrics.MISSING),
                "superseded": total(metrics.SUPERSEDED),
                "deadlettered": total(DEADLETTERS),
                "queue_depth": self.depth,
            },
        )

    def close(self) -> None:
        self.redis.close()
        self.broker.close()
