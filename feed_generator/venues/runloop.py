"""The event-loop plumbing a streaming connector needs, whatever its venue.

A connector runs its own asyncio loop on the venue's thread (``Venue.run``). :class:`RunLoop`
holds what every such loop does the same way: it turns the feed's ``threading.Event`` stop
into an asyncio event, sleeps that a stop cuts short, runs work that a stop cancels (a REST
call may hang), calls a function periodically, and waits out a reconnection backoff while
polling REST. :class:`RejectLog` counts, logs (the first 20, then every 1,000th) and
dead-letters refused frames. :class:`LoopVenue` is the ``Venue`` side of such a connector.
Times are seconds on the injected monotonic ``clock``.

Used by the Deribit and Kite connectors (and :class:`RejectLog` by the spot connector).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

import aiohttp

from feed_generator.publisher import Sink
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.rejects import Rejected

__all__ = ["LoopVenue", "RejectLog", "RunLoop"]

log = logging.getLogger(__name__)


class RunLoop:
    """Stop handling for one connector's loop; create it inside the running loop."""

    def __init__(self, stop: threading.Event, *, clock: Callable[[], float] = time.monotonic):
        self.stop, self._clock = stop, clock
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._watch())]

    async def _watch(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(0.05)
        self.stopping.set()

    def every(self, interval_s: float, func: Callable[[], object]) -> None:
        """Call ``func`` every ``interval_s`` until :meth:`close`."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_s)
                func()

        self._tasks.append(asyncio.create_task(loop()))

    async def close(self) -> None:
        """Cancel the watcher and the periodic calls."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when a stop is requested."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), max(seconds, 0.0))

    async def until_stopped(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work``, cancelled when a stop is requested."""
        task = asyncio.create_task(work)
        stopping = asyncio.create_task(self.stopping.wait())
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stopping):
            pending.cancel()
        await asyncio.gather(task, stopping, return_exceptions=True)

    async def backoff_polling(
        self,
        delay_s: float,
        poll_s: float,
        last_poll: float,
        poll: Callable[[], Awaitable[object]],
    ) -> float:
        """Wait ``delay_s`` (a reconnection's backoff), awaiting ``poll()`` whenever ``poll_s``
        has passed since the last poll (``last_poll``, clock seconds); returns when it last
        polled, so the next wait keeps the pace."""
        deadline = self._clock() + delay_s
        while not self.stopping.is_set():
            if self._clock() - last_poll >= poll_s:
                last_poll = self._clock()
                await poll()
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            await self.sleep(min(remaining, max(last_poll + poll_s - self._clock(), 0.0)))
        return last_poll


class RejectLog:
    """What a connector does with each refused frame: count it in ``health``, log the first
    ``first`` and every ``every``-th, and hand it to ``on_reject(venue, rejected)`` (the
    dead-letter list), whose failure is logged and never stops the feed. ``label`` starts the
    log lines (``"{label} frame rejected"``, ``"{label} dead letter not stored"``), written
    to ``logger`` (this module's by default)."""

    def __init__(
        self,
        venue: str,
        health: FeedHealth,
        on_reject: Callable[[str, Rejected], None] | None,
        *,
        first: int = 20,
        every: int = 1000,
        label: str = "venue",
        logger: logging.Logger = log,
    ) -> None:
        self.venue, self.health, self.on_reject = venue, health, on_reject
        self.first, self.every = first, every
        self.label, self.log = label, logger
        self.count = 0

    def __call__(self, rejected: Rejected) -> None:
        self.count += 1
        self.health.on_dead_letter()
        if self.count <= self.first or self.count % self.every == 0:
            self.log.warning(
                f"{self.label} frame rejected",
                extra={"venue": self.venue, "reason": rejected.reason[:200], "rejects": self.count},
            )
        if self.on_reject is not None:
            try:
                self.on_reject(self.venue, rejected)
            except Exception:  # a failing dead-letter store must not stop the feed
                self.log.exception(
                    f"{self.label} dead letter not stored", extra={"venue": self.venue}
                )


class Paced(Protocol):
    """The intervals :meth:`LoopVenue._main` runs a connector's timers at (seconds)."""

    @property
    def flush_s(self) -> float: ...

    @property
    def chain_s(self) -> float: ...


class LoopVenue:
    """The :class:`~feed_generator.venues.base.Venue` side of a connector that runs its own
    event loop: ``run`` runs :meth:`_main` on this thread's loop and leaves the health
    ``down`` however it ends. A subclass sets ``_name``, ``_health``, ``_clock`` and
    ``timings``, and writes :meth:`_open_rest`, :meth:`_connect_loop`, :meth:`_flush` and
    :meth:`_chains_due` (or its own :meth:`_main`)."""

    _name: str
    _health: FeedHealth
    _clock: Callable[[], float]
    timings: Paced
    _sinks: Sequence[Sink]
    _loop: RunLoop
    _session: aiohttp.ClientSession

    @property
    def name(self) -> str:
        return self._name

    @property
    def health(self) -> FeedHealth:
        return self._health

    def run(self, sinks: Sequence[Sink], stop: threading.Event) -> None:
        """Stream to ``sinks`` on this thread's own event loop until ``stop`` is set."""
        try:
            asyncio.run(self._main(sinks, stop))
        finally:
            self._health.set_state(FeedState.DOWN)

    async def _main(self, sinks: Sequence[Sink], stop: threading.Event) -> None:
        """The flush and chain timers, one HTTP session (the venue's REST client on it from
        :meth:`_open_rest`), then :meth:`_connect_loop` until stopped; whatever is still
        pending is flushed at the end."""
        self._sinks = sinks
        self._loop = loop = RunLoop(stop, clock=self._clock)
        loop.every(self.timings.flush_s, self._flush)
        loop.every(self.timings.chain_s, self._chains_due)
        async with aiohttp.ClientSession() as session:
            self._session = session
            self._open_rest(session)
            try:
                await self._connect_loop()
            finally:
                await loop.close()
                self._flush()

    def _open_rest(self, session: aiohttp.ClientSession) -> None:
        """Make the venue's REST client on ``session``."""
        raise NotImplementedError

    async def _connect_loop(self) -> None:
        """Connect, stream, reconnect after a backoff, until stopped."""
        raise NotImplementedError

    def _flush(self) -> None:
        """Hand the pending messages to the sinks."""
        raise NotImplementedError

    def _chains_due(self) -> None:
        """Make the chains, if anything changed since the last ones."""
        raise NotImplementedError
