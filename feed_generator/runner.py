"""Pacing: run the market model (or a capture) against the wall clock and feed the sinks.

The loops own time and nothing else: the market decides what is due, the
sinks decide where it goes. Each loop iteration hands every sink one batch
(all the messages due since the previous iteration), sleeps until the next
message is due but at least ``batch_interval`` so that batches stay efficient
at high rates, and logs progress every ``progress_interval`` seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from common.timestamps import now_ts
from feed_generator.capture import CaptureError, CaptureRecord, encode_message
from feed_generator.market import Market
from feed_generator.messages import Message
from feed_generator.publisher import Encoded, Sink

logger = logging.getLogger(__name__)

FAST_STEP = 1.0
"""Simulated seconds per iteration when the clock runs as fast as possible."""
MAX_WAIT = 0.25
"""Longest sleep, so a stop request or a duration end is noticed promptly."""


@dataclass(slots=True)
class Progress:
    """Message counts per channel and their rates, logged as one JSON line every interval."""

    interval: float = 5.0
    clock: Callable[[], float] = time.monotonic
    counts: Counter[str] = field(default_factory=Counter)
    _started: float = 0.0
    _last_time: float = 0.0
    _last_counts: Counter[str] = field(default_factory=Counter)

    def start(self) -> None:
        self._started = self._last_time = self.clock()

    def add(self, batch: Sequence[Encoded]) -> None:
        self.counts.update(channel for _, channel, _ in batch)

    def maybe_log(self, simulated: float | None = None) -> None:
        now = self.clock()
        if self.interval > 0 and now - self._last_time >= self.interval:
            self.log("progress", simulated)

    def log(self, message: str, simulated: float | None = None) -> None:
        now = self.clock()
        window = max(now - self._last_time, 1e-9)
        rates = {
            ch: round((n - self._last_counts[ch]) / window, 1) for ch, n in self.counts.items()
        }
        elapsed = now - self._started
        extra: dict[str, object] = {
            "elapsed_s": round(elapsed, 3),
            "counts": dict(self.counts),
            "rates_per_s": rates,
            "total": sum(self.counts.values()),
            "total_rate_per_s": round(sum(rates.values()), 1),
            "average_rate_per_s": round(sum(self.counts.values()) / max(elapsed, 1e-9), 1),
        }
        if simulated is not None:
            extra["simulated_s"] = round(simulated, 3)
        logger.info(message, extra=extra)
        self._last_time = now
        self._last_counts = Counter(self.counts)


def encode(messages: Iterable[Message]) -> list[Encoded]:
    return [(m.offset, m.channel.value, encode_message(m.payload)) for m in messages]


def dispatch(batch: Sequence[Encoded], sinks: Sequence[Sink], progress: Progress) -> None:
    if batch:
        for sink in sinks:
            sink.send(batch)
        progress.add(batch)


def run_market(
    market: Market,
    sinks: Sequence[Sink],
    stop: threading.Event,
    *,
    duration: float | None = None,
    realtime: bool = True,
    batch_interval: float = 0.01,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
    observe: Callable[[Sequence[Message]], object] | None = None,
) -> Progress:
    """Run ``market`` until ``stop`` is set or ``duration`` simulated seconds have passed.

    ``realtime``: the simulated clock follows the wall clock; otherwise it runs
    as fast as the sinks take the messages (``duration`` is then required).
    ``clock`` (monotonic seconds) and ``sleep`` (waits up to that many seconds;
    default ``stop.wait``, which a stop request ends at once) are the loop's time,
    injectable so that tests run on a fake clock. ``observe`` sees every batch of
    messages before it is encoded (feed health counts them there).
    """
    if not realtime and duration is None:
        raise ValueError("a run as fast as possible needs a duration")
    sleep = sleep or stop.wait
    progress = progress or Progress(clock=clock)
    progress.start()
    origin = clock() - market.elapsed
    while not stop.is_set():
        target = (clock() - origin) if realtime else market.elapsed + FAST_STEP
        if duration is not None:
            target = min(target, duration)
        messages = market.advance_to(max(target, market.elapsed))
        if observe is not None and messages:
            observe(messages)
        dispatch(encode(messages), sinks, progress)
        progress.maybe_log(market.elapsed)
        if duration is not None and market.elapsed >= duration:
            break
        if realtime:
            due = market.next_due() if duration is None else min(market.next_due(), duration)
            wait = max(due - (clock() - origin), batch_interval)
            sleep(min(wait, MAX_WAIT))
    progress.log("finished", market.elapsed)
    return progress


def _encoded(offset: float, record: CaptureRecord, restamp: bool) -> Encoded:
    """``record`` as sent; ``restamp``: with its timestamp set to now."""
    message = {**record.message, "timestamp": now_ts()} if restamp else record.message
    return offset, record.channel.value, encode_message(message)


def _relative(records: Iterable[CaptureRecord]) -> Iterator[tuple[float, CaptureRecord]]:
    """Records with their offset from the first record."""
    first: float | None = None
    for record in records:
        first = record.offset if first is None else first
        yield record.offset - first, record


@dataclass(slots=True)
class _Pacer:
    """Maps capture offsets to wall-clock deadlines at ``speed`` (``None``: no waiting)."""

    speed: float | None
    stop: threading.Event
    clock: Callable[[], float]
    sleep: Callable[[float], object]
    origin: float = 0.0

    def lag(self, offset: float) -> float:
        """Seconds until ``offset`` is due (negative: overdue)."""
        return (
            -math.inf if self.speed is None else offset / self.speed - (self.clock() - self.origin)
        )

    def wait_until(self, offset: float) -> bool:
        """Sleep until ``offset`` is due; False when stopped first."""
        while not self.stop.is_set() and (lag := self.lag(offset)) > 0.0:
            self.sleep(min(lag, MAX_WAIT))
        return not self.stop.is_set()


def run_replay(
    records: Iterable[CaptureRecord],
    sinks: Sequence[Sink],
    stop: threading.Event,
    *,
    speed: float | None = 1.0,
    restamp: bool = False,
    duration: float | None = None,
    batch_interval: float = 0.01,
    max_batch: int = 2000,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> Progress:
    """Publish ``records`` at their recorded pace times ``speed`` (``None``: as fast as possible).

    ``restamp`` rewrites each message's ``timestamp`` to the moment it is sent.
    ``duration`` stops after that many seconds of the capture's own time.
    A :class:`CaptureError` from ``records`` propagates once the records read
    before it are sent. ``clock`` and ``sleep`` as for :func:`run_market`.
    """
    progress = progress or Progress(clock=clock)
    progress.start()
    pacer = _Pacer(speed, stop, clock, sleep or stop.wait, origin=clock())
    batch: list[Encoded] = []
    try:
        for offset, record in _relative(records):
            if stop.is_set() or (duration is not None and offset > duration):
                break
            # Messages due within the slack join the batch; a later one first flushes and waits.
            if pacer.lag(offset) > batch_interval or len(batch) >= max_batch:
                dispatch(batch, sinks, progress)
                batch = []
                progress.maybe_log()
                if not pacer.wait_until(offset):
                    break
            batch.append(_encoded(offset, record, restamp))
    except CaptureError:
        dispatch(batch, sinks, progress)  # what was read before a bad line still goes out
        raise
    dispatch(batch, sinks, progress)
    progress.log("finished")
    return progress
