"""The Kite Connect venue: NSE index options streamed from Kite's ticker, resynced over REST.

:class:`KiteVenue` is a :class:`~feed_generator.venues.base.Venue`, on the model of
:class:`~feed_generator.venues.deribit.connector.DeribitVenue`, with the shared toolkit:

- instruments: ``GET /instruments`` (the CSV dump) at start and every ``refresh_s`` (a day),
  filtered by :func:`~feed_generator.venues.kite.instruments.select` to the chosen
  underlyings' nearest expiries and strikes around the money (the index prices from
  ``/quote`` first), plus each underlying's index;
- streaming: the tokens in shards of at most 3,000 (Kite's per-connection cap), one ticker
  WebSocket each, at most 3 (its per-key cap); on every (re)connection each shard is
  subscribed and set to full mode in chunks, then every instrument is resynced from
  ``/quote`` (500 a call, 1 call/s) and the chains published at once, whole; a shard that
  ends ends them all and the set reconnects after a backoff (0.5–30 s, full jitter);
- silence: the :class:`~feed_generator.venues.silence.SilenceWatchdog` of each shard (Kite
  sends a one-byte heartbeat every second when idle): a WebSocket ping, then a new set;
- REST polling of ``/quote`` every ``poll_s`` while the stream is down (``degraded``), behind
  the :class:`~feed_generator.venues.breaker.RestBreaker`, paid from budgets mirroring Kite's
  limits (``/quote`` 1/s, others 10/s); ``down`` when REST fails too;
- a refused access token (403 at the handshake, ``TokenException`` over REST): logged once as
  an error, the state ``down`` with ``detail`` ``token_expired`` in the health, and no
  reconnection until :class:`~feed_generator.venues.kite.token.TokenSource` gives a new token
  (``KITE_ACCESS_TOKEN_FILE``), polled every ``token_poll_s``;
- untrusted frames: every refused packet, text frame or REST entry goes to ``on_reject``
  (:func:`~feed_generator.venues.deribit.connector.deadletter_callback`) and the health.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec

from common.names import Channel
from feed_generator.publisher import Sink
from feed_generator.venues.backoff import Backoff
from feed_generator.venues.batch import Batch
from feed_generator.venues.breaker import CircuitOpenError, RestBreaker
from feed_generator.venues.health import FeedHealth, FeedState, VenueHealth
from feed_generator.venues.kite.client import (
    KITE_OTHER,
    KITE_QUOTE,
    KiteRest,
    KiteRestError,
    TickerConnection,
    TokenRefusedError,
    open_ticker,
    redact,
)
from feed_generator.venues.kite.normaliser import QUOTE, Normaliser
from feed_generator.venues.kite.packets import Packet
from feed_generator.venues.kite.quotes import IST, parse_quotes
from feed_generator.venues.kite.token import TokenSource
from feed_generator.venues.kite.universe import Universe, load_universe
from feed_generator.venues.ratebudget import RateBudget
from feed_generator.venues.rejects import Rejected
from feed_generator.venues.runloop import LoopVenue, RejectLog
from feed_generator.venues.silence import SilenceWatchdog

__all__ = ["TOKEN_EXPIRED", "KiteHealth", "KiteTimings", "KiteVenue"]

log = logging.getLogger(__name__)
TOKEN_EXPIRED = "token_expired"
"""The health's ``detail`` while the connector waits for a new access token."""
_TRANSIENT = (aiohttp.ClientError, TimeoutError, ConnectionError, KiteRestError, CircuitOpenError)


@dataclass(frozen=True, slots=True)
class KiteTimings:
    """The connector's intervals and sizes (seconds unless named otherwise)."""

    ping_after_s: float = 3.0
    replace_after_s: float = 6.0
    """Kite heartbeats every second when idle: six silent seconds is a dead connection."""
    chain_s: float = 1.0
    flush_s: float = 0.01
    flush_max: int = 500
    poll_s: float = 5.0
    """``/quote`` polling period while the WebSocket is down."""
    refresh_s: float = 86_400.0
    """Instrument refresh period (Kite regenerates the dump once a day)."""
    request_timeout_s: float = 10.0
    subscribe_chunk: int = 1000
    """Tokens per subscribe (and mode) message."""
    token_poll_s: float = 2.0
    """How often a paused connector looks for a new access token."""
    per_connection: int = 3000
    max_connections: int = 3


class KiteHealth(FeedHealth):
    """:class:`FeedHealth` with the connector's ``detail`` (``token_expired``) in its snapshot."""

    detail: str | None = None

    def snapshot(self) -> VenueHealth:
        snap = super().snapshot()
        return snap if self.detail is None else msgspec.structs.replace(snap, detail=self.detail)


class KiteVenue(LoopVenue):
    """Kite Connect at ``api_url`` / ``ws_url`` with ``tokens``' credentials; see the module doc.

    ``underlyings``, ``expiries``, ``strikes_around``: what is followed (the settings).
    ``quote_budget`` defaults to Kite's ``/quote`` limit (1 call/s), the other calls' budget is
    Kite's 10/s. ``clock`` gives monotonic seconds, ``wall`` the aware UTC now.
    """

    _health: KiteHealth

    def __init__(
        self,
        api_url: str,
        ws_url: str,
        tokens: TokenSource,
        *,
        underlyings: Sequence[str] = ("NIFTY", "BANKNIFTY"),
        expiries: int = 2,
        strikes_around: int = 10,
        name: str = "kite",
        timings: KiteTimings | None = None,
        backoff: Backoff | None = None,
        breaker: RestBreaker | None = None,
        quote_budget: RateBudget | None = None,
        on_reject: Callable[[str, Rejected], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.api_url, self.ws_url, self.tokens = api_url, ws_url, tokens
        self.underlyings = tuple(u.upper() for u in underlyings)
        self.expiries, self.strikes_around = expiries, strikes_around
        self._name = name
        self.timings: KiteTimings = timings or KiteTimings()
        self.budget = RateBudget(KITE_OTHER, clock=clock)
        self.quote_budget = quote_budget or RateBudget(KITE_QUOTE, clock=clock)
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.breaker = breaker or RestBreaker(
            f"{name}-rest", exclude=(TokenRefusedError,), clock=clock
        )
        self._clock, self._wall = clock, wall
        self._health = KiteHealth(name, clock=clock, wall=wall)
        self.normaliser = Normaliser(wall(), wall)
        self._reject = RejectLog(name, self._health, on_reject)
        self.batch = Batch(self._health, self._reject)
        self.universe: Universe | None = None
        self.refused_token: str | None = None
        """The access token Kite refused, while paused; ``None`` when not paused."""
        self._started = clock()
        self._last_poll = self._last_refresh = -float("inf")
        self._dirty = False
        self._sinks: Sequence[Sink] = ()

    @property
    def products(self) -> Sequence[str]:
        return list(self.underlyings)

    # -- the loops ---------------------------------------------------------------------------

    def _open_rest(self, session: aiohttp.ClientSession) -> None:
        self._rest = KiteRest(
            session,
            self.api_url,
            self.tokens.credentials,
            budget=self.budget,
            quote_budget=self.quote_budget,
            breaker=self.breaker,
            timeout_s=self.timings.request_timeout_s,
        )

    async def _connect_loop(self) -> None:
        loop, first = self._loop, True
        while not loop.stopping.is_set():
            if self.refused_token is not None:
                await loop.until_stopped(self._await_token())
                continue
            if not first:
                self._health.on_reconnect()
            first = False
            await loop.until_stopped(self._guarded(self._stream()))
            if loop.stopping.is_set() or self.refused_token is not None:
                continue
            await loop.until_stopped(self._guarded(self._between(self.backoff.next_delay())))

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        """``work``; a refused token pauses the connector instead of failing it."""
        try:
            await work
        except TokenRefusedError as exc:
            self._token_refused(str(exc))

    def _token_refused(self, reason: str) -> None:
        if self.refused_token is None:
            log.error(
                "kite access token refused; paused until a new token is set",
                extra={"venue": self._name, "reason": reason,
                       "token_file": None if self.tokens.path is None else str(self.tokens.path)},
            )  # fmt: skip
        self.refused_token = self.tokens.credentials.access_token
        self._health.detail = TOKEN_EXPIRED
        self._health.set_state(FeedState.DOWN)

    async def _await_token(self) -> None:
        """Poll the token source until it gives a token other than the refused one."""
        refused = self.refused_token
        while refused is not None and not self._loop.stopping.is_set():
            credentials = self.tokens.renewed(refused)
            if credentials is not None:
                self._rest.credentials = credentials
                self.refused_token = self._health.detail = None
                self._health.set_state(FeedState.CONNECTING)
                self.backoff.reset()
                log.info("kite access token renewed; reconnecting", extra={"venue": self._name})
                return
            await self._loop.sleep(self.timings.token_poll_s)

    async def _between(self, delay: float) -> None:
        """Wait ``delay`` before the next connection, polling ``/quote`` meanwhile."""

        async def poll() -> None:
            ok = bool(self.universe) and await self._snapshot()  # no instruments yet: down
            self._health.set_state(FeedState.DEGRADED if ok else FeedState.DOWN)

        self._last_poll = await self._loop.backoff_polling(
            delay, self.timings.poll_s, self._last_poll, poll
        )

    async def _stream(self) -> None:
        """One set of ticker connections, from the instruments to its end."""
        due = self.universe is None or self._refresh_due()
        if due and not await self._try_refresh() and self.universe is None:
            return  # nothing to subscribe to yet
        assert self.universe is not None
        t = self.timings
        shards = self.universe.shards(t.per_connection, t.max_connections)
        conns: list[TickerConnection] = []
        readers: list[asyncio.Task[None]] = []
        try:
            for shard in shards:
                conn = await self._open(len(conns))
                conns.append(conn)
                readers.append(asyncio.create_task(conn.read_forever()))
                await conn.subscribe(shard, chunk=t.subscribe_chunk)
            if await self._snapshot():
                self._health.on_resync()
            self._health.set_state(FeedState.LIVE)
            self.backoff.reset()
            log.info("kite live", extra={"venue": self._name, "connections": len(conns),
                                         "instruments": len(self.universe.tokens)})  # fmt: skip
            await self._while_live(readers)
            ended = [c.name for c, r in zip(conns, readers, strict=True) if r.done()]
            if ended and not self._loop.stopping.is_set():
                log.warning("kite connection ended; reconnecting",
                            extra={"venue": self._name, "ended": ended,
                                   "silent": any(c.replaced for c in conns)})  # fmt: skip
        except _TRANSIENT as exc:
            self._warn("kite stream failed", exc)
        finally:
            for conn in conns:
                await conn.ws.close()
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _open(self, index: int) -> TickerConnection:
        t = self.timings
        ws = await open_ticker(
            self._session, self.ws_url, self._rest.credentials, t.request_timeout_s
        )
        return TickerConnection(
            ws,
            watchdog=SilenceWatchdog(t.ping_after_s, t.replace_after_s, clock=self._clock),
            on_packets=self._packets,
            on_reject=self._reject,
            name=f"{self._name}#{index}",
            clock=self._clock,
        )

    async def _while_live(self, readers: list[asyncio.Task[None]]) -> None:
        """Until a connection ends or a stop; a refresh that changes the instruments ends the
        set too, so the next one subscribes the new listing (once a day)."""
        while not self._loop.stopping.is_set():
            done, _ = await asyncio.wait(readers, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
            if done:
                return
            if self._refresh_due():
                before = self.universe
                if await self._try_refresh() and self.universe != before:
                    log.info("kite instruments changed; resubscribing", extra={"venue": self._name})
                    return

    # -- REST ----------------------------------------------------------------------------------

    def _refresh_due(self) -> bool:
        return self._clock() - self._last_refresh >= self.timings.refresh_s

    async def _try_refresh(self) -> bool:
        """Refresh the instruments; on a REST failure keep them and retry after ``poll_s``."""
        try:
            universe = await load_universe(
                self._rest,
                self.underlyings,
                self.expiries,
                self.strikes_around,
                self._reject,
                spots=self.normaliser.spots,
                today=self._wall().astimezone(IST).date(),
            )
        except (KiteRestError, CircuitOpenError) as exc:
            self._warn("kite instrument refresh failed", exc)
            self._last_refresh = self._clock() - self.timings.refresh_s + self.timings.poll_s
            return False
        capacity = self.timings.per_connection * self.timings.max_connections
        self.universe = universe.capped(capacity)
        if self.universe is not universe:
            log.warning(
                "kite instruments over the ticker's capacity; the farthest from the money left out",
                extra={"venue": self._name, "selected": len(universe.tokens), "capacity": capacity},
            )
        self.normaliser.set_instruments(self.universe.options, self.universe.indices)
        self._last_refresh = self._clock()
        return True

    async def _snapshot(self) -> bool:
        """Every followed instrument from ``/quote``, then the chains at once."""
        assert self.universe is not None
        ok = True
        for params in self.universe.quote_batches():
            try:
                packets, rejected = await self._rest_quotes(params)
            except (KiteRestError, CircuitOpenError) as exc:
                self._warn("kite REST snapshot failed", exc)
                ok = False
                break
            for reject in rejected:
                self._reject(reject)
            self._packets(packets)
        if ok:
            self._chains()
        return ok

    async def _rest_quotes(
        self, params: list[tuple[str, str]]
    ) -> tuple[list[Packet], list[Rejected]]:
        return parse_quotes(await self._rest.get("/quote", params))

    # -- messages ------------------------------------------------------------------------------

    def _warn(self, message: str, exc: BaseException) -> None:
        """Log ``exc`` as a warning, its text without the access token."""
        error = redact(f"{type(exc).__name__}: {exc}", self._rest.credentials)
        log.warning(message, extra={"venue": self._name, "error": error})

    def _packets(self, packets: list[Packet]) -> None:
        for out in self.normaliser.packets(packets):
            if isinstance(out, Rejected):
                self._reject(out)
                continue
            channel, message = out
            self.batch.add(channel, message)
            if channel is QUOTE:
                self._dirty = True
        if len(self.batch) >= self.timings.flush_max:
            self._flush()

    def _chains(self) -> None:
        for chain in self.normaliser.chains():
            self.batch.add(Channel.MARKET_OPTION_CHAIN, chain)
        self._dirty = False

    def _chains_due(self) -> None:
        if self._dirty:
            self._chains()

    def _flush(self) -> None:
        self.batch.flush(self._sinks, self._clock() - self._started)
