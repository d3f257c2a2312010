"""One :class:`~feed_generator.venues.base.Venue` for a WebSocket-only spot price stream.

:class:`SpotVenue` drives a :class:`SpotProtocol` (Binance's book tickers, Coinbase's
tickers and heartbeats: ``binance.py``, ``coinbase.py``) over one WebSocket at a time:

- connect (bounded by ``connect_timeout_s``), send the protocol's subscribe messages, and
  count the source live at its first quote (Binance: the combined-stream URL is the
  subscription) or once the venue confirms the subscription (Coinbase, within
  ``subscribe_timeout_s``, else the connection is replaced);
- answer every ping frame with a pong carrying its payload (Binance closes a connection
  that leaves pings unanswered for a minute); the
  :class:`~feed_generator.venues.silence.SilenceWatchdog` pings after ``ping_after_s``
  without a frame and replaces the connection after ``replace_after_s`` (Coinbase's
  heartbeat channel speaks every second, Binance's book tickers many times a second);
- replace a connection before its venue's age limit (Binance: 24 h, replaced after
  23.5 h) and at once when the server announces a shutdown, without a backoff; any other
  end waits the shared :class:`~feed_generator.venues.backoff.Backoff` first, the state
  ``down`` meanwhile;
- publish, every ``publish_s``, the newest quote of each product that changed as one
  ``market:underlying`` tick (the quotes in between are superseded: a reference needs the
  current mid, not every book change); rejects go to ``on_reject`` (the Redis dead-letter
  list through :func:`~feed_generator.venues.deribit.connector.deadletter_callback`).

No REST: a spot reference source has no REST fallback. While its stream is down the
source is simply stale in the reference, which the other sources carry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import msgspec

from common.names import Channel
from feed_generator.publisher import Encoded, Sink
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.health import FeedHealth, FeedState
from feed_generator.venues.runloop import RejectLog
from feed_generator.venues.silence import SilenceAction, SilenceWatchdog
from feed_generator.venues.spot.quotes import (
    Control,
    Normaliser,
    Parsed,
    Rejected,
    Signal,
    SpotQuote,
)

__all__ = ["SpotCounters", "SpotProtocol", "SpotSession", "SpotTimings", "SpotVenue"]

log = logging.getLogger(__name__)
WS_MAX_MSG = 4 << 20
"""aiohttp's frame limit (it closes the connection above it); the parsers refuse far smaller
frames themselves, so an oversized frame is dead-lettered, not a reason to reconnect."""
_TRANSIENT = (aiohttp.ClientError, TimeoutError, ConnectionError)
_ENCODE = msgspec.json.Encoder().encode
_UNDERLYING = Channel.MARKET_UNDERLYING.value


class SpotSession(Protocol):
    """The parser of one connection (it may remember sequences across frames)."""

    def parse(self, raw: bytes | str, received_ms: int) -> Parsed: ...


class SpotProtocol(Protocol):
    """What differs between the spot venues (:class:`~.quotes.ProtocolBase` holds it)."""

    venue: str
    """The ``venue`` field of the ticks (``binance``, ``coinbase``)."""
    products: tuple[str, ...]
    subscribed_on_open: bool
    """True: the URL subscribes (live at the first quote); False: wait for
    :attr:`Signal.SUBSCRIBED`."""
    rollover_s: float | None
    """Seconds after which a connection is replaced (the venue's age limit), or None."""

    def url(self, base_url: str) -> str: ...

    def subscribe_messages(self) -> list[str]: ...

    def session(self) -> SpotSession: ...


@dataclass(frozen=True, slots=True)
class SpotTimings:
    """The connector's intervals, in seconds."""

    ping_after_s: float = 5.0
    replace_after_s: float = 10.0
    connect_timeout_s: float = 10.0
    subscribe_timeout_s: float = 5.0
    publish_s: float = 0.1
    """At most one tick per product this often: the newest quote."""
    rollover_s: float | None = None
    """Overrides the protocol's connection age limit (tests)."""


@dataclass
class SpotCounters:
    """What the connector counted since it started (logged at each connection's end)."""

    quotes: int = 0
    published: int = 0
    out_of_order: int = 0
    gaps: int = 0
    missed_trades: int = 0
    pings_answered: int = 0
    rejects: int = 0
    venue_errors: int = 0
    rollovers: int = 0
    shutdowns: int = 0
    replaced_silent: int = 0


class SpotVenue:
    """The spot prices of ``protocol``'s products from ``ws_url``; see the module doc.

    ``clock``: monotonic seconds; ``wall``: the aware UTC now (receive times).
    """

    def __init__(
        self,
        protocol: SpotProtocol,
        ws_url: str,
        *,
        name: str | None = None,
        timings: SpotTimings | None = None,
        backoff: Backoff | None = None,
        on_reject: Callable[[str, Rejected], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.protocol, self.ws_url = protocol, ws_url
        self._name = name or protocol.venue
        self.timings = timings or SpotTimings()
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._clock, self._wall = clock, wall
        self._health = FeedHealth(self._name, clock=clock, wall=wall)
        self._reject = RejectLog(self._name, self._health, on_reject)
        """Counts, logs and dead-letters each refused frame (``on_reject``: the Redis list)."""
        self.normaliser = Normaliser(protocol.venue, wall())
        self.counters = SpotCounters()
        self._latest: dict[str, tuple[SpotQuote, int]] = {}
        self._sinks: Sequence[Sink] = ()
        self._started = clock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def products(self) -> Sequence[str]:
        return list(self.protocol.products)

    @property
    def health(self) -> FeedHealth:
        return self._health

    def run(self, sinks: Sequence[Sink], stop: threading.Event) -> None:
        """Stream to ``sinks`` on this thread's own event loop until ``stop`` is set; the
        state is ``down`` once it returns."""
        self._sinks = sinks
        asyncio.run(self._main(stop))

    async def _main(self, stop: threading.Event) -> None:
        try:
            await self._session(stop)
        finally:
            self._health.set_state(FeedState.DOWN)

    async def _session(self, stop: threading.Event) -> None:
        async with aiohttp.ClientSession() as http:
            connecting = asyncio.create_task(self._connect_loop(http))
            publishing = asyncio.create_task(self._publish_loop())
            while not stop.is_set() and not connecting.done():
                await asyncio.wait([connecting], timeout=0.05)
            for task in (connecting, publishing):
                task.cancel()
            await asyncio.gather(connecting, publishing, return_exceptions=True)
            self._publish()
            if not connecting.cancelled() and connecting.exception() is not None:
                raise connecting.exception()  # type: ignore[misc]  # a bug, not the network

    async def _connect_loop(self, http: aiohttp.ClientSession) -> None:
        while True:
            planned = await self._connection(http)
            self._health.on_reconnect()
            if not planned:
                self._health.set_state(FeedState.DOWN)
                await asyncio.sleep(self.backoff.next_delay())

    async def _connection(self, http: aiohttp.ClientSession) -> bool:
        """One WebSocket from connect to its end; True when it ended by plan."""
        url = self.protocol.url(self.ws_url)
        try:
            async with asyncio.timeout(self.timings.connect_timeout_s):
                ws = await http.ws_connect(
                    url,
                    autoping=False,  # pings are answered (and counted) in _frames
                    max_msg_size=WS_MAX_MSG,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                )
        except _TRANSIENT as exc:
            log.warning("spot connection failed", extra={"venue": self._name, "error": str(exc)})
            return False
        try:
            for message in self.protocol.subscribe_messages():
                await ws.send_str(message)
            return await self._read(ws)
        except _TRANSIENT as exc:
            log.warning("spot stream failed", extra={"venue": self._name, "error": str(exc)})
            return False
        finally:
            await ws.close()
            log.info("spot connection ended", extra={"venue": self._name, **vars(self.counters)})

    # -- one connection ----------------------------------------------------------------------

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Read frames until the connection ends; True when it ended by plan.

        The frames are read by a task of their own without a timeout on each read (with
        one, aiohttp makes a timer for every frame); this one wakes only when a deadline
        (silence, the age limit, the subscription) can have passed.
        """
        t = self.timings
        watchdog = SilenceWatchdog(t.ping_after_s, t.replace_after_s, clock=self._clock)
        state = _Connection(self._clock(), acked=self.protocol.subscribed_on_open)
        reading = asyncio.create_task(self._frames(ws, watchdog, state))
        try:
            while not reading.done():
                await asyncio.wait([reading], timeout=self._next_check(watchdog, state))
                end = None if reading.done() else await self._due(ws, watchdog, state)
                if end is not None:
                    return end
            return reading.result()
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _frames(
        self, ws: aiohttp.ClientWebSocketResponse, watchdog: SilenceWatchdog, state: _Connection
    ) -> bool:
        """Each frame to its parser, each ping to its pong, until one ends the connection."""
        session = self.protocol.session()
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        while True:
            msg = await ws.receive()
            if msg.type is text or msg.type is binary:
                watchdog.touch()
                received_ms = int(self._wall().timestamp() * 1000)
                end = self._on_frame(session.parse(msg.data, received_ms), received_ms, state)
                if end is not None:
                    return end
            elif msg.type is aiohttp.WSMsgType.PING:
                watchdog.touch()
                await ws.pong(msg.data)
                self.counters.pings_answered += 1
            elif msg.type is aiohttp.WSMsgType.PONG:
                watchdog.touch()
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return False

    def _rollover_s(self) -> float | None:
        return self.timings.rollover_s or self.protocol.rollover_s

    def _next_check(self, watchdog: SilenceWatchdog, state: _Connection) -> float:
        """Seconds until a deadline can pass without a frame (at least 1 ms)."""
        waits = [watchdog.next_check_in()]
        age = self._clock() - state.opened
        rollover = self._rollover_s()
        if rollover is not None:
            waits.append(rollover - age)
        if not state.acked:
            waits.append(self.timings.subscribe_timeout_s - age)
        return max(min(waits), 0.001)

    async def _due(
        self, ws: aiohttp.ClientWebSocketResponse, watchdog: SilenceWatchdog, state: _Connection
    ) -> bool | None:
        """End the connection now (True: by plan, False: a failure) or None: read on."""
        action = watchdog.check()
        if action is SilenceAction.PING:
            await ws.ping()
        elif action is SilenceAction.REPLACE:
            self.counters.replaced_silent += 1
            silent_s = round(watchdog.silence(), 3)
            log.warning("spot connection silent; replacing it",
                        extra={"venue": self._name, "silent_s": silent_s})  # fmt: skip
            return False
        age, rollover = self._clock() - state.opened, self._rollover_s()
        if rollover is not None and age >= rollover:
            self.counters.rollovers += 1
            log.info("spot connection replaced before the venue's age limit",
                     extra={"venue": self._name, "age_s": round(age, 3)})  # fmt: skip
            return True
        if not state.acked and age >= self.timings.subscribe_timeout_s:
            log.warning("spot subscription not confirmed", extra={"venue": self._name})
            return False
        return None

    def _on_frame(self, parsed: Parsed, received_ms: int, state: _Connection) -> bool | None:
        """Act on one parsed frame; like :meth:`_due`, a bool ends the connection."""
        if isinstance(parsed, SpotQuote):
            self.counters.quotes += 1
            self._latest[parsed.product] = (parsed, received_ms)
            if state.acked and not state.live:
                self._live(state)
            return None
        if isinstance(parsed, Rejected):
            self.counters.rejects += 1
            self._reject(parsed)
            return None
        return self._control(parsed, state)

    def _control(self, control: Control, state: _Connection) -> bool | None:
        signal, extra = control.signal, {"venue": self._name, "detail": control.detail}
        if signal is Signal.SUBSCRIBED:
            state.acked = True
            self._live(state)
        elif signal is Signal.OUT_OF_ORDER:
            self.counters.out_of_order += 1
        elif signal is Signal.GAP:
            self.counters.gaps += 1
            self.counters.missed_trades += control.count
            log.warning("spot sequence gap", extra={**extra, "product": control.product,
                                                    "missed": control.count})  # fmt: skip
        elif signal is Signal.SHUTDOWN:
            self.counters.shutdowns += 1
            log.info("spot server shutting down; reconnecting", extra=extra)
            return True
        elif signal is Signal.VENUE_ERROR:
            self.counters.venue_errors += 1
            log.warning("spot venue error", extra=extra)
            return False
        return None

    def _live(self, state: _Connection) -> None:
        state.live = True
        self._health.set_state(FeedState.LIVE)
        self.backoff.reset()
        log.info("spot live", extra={"venue": self._name, "products": list(self.products)})

    # -- publishing --------------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timings.publish_s)
            self._publish()

    def _publish(self) -> None:
        """One tick per product that changed since the last batch: its newest quote."""
        if not self._latest:
            return
        latest, self._latest = self._latest, {}
        offset = self._clock() - self._started
        batch: list[Encoded] = [
            (offset, _UNDERLYING, _ENCODE(self.normaliser.underlying(q, ms)).decode())
            for q, ms in latest.values()
        ]
        for sink in self._sinks:
            try:
                sink.send(batch)
            except Exception:  # one failing sink must not stop the others
                log.exception("spot batch not sent", extra={"venue": self._name})
        self.counters.published += len(batch)
        for product in latest:
            self._health.on_message(product)


@dataclass
class _Connection:
    """One connection's progress: opened (monotonic s), subscription confirmed, live."""

    opened: float
    acked: bool
    live: bool = False
